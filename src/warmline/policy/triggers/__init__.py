"""Escalation triggers, one small class each, built from the policy's `triggers` section."""

from __future__ import annotations

from warmline.policy.config import TriggersConfig
from warmline.policy.triggers.action_failed import ActionFailed
from warmline.policy.triggers.base import Trigger
from warmline.policy.triggers.escape_hatch import EscapeHatch
from warmline.policy.triggers.frustration import Frustration
from warmline.policy.triggers.high_value import HighValue
from warmline.policy.triggers.loop import Loop
from warmline.policy.triggers.low_confidence import LowConfidence
from warmline.policy.triggers.sensitive_topic import SensitiveTopic


def build_triggers(config: TriggersConfig) -> list[Trigger]:
    """The enabled triggers, in the order their reasons are listed (and routes preferred)."""
    candidates: list[Trigger] = [
        EscapeHatch(config.escape_hatch),
        SensitiveTopic(config.sensitive_topic),
        Frustration(config.frustration),
        Loop(config.loop),
        LowConfidence(config.low_confidence),
        ActionFailed(config.action_failed),
        HighValue(config.high_value),
    ]
    return [trigger for trigger in candidates if getattr(config, trigger.name).enabled]


__all__ = [
    "ActionFailed",
    "EscapeHatch",
    "Frustration",
    "HighValue",
    "Loop",
    "LowConfidence",
    "SensitiveTopic",
    "Trigger",
    "build_triggers",
]
