"""The policy's output: what to do and why. A decision never acts; the engine does."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What the engine should do with a customer message."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    ACT = "act"
    OFFER_HANDOFF = "offer_handoff"
    ESCALATE = "escalate"
    STAY_QUIET = "stay_quiet"


class Mode(StrEnum):
    """How a fired trigger wants to be honoured."""

    IMMEDIATE = "immediate"
    OFFER = "offer"
    CLARIFY = "clarify"
    NOTE = "note"


@dataclass(frozen=True)
class Reason:
    """One rule that fired, with the numbers that made it fire."""

    trigger: str
    detail: str
    mode: Mode = Mode.IMMEDIATE
    priority: float = 0.0
    route: str | None = None
    numbers: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as stored in decision events and printed by the CLI."""
        return {
            "trigger": self.trigger,
            "detail": self.detail,
            "mode": self.mode.value,
            "priority": self.priority,
            "route": self.route,
            "numbers": dict(self.numbers),
        }


@dataclass(frozen=True)
class Decision:
    """The action with every reason behind it, the queue priority and the route."""

    action: Action
    reasons: tuple[Reason, ...] = ()
    priority: float = 0.0
    route: str | None = None
    intent: str | None = None

    @property
    def escalates(self) -> bool:
        """True when the conversation goes to the human queue now."""
        return self.action is Action.ESCALATE

    @property
    def reason_names(self) -> list[str]:
        """Names of the triggers that fired, in order, without repeats."""
        return list(dict.fromkeys(reason.trigger for reason in self.reasons))
