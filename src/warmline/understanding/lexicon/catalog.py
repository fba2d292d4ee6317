"""The names a rule may use: concerns, signals, uses. A name outside these is an error at load,
with the closest known one, never a rule that silently never fires."""

from __future__ import annotations

import difflib
from collections.abc import Collection

SIGNAL_NAMES: tuple[str, ...] = (
    "negative_valence",
    "anger",
    "annoyance",
    "disappointment",
    "distress",
    "confusion",
    "urgency",
    "capitals",
    "exclamations",
    "question_marks",
    "profanity",
    "sarcasm",
    "churn_threat",
    "waiting_complaint",
    "passed_around",
    "repeated_contact",
    "problem",
    "complaint_question",
    "demand",
    "resignation",
    "satisfaction",
    "gratitude",
    "positive_valence",
    "plain_answer",
    "polite_regret",
)
# Computed from the text's shape or from the other signals, not matched by `signal` rules.
COMPUTED_SIGNALS = frozenset(
    {
        "negative_valence",
        "positive_valence",
        "capitals",
        "exclamations",
        "question_marks",
        "sarcasm",
        "plain_answer",
        "polite_regret",
    }
)
RULE_SIGNALS: tuple[str, ...] = tuple(n for n in SIGNAL_NAMES if n not in COMPUTED_SIGNALS)

# What an emotion rule is for (`use`), and the signal it is about. `signal` rules add to their
# signal; the others feed the interplay (docs/lexicon.md).
USES: dict[str, str | None] = {
    "signal": None,
    "sarcasm_marker": "sarcasm",
    "sarcastic_praise": "sarcasm",
    "service_praise": "sarcasm",
    "polite_regret": "polite_regret",
    "answer_start": "plain_answer",
    "not_plain": "plain_answer",
    "letter_formula": "negative_valence",
}
# Uses whose matches are scored (they carry a strength and may be negatable or factual).
SCORED_USES = frozenset({"signal", "sarcasm_marker", "sarcastic_praise", "polite_regret"})
SCORED_USES_WITH_STRENGTH = SCORED_USES | {"answer_start"}

HUMAN_REQUEST = "human_request"
OFFER_ANSWERS: tuple[str, ...] = ("accept", "decline")
TOPICS: tuple[str, ...] = ("bereavement", "medical", "fraud_security", "legal", "vulnerability")

CONCERNS: dict[str, tuple[str, ...]] = {
    "emotion": SIGNAL_NAMES,
    "escape_hatch": (HUMAN_REQUEST,),
    "offer": OFFER_ANSWERS,
    "sensitive_topic": TOPICS,
}
CONCERNS_ALL: tuple[str, ...] = tuple(n for names in CONCERNS.values() for n in names)
# The cues and lists each concern reads (a file may set only these).
CUES: dict[str, tuple[str, ...]] = {
    "emotion": ("negation", "wish"),
    "escape_hatch": ("negation",),
    "offer": (),
    "sensitive_topic": ("negation",),
}
LISTS: dict[str, tuple[str, ...]] = {
    "emotion": ("acronyms", "shouted_words"),
    "escape_hatch": (),
    "offer": (),
    "sensitive_topic": (),
}


def concern_of(signal: str) -> str | None:
    """The concern whose rules may name `signal`."""
    for concern, names in CONCERNS.items():
        if signal in names:
            return concern
    return None


def unknown(kind: str, name: str, known: Collection[str]) -> str:
    """The message for a name that is not among `known`: the closest one, or the list."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"unknown {kind} {name!r}; did you mean {close[0]!r}?"
    return f"unknown {kind} {name!r} (known: {', '.join(sorted(known))})"
