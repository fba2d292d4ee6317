"""The trigger interface: one small class per escalation rule."""

from __future__ import annotations

from abc import ABC, abstractmethod

from warmline.policy.context import PolicyContext
from warmline.policy.decision import Reason


class Trigger(ABC):
    """A rule that looks at one message in context and says whether it fires, and why."""

    name: str = "trigger"

    @abstractmethod
    def evaluate(self, context: PolicyContext) -> Reason | None:
        """A reason if the rule fires, else None. Must not act or mutate anything."""
