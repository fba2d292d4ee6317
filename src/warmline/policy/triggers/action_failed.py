"""A routine action (order lookup, password reset...) errored or returned nothing useful."""

from __future__ import annotations

from dataclasses import dataclass, field

from warmline.domain.events import ActionRecorded
from warmline.policy.config import ActionFailedConfig
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.history import episode_events
from warmline.policy.triggers.base import Trigger, fired


@dataclass
class ActionFailed(Trigger):
    """Fires when the action just run failed; `immediate_after` failures in one episode
    hand over at once whatever the mode."""

    config: ActionFailedConfig = field(default_factory=ActionFailedConfig)
    name: str = "action_failed"

    def evaluate(self, context: PolicyContext) -> Reason | None:
        result = context.action_result
        if result is None or not result.failed:
            return None
        earlier = sum(
            1
            for event in episode_events(context.conversation)
            if isinstance(event, ActionRecorded) and event.status != "ok"
        )
        failures = earlier + 1
        what = "errored" if result.status == "error" else "returned nothing useful"
        detail = f"action {result.name} {what}"
        if result.detail:
            detail += f": {result.detail[:120]}"
        detail += f" ({failures} failure(s) this episode)"
        mode = Mode.IMMEDIATE if failures >= self.config.immediate_after else self.config.mode
        numbers = {
            "failures": float(failures),
            "immediate_after": float(self.config.immediate_after),
        }
        return fired(
            self.name, self.config, detail, mode=mode, numbers=numbers, condition=result.status
        )
