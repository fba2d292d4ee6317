"""The default intent pack shipped with warmline and its pre-trained model."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from warmline.understanding.intents.classifier import IntentClassifier, Progress

PACK_DIR = Path(__file__).resolve().parent / "pack"
DEFAULT_PACK = PACK_DIR / "default.yaml"
DEFAULT_MODEL_DIR = PACK_DIR / "model"

_lock = threading.Lock()
_default: IntentClassifier | None = None


def load_default_classifier() -> IntentClassifier:
    """The shipped classifier for routine support intents (loaded once per process)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = IntentClassifier.load(DEFAULT_MODEL_DIR)
    return _default


def pack_digest(path: Path = DEFAULT_PACK) -> str:
    """SHA-256 of the pack file, stored in the model so a stale model can be detected."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_default_model(progress: Progress | None = None) -> Path:
    """Retrain the shipped model from `default.yaml` (what `warmline models build` runs)."""
    from warmline.understanding.intents.data import load_yaml

    examples = load_yaml(DEFAULT_PACK)
    model = IntentClassifier().fit(examples.texts, examples.labels, progress=progress)
    model.info["pack_sha256"] = pack_digest()
    model.save(DEFAULT_MODEL_DIR)
    global _default
    _default = None
    return DEFAULT_MODEL_DIR
