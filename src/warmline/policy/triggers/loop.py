"""Loops: too many clarifying questions in a row, the same intent coming back after it was
answered, or the customer repeating themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from warmline.policy.config import LoopConfig
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.history import (
    answers_for,
    clarifications_in_a_row,
    pushbacks_in_episode,
)
from warmline.policy.triggers.base import Trigger, fired


@dataclass
class Loop(Trigger):
    """Fires on the first condition that holds, immediate ones first."""

    config: LoopConfig = field(default_factory=LoopConfig)
    name: str = "loop"

    def evaluate(self, context: PolicyContext) -> Reason | None:
        found = [
            reason
            for reason in (
                self._clarifications(context),
                self._action_questions(context),
                self._intent_returns(context),
                self._repetition(context),
                self._pushbacks(context),
            )
            if reason is not None
        ]
        found.sort(key=lambda reason: reason.mode is not Mode.IMMEDIATE)
        return found[0] if found else None

    def _clarifications(self, context: PolicyContext) -> Reason | None:
        condition = self.config.clarifications
        asked = clarifications_in_a_row(context.conversation)
        if not condition.enabled or asked < condition.max:
            return None
        return fired(
            self.name,
            self.config,
            f"{asked} clarifying questions in a row >= {condition.max}",
            mode=condition.mode,
            numbers={"clarifications": float(asked), "max": float(condition.max)},
            condition="clarifications",
        )

    def _action_questions(self, context: PolicyContext) -> Reason | None:
        condition = self.config.action_questions
        action = context.action
        if not condition.enabled or action is None or action.questions < condition.max:
            return None
        # Twice the limit and still asking: the dialogue is stuck, whatever the mode says.
        stuck = action.questions >= 2 * condition.max
        return fired(
            self.name,
            self.config,
            f"action {action.name} asked {action.questions} questions >= {condition.max}"
            + (" (twice the limit: handing over)" if stuck else ""),
            mode=Mode.IMMEDIATE if stuck else condition.mode,
            numbers={"questions": float(action.questions), "max": float(condition.max)},
            condition="action_questions",
        )

    def _intent_returns(self, context: PolicyContext) -> Reason | None:
        condition = self.config.intent_returns
        intent = context.analysis.intent
        if (
            context.action is not None  # an action's turns are not repeated answers
            or not condition.enabled
            or intent.out_of_scope
            or intent.intent in self.config.ignore_intents
        ):
            return None
        answered = answers_for(context.conversation, intent.intent)
        if answered < condition.max:
            return None
        return fired(
            self.name,
            self.config,
            f"intent {intent.intent} back again after {answered} answers >= {condition.max}",
            mode=condition.mode,
            numbers={"answers": float(answered), "max": float(condition.max)},
            condition="intent_returns",
        )

    def _pushbacks(self, context: PolicyContext) -> Reason | None:
        condition = self.config.pushbacks
        if not condition.enabled or not context.analysis.pushback:
            return None
        count = pushbacks_in_episode(context.conversation)
        evidence = context.analysis.pushback[:60]
        if context.fresh_answers == 0:
            detail = f'customer pushed back ("{evidence}") and no answer is left to try'
        elif count >= condition.max:
            detail = f'customer pushed back {count} times >= {condition.max} ("{evidence}")'
        else:
            return None
        return fired(
            self.name,
            self.config,
            detail,
            mode=condition.mode,
            numbers={"pushbacks": float(count), "max": float(condition.max)},
            condition="pushbacks",
        )

    def _repetition(self, context: PolicyContext) -> Reason | None:
        condition = self.config.repetition
        if not condition.enabled:
            return None
        for signal in context.analysis.conversation_signals:
            if signal.name in condition.signals and signal.strength >= condition.min_strength:
                evidence = signal.evidence[:80]
                return fired(
                    self.name,
                    self.config,
                    f'customer repeated themselves ({signal.strength:.2f}): "{evidence}"',
                    mode=condition.mode,
                    numbers={"strength": round(signal.strength, 4)},
                    condition="repetition",
                )
        return None
