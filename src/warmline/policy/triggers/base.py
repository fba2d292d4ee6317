"""The trigger interface: one small class per escalation rule."""

from __future__ import annotations

from abc import ABC, abstractmethod

from warmline.policy.config import TriggerBase
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason


class Trigger(ABC):
    """A rule that looks at one message in context and says whether it fires, and why."""

    name: str = "trigger"

    @abstractmethod
    def evaluate(self, context: PolicyContext) -> Reason | None:
        """A reason if the rule fires, else None. Must not act or mutate anything."""


def fired(
    name: str,
    config: TriggerBase,
    detail: str,
    *,
    mode: str | Mode | None = None,
    numbers: dict[str, float] | None = None,
    condition: str | None = None,
) -> Reason:
    """A reason carrying the trigger's configured priority, route and seniority."""
    return Reason(
        trigger=name,
        detail=detail,
        mode=Mode(mode or config.mode),
        priority=config.priority,
        route=config.route,
        numbers=numbers or {},
        condition=condition,
        senior=config.senior,
    )
