"""The bot does not know what the customer wants: ask once, then hand over."""

from __future__ import annotations

from dataclasses import dataclass

from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.triggers.base import Trigger


@dataclass
class LowConfidence(Trigger):
    """Fires below the confidence threshold or out of scope; clarifies `max_clarifications`
    times in a row before escalating."""

    threshold: float = 0.70
    max_clarifications: int = 1
    priority: float = 0.2
    route: str | None = None
    name: str = "low_confidence"

    def evaluate(self, context: PolicyContext) -> Reason | None:
        intent = context.analysis.intent
        if not intent.out_of_scope and intent.confidence >= self.threshold:
            return None
        asked = context.conversation.clarifications_in_a_row
        why = (
            "out of scope"
            if intent.out_of_scope
            else f"confidence {intent.confidence:.2f} < {self.threshold:.2f}"
        )
        numbers = {"confidence": round(intent.confidence, 4), "threshold": self.threshold}
        numbers["clarifications"] = float(asked)
        if asked < self.max_clarifications:
            return Reason(
                trigger=self.name,
                detail=f"{why}; clarifying ({asked + 1} of {self.max_clarifications})",
                mode=Mode.CLARIFY,
                numbers=numbers,
            )
        return Reason(
            trigger=self.name,
            detail=f"{why} after {asked} clarifying question(s)",
            mode=Mode.IMMEDIATE,
            priority=self.priority,
            route=self.route,
            numbers=numbers,
        )
