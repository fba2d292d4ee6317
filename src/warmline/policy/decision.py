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
    """One rule that fired, with the numbers that made it fire.

    `detail` is the human-readable line (e.g. ``frustration 0.82 >= 0.75 for 2 turns``) shown
    wherever the decision is shown; `numbers` holds the same values for machines. `senior`
    asks for a senior agent; `condition` names which part of the trigger fired (e.g. `persistent`).
    """

    trigger: str
    detail: str
    mode: Mode = Mode.IMMEDIATE
    priority: float = 0.0
    route: str | None = None
    numbers: dict[str, float] = field(default_factory=dict)
    condition: str | None = None
    senior: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as stored in decision events and printed by the CLI."""
        data: dict[str, Any] = {
            "trigger": self.trigger,
            "detail": self.detail,
            "mode": self.mode.value,
            "priority": self.priority,
            "route": self.route,
            "numbers": dict(self.numbers),
        }
        if self.condition is not None:
            data["condition"] = self.condition
        if self.senior:
            data["senior"] = True
        return data


@dataclass(frozen=True)
class Decision:
    """The action with every reason behind it, the queue priority and the route.

    `priority` (0..1) is the base queue priority (trigger contributions, frustration, customer
    value); waiting time is added when the queue is read. `route` names a team of the policy;
    `senior` asks for a senior agent first; `frustration` is the level the priority used.
    """

    action: Action
    reasons: tuple[Reason, ...] = ()
    priority: float = 0.0
    route: str | None = None
    intent: str | None = None
    senior: bool = False
    frustration: float = 0.0
    policy: str | None = None

    @property
    def escalates(self) -> bool:
        """True when the conversation goes to the human queue now."""
        return self.action is Action.ESCALATE

    @property
    def sensitive_topic(self) -> str | None:
        """The sensitive topic behind this decision (bereavement, medical...), if one fired."""
        return next((r.condition for r in self.reasons if r.trigger == "sensitive_topic"), None)

    @property
    def reason_names(self) -> list[str]:
        """Names of the triggers that decided the action, in order, without repeats: the
        immediate ones of an escalation, the offers of an offer, the clarifying ones of a
        clarification. Other reasons stay in `reasons` with their modes."""
        deciding = _DECIDING.get(self.action)
        names = [
            reason.trigger
            for reason in self.reasons
            if (reason.mode is deciding if deciding else reason.mode is not Mode.NOTE)
        ]
        return list(dict.fromkeys(names))


_DECIDING = {
    Action.ESCALATE: Mode.IMMEDIATE,
    Action.OFFER_HANDOFF: Mode.OFFER,
    Action.CLARIFY: Mode.CLARIFY,
}
