"""The understanding stage: one customer message in, one `Analysis` out.

It encodes the text once: the sentence embedding goes to the intent classifier and the
conversation tracker, the emotion branch's embedding (same pass) to the emotion model. The
tracker's small state travels in analysis events, so any worker can continue a conversation
another one started.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from warmline.understanding.emotion.model import EmotionModel
from warmline.understanding.emotion.trajectory import ConversationEmotionTracker
from warmline.understanding.encoder import Encoder
from warmline.understanding.entities import extract_entities
from warmline.understanding.escape_hatch import detect_human_request
from warmline.understanding.intents import IntentClassifier, load_default_classifier
from warmline.understanding.pushback import detect_pushback
from warmline.understanding.types import Analysis, Signal


class DefaultAnalyzer:
    """Encoder + intents + emotion + entities + escape hatch + conversation trajectory."""

    def __init__(
        self, *, encoder: Encoder, intents: IntentClassifier, emotion: EmotionModel
    ) -> None:
        self.encoder = encoder
        self.intents = intents
        self.emotion = emotion

    @classmethod
    def load(cls, *, intent_model_dir: Path | None = None) -> DefaultAnalyzer:
        """The shipped models, or a trained intent model from `intent_model_dir`."""
        intents = (
            IntentClassifier.load(intent_model_dir)
            if intent_model_dir is not None
            else load_default_classifier()
        )
        # The intent model's encoder is the process-wide one, with its intent branch if it has
        # one: a single pass per message then serves intents, emotion and the tracker.
        return cls(encoder=intents.encoder, intents=intents, emotion=EmotionModel.load_default())

    def analyze(
        self,
        text: str,
        *,
        state: dict[str, Any],
        ts: datetime | None = None,
        speech: tuple[Signal, ...] | None = None,
    ) -> tuple[Analysis, dict[str, Any]]:
        """Analyse one message in the context carried by `state`; return the new state too.
        `speech` are the cues of a spoken turn (phone calls), folded into the trajectory."""
        embedding = self.encoder.encode_one(text)
        intent = self.intents.predict(text, embedding=embedding)
        reading = self.emotion.read(text, self.emotion.embed_one(text, self.encoder))
        tracker = ConversationEmotionTracker.from_dict(state)
        trajectory, conversation_signals = tracker.observe(
            text, embedding, reading, ts, speech=speech
        )
        analysis = Analysis(
            text=text,
            intent=intent,
            emotion=reading,
            entities=extract_entities(text),
            trajectory=trajectory,
            conversation_signals=conversation_signals,
            human_request=detect_human_request(text),
            pushback=detect_pushback(text),
        )
        return analysis, tracker.to_dict()
