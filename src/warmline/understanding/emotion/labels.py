"""Label sets of the emotion model and the documented mapping from GoEmotions to warmline.

GoEmotions (Demszky et al., 2020) labels Reddit comments with 27 emotions plus neutral. warmline
reports a smaller set that an agent can act on; each warmline emotion is the most likely of the
GoEmotions emotions mapped to it (see docs/emotion.md). `caring`, `desire` and `embarrassment`
have no warmline counterpart and only appear in the 28-label evaluation.
"""

from __future__ import annotations

GOEMOTIONS: tuple[str, ...] = (
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
)

EKMAN: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

# warmline emotion -> the GoEmotions emotions it covers.
WARMLINE_MAPPING: dict[str, tuple[str, ...]] = {
    "anger": ("anger", "disgust"),
    "annoyance": ("annoyance", "disapproval"),
    "disappointment": ("disappointment",),
    "sadness": ("sadness", "grief", "remorse"),
    "anxiety": ("fear", "nervousness"),
    "confusion": ("confusion",),
    "curiosity": ("curiosity",),
    "surprise": ("surprise", "realization"),
    "satisfaction": ("approval", "admiration", "relief"),
    "joy": ("joy", "amusement", "excitement", "love", "pride", "optimism"),
    "gratitude": ("gratitude",),
    "neutral": ("neutral",),
}
WARMLINE_EMOTIONS: tuple[str, ...] = tuple(WARMLINE_MAPPING)

# "Upset" in the sense of the frustration score: annoyed, angry, disappointed or distressed.
UPSET_SOURCES: tuple[str, ...] = (
    "anger",
    "annoyance",
    "disappointment",
    "disapproval",
    "disgust",
    "sadness",
    "grief",
    "fear",
    "nervousness",
)

# Aliases accepted by `warmline eval emotion` for plain text,label files.
LABEL_ALIASES: dict[str, str] = {
    "fear": "anxiety",
    "nervousness": "anxiety",
    "worry": "anxiety",
    "disgust": "anger",
    "grief": "sadness",
    "happy": "joy",
    "happiness": "joy",
    "thanks": "gratitude",
    "disapproval": "annoyance",
    "frustration": "annoyance",
}
UPSET_LABELS = frozenset(
    {"upset", "frustrated", "frustration", "negative", "angry", "complaint", "1", "true", "yes"}
)
NOT_UPSET_LABELS = frozenset(
    {
        "not_upset",
        "not-upset",
        "notupset",
        "calm",
        "neutral",
        "positive",
        "not_complaint",
        "non_complaint",
        "no_complaint",
        "0",
        "false",
        "no",
        "ok",
    }
)

# Ekman's categories as the GoEmotions authors grouped the 27 emotions (used to read Ekman's
# labels off the 28-label softmax, mixed with the dedicated Ekman head).
EKMAN_FROM_GO: dict[str, tuple[str, ...]] = {
    "anger": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "joy": (
        "admiration",
        "amusement",
        "approval",
        "caring",
        "desire",
        "excitement",
        "gratitude",
        "joy",
        "love",
        "optimism",
        "pride",
        "relief",
    ),
    "neutral": ("neutral",),
    "sadness": ("disappointment", "embarrassment", "grief", "remorse", "sadness"),
    "surprise": ("confusion", "curiosity", "realization", "surprise"),
}
