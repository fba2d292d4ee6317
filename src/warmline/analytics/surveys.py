"""Survey answers: CSAT (1-5), NPS (0-10) and "Did you feel heard?", with free text.

Asked when a conversation is resolved (the questions in `WARMLINE_SURVEY`), answered by the
customer through the conversation's own token. Each answer is a `feedback` event; answering
again records the change as another event (a field left out keeps its earlier answer), and
`current_answer` reads the answer as it stands. Sending the same answer again is a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from warmline.domain.conversation import Conversation
from warmline.domain.events import FeedbackGiven, Resolved
from warmline.handoff.service import StateConflict, _append, _locked

MAX_COMMENT = 2000


@dataclass(frozen=True)
class Answer:
    """One conversation's survey answer as it stands."""

    csat: int | None = None
    nps: int | None = None
    felt_heard: bool | None = None
    comment: str | None = None


def current_answer(conversation: Conversation) -> Answer | None:
    """The latest value of each field over the conversation's feedback events."""
    return _merged(conversation.of_type(FeedbackGiven))


def _merged(found: Sequence[FeedbackGiven]) -> Answer | None:
    if not found:
        return None
    merged: dict[str, object] = {}
    for event in found:
        for name in ("csat", "nps", "felt_heard", "comment"):
            value = getattr(event, name)
            if value is not None:
                merged[name] = value
    return Answer(**merged)  # type: ignore[arg-type]


def record_answer(session: Session, *, conversation_id: str, answer: Answer) -> Answer:
    """Store a survey answer (or a change to one); the answer as it now stands. An answer to
    a question the survey did not ask is kept too (a client may offer its own)."""
    conversation = _locked(session, conversation_id)
    if not conversation.of_type(Resolved):
        raise StateConflict("the conversation is not resolved yet: the survey comes after")
    if answer == Answer():
        raise StateConflict("the answer is empty: nothing to record")
    earlier = conversation.of_type(FeedbackGiven)
    event = FeedbackGiven(
        csat=answer.csat, nps=answer.nps, felt_heard=answer.felt_heard, comment=answer.comment
    )
    after = _merged([*earlier, event])
    if after == _merged(earlier):
        raise StateConflict("this answer was already recorded")
    _append(session, conversation, event)
    assert after is not None
    return after
