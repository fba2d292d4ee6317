"""What the policy may look at: the conversation so far, this message's analysis, the customer."""

from __future__ import annotations

from dataclasses import dataclass

from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer
from warmline.understanding.types import Analysis


@dataclass(frozen=True)
class PolicyContext:
    """Read-only input of one policy decision."""

    conversation: Conversation
    analysis: Analysis
    customer: Customer | None = None
