"""Typed outputs of the understanding stage.

Every later stage (policy, automation, handoff, analytics) reads these and nothing else, so
they are plain frozen dataclasses that serialise to JSON with `dataclasses.asdict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# `frustration` at or above this means "this customer is upset" (what the emotion model is
# calibrated to, and the `warmline analyze` contract). The one definition: the policy's
# defaults aside, replies, the handoff packet, coaching, the trajectory and the metrics read it.
UPSET = 0.5


@dataclass(frozen=True)
class Signal:
    """One piece of evidence about how the customer feels, e.g. ("profanity", "damn")."""

    name: str
    evidence: str
    strength: float = 1.0


@dataclass(frozen=True)
class Entity:
    """Something concrete the customer mentioned: an order number, an amount, a date, an email."""

    type: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class IntentPrediction:
    """What the customer wants, with a calibrated confidence and the runners-up."""

    intent: str
    confidence: float
    out_of_scope: bool
    alternatives: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class EmotionReading:
    """How one message reads: calibrated scores in 0..1 plus the evidence behind them."""

    frustration: float = 0.0
    urgency: float = 0.0
    distress: float = 0.0
    emotions: dict[str, float] = field(default_factory=dict)
    signals: tuple[Signal, ...] = ()


@dataclass(frozen=True)
class Trajectory:
    """How frustration developed over the customer's turns so far (incremental, O(1) per turn)."""

    turns: int = 0
    level: float = 0.0
    trend: float = 0.0
    maximum: float = 0.0
    consecutive_upset: int = 0
    spike: float = 0.0
    last: float = 0.0
    mean: float = 0.0  # mean effective frustration of the customer turns so far

    @property
    def remembered(self) -> float:
        """The conversation's frustration as a whole: the mean effective frustration of its
        customer turns, so how long the customer stayed upset counts, and a complaint that ends
        in thanks scores lower than one that ends unresolved. It separated dissatisfied from
        satisfied conversations better than the peak-end mean of `maximum` and `last` on the
        hand-rated development conversations (docs/emotion.md); both stay reported."""
        return round(self.mean, 4)


@dataclass(frozen=True)
class Analysis:
    """Everything understanding knows about one customer message, in its conversation."""

    text: str
    intent: IntentPrediction
    emotion: EmotionReading = field(default_factory=EmotionReading)
    entities: tuple[Entity, ...] = ()
    trajectory: Trajectory = field(default_factory=Trajectory)
    conversation_signals: tuple[Signal, ...] = ()
    human_request: str | None = None
    pushback: str | None = None
    """The words with which the customer asked for a person (negations excluded), if any."""
