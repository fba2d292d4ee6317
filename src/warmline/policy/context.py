"""What the policy may look at: the conversation so far, this message's analysis, the customer,
and (when the automation stage has them) the answer's confidence and the last action's result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer
from warmline.understanding.types import Analysis


@dataclass(frozen=True)
class ActionResult:
    """How a routine action went: `ok`, `error`, or `empty` (it ran but found nothing useful)."""

    name: str
    status: Literal["ok", "error", "empty"]
    detail: str = ""

    @property
    def failed(self) -> bool:
        """True when the action did not give the customer what they needed."""
        return self.status != "ok"


@dataclass(frozen=True)
class ActionProgress:
    """The routine action this message belongs to (one in progress or one it starts) and how
    many questions it has asked the customer so far."""

    name: str
    questions: int = 0


@dataclass(frozen=True)
class PolicyContext:
    """Read-only input of one policy decision. `conversation` already holds the current
    customer message and its analysis event (the engine builds it so); `analysis` is that
    analysis as typed objects. With a knowledge base, `answer_confidence` is the chance that the
    answer the bot would give is right, and `fresh_answers` how many fair answers it has not
    given yet in this conversation (None without one: not asked). `action` is set when the
    message belongs to a routine action (the dialogue understood it, so it is not a low
    confidence turn, and the action's own questions are what may loop)."""

    conversation: Conversation
    analysis: Analysis
    customer: Customer | None = None
    answer_confidence: float | None = None
    fresh_answers: int | None = None
    action_result: ActionResult | None = None
    action: ActionProgress | None = None
