"""Escalation triggers, one small class each."""

from warmline.policy.triggers.base import Trigger
from warmline.policy.triggers.escape_hatch import EscapeHatch
from warmline.policy.triggers.low_confidence import LowConfidence

__all__ = ["EscapeHatch", "LowConfidence", "Trigger"]
