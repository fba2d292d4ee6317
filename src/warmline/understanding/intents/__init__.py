"""Intent classification with calibrated confidence and out-of-scope detection."""

from __future__ import annotations

from warmline.understanding.intents.classifier import IntentClassifier, Scores, Settings
from warmline.understanding.intents.data import (
    OOS_LABEL,
    Examples,
    IntentDataError,
    load_examples,
)
from warmline.understanding.intents.default import (
    DEFAULT_MODEL_DIR,
    DEFAULT_PACK,
    load_default_classifier,
)

__all__ = [
    "DEFAULT_MODEL_DIR",
    "DEFAULT_PACK",
    "OOS_LABEL",
    "Examples",
    "IntentClassifier",
    "IntentDataError",
    "Scores",
    "Settings",
    "load_default_classifier",
    "load_examples",
]
