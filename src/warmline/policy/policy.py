"""The policy: run every trigger, then turn what fired into one decision with its reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from warmline.policy.context import PolicyContext
from warmline.policy.decision import Action, Decision, Mode, Reason
from warmline.policy.triggers import EscapeHatch, LowConfidence, Trigger


@dataclass
class Policy:
    """Ordered triggers; the first immediate one escalates, offers and clarifications follow."""

    triggers: Sequence[Trigger] = field(default_factory=lambda: [EscapeHatch(), LowConfidence()])

    def decide(self, context: PolicyContext) -> Decision:
        """Decide what to do with the latest customer message in `context`."""
        intent = context.analysis.intent.intent
        if context.conversation.with_human:
            quiet = Reason("with_human", "a person owns this conversation", Mode.NOTE)
            return Decision(Action.STAY_QUIET, (quiet,), intent=intent)
        fired = [reason for t in self.triggers if (reason := t.evaluate(context)) is not None]
        return self._combine(fired, intent)

    def _combine(self, fired: list[Reason], intent: str) -> Decision:
        immediate = [r for r in fired if r.mode is Mode.IMMEDIATE]
        if immediate:
            priority = min(1.0, sum(r.priority for r in immediate))
            route = next((r.route for r in immediate if r.route), None)
            return Decision(Action.ESCALATE, tuple(fired), priority, route, intent)
        if any(r.mode is Mode.OFFER for r in fired):
            return Decision(Action.OFFER_HANDOFF, tuple(fired), intent=intent)
        if any(r.mode is Mode.CLARIFY for r in fired):
            return Decision(Action.CLARIFY, tuple(fired), intent=intent)
        return Decision(Action.ANSWER, tuple(fired), intent=intent)
