"""The bot does not know what the customer wants: ask once, then hand over."""

from __future__ import annotations

from dataclasses import dataclass, field

from warmline.policy.config import LowConfidenceConfig
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.history import clarifications_in_a_row
from warmline.policy.triggers.base import Trigger, fired


@dataclass
class LowConfidence(Trigger):
    """Fires when the intent confidence is below `threshold`, the message is out of scope, or
    the answer's confidence is below `answer_threshold`; clarifies `clarify_first` times in a
    row before escalating. A knowledge-base answer at or above `answer_threshold` stands even
    when the intent is unsure (the knowledge base may know what the intent model does not)."""

    config: LowConfidenceConfig = field(default_factory=LowConfidenceConfig)
    name: str = "low_confidence"

    def evaluate(self, context: PolicyContext) -> Reason | None:
        why, numbers = self._why(context)
        if why is None:
            return None
        asked = clarifications_in_a_row(context.conversation)
        numbers["clarifications"] = float(asked)
        if asked < self.config.clarify_first:
            detail = f"{why}; clarifying ({asked + 1} of {self.config.clarify_first})"
            return fired(self.name, self.config, detail, mode=Mode.CLARIFY, numbers=numbers)
        detail = f"{why} after {asked} clarifying question(s)"
        return fired(self.name, self.config, detail, numbers=numbers)

    def _why(self, context: PolicyContext) -> tuple[str | None, dict[str, float]]:
        intent = context.analysis.intent
        config = self.config
        numbers = {"confidence": round(intent.confidence, 4), "threshold": config.threshold}
        answer = context.answer_confidence
        if context.action is not None:
            return None, numbers  # the action's dialogue understood it ("3pm works")
        if answer is not None and answer >= config.answer_threshold:
            return None, numbers  # the knowledge base answers it, whatever the intent model says
        if intent.out_of_scope and config.out_of_scope:
            return "out of scope", numbers
        if intent.confidence < config.threshold:
            return f"confidence {intent.confidence:.2f} < {config.threshold:.2f}", numbers
        if answer is not None and answer < config.answer_threshold:
            numbers = {"answer_confidence": round(answer, 4), "threshold": config.answer_threshold}
            return f"answer confidence {answer:.2f} < {config.answer_threshold:.2f}", numbers
        return None, numbers
