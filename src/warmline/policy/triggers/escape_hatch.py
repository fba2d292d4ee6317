"""The customer asked for a person: always honoured, immediately."""

from __future__ import annotations

from dataclasses import dataclass, field

from warmline.policy.config import EscapeHatchConfig
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.triggers.base import Trigger, fired


@dataclass
class EscapeHatch(Trigger):
    """Fires when understanding found a (non-negated) request for a human."""

    config: EscapeHatchConfig = field(default_factory=EscapeHatchConfig)
    name: str = "escape_hatch"

    def evaluate(self, context: PolicyContext) -> Reason | None:
        phrase = context.analysis.human_request
        if phrase is None:
            return None
        detail = f'customer asked for a person: "{phrase[:80]}"'
        return fired(self.name, self.config, detail, mode=Mode.IMMEDIATE)
