"""The customer asked for a person: always honoured, immediately."""

from __future__ import annotations

from dataclasses import dataclass

from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.triggers.base import Trigger


@dataclass
class EscapeHatch(Trigger):
    """Fires when understanding found a (non-negated) request for a human."""

    priority: float = 0.5
    route: str | None = None
    name: str = "escape_hatch"

    def evaluate(self, context: PolicyContext) -> Reason | None:
        phrase = context.analysis.human_request
        if phrase is None:
            return None
        return Reason(
            trigger=self.name,
            detail=f'customer asked for a person: "{phrase}"',
            mode=Mode.IMMEDIATE,
            priority=self.priority,
            route=self.route,
        )
