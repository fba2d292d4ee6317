"""Agents' corrections read back from the event log, for training and ranking."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from warmline.domain.events import AnswerFlagged, IntentCorrected, event_from_dict
from warmline.storage.models import EventRow


@dataclass(frozen=True)
class AnswerCorrection:
    """A question the bot answered wrongly, and the section that answers it (if named)."""

    question: str
    wrong: str | None
    right: str | None


def intent_examples(session: Session) -> list[tuple[str, str]]:
    """(customer message, corrected intent) for every intent correction, the latest per
    message."""
    rows = session.execute(
        select(EventRow.conversation_id, EventRow.data)
        .where(EventRow.type == "intent_corrected")
        .order_by(EventRow.id)
    ).all()
    wanted: dict[tuple[str, int], str] = {}
    for conversation_id, data in rows:
        event = event_from_dict(data)
        assert isinstance(event, IntentCorrected)
        wanted[(conversation_id, event.message_seq)] = event.intent
    if not wanted:
        return []
    texts = session.execute(
        select(EventRow.conversation_id, EventRow.seq, EventRow.data).where(
            EventRow.type == "customer_message",
            EventRow.conversation_id.in_({c for c, _ in wanted}),
        )
    ).all()
    by_key = {(c, seq): str(data.get("text", "")) for c, seq, data in texts}
    return [(by_key[key], intent) for key, intent in wanted.items() if by_key.get(key)]


def answer_corrections(session: Session) -> list[AnswerCorrection]:
    """Every flagged answer, oldest first."""
    rows = session.scalars(
        select(EventRow.data).where(EventRow.type == "answer_flagged").order_by(EventRow.id)
    ).all()
    found = []
    for data in rows:
        event = event_from_dict(data)
        assert isinstance(event, AnswerFlagged)
        found.append(AnswerCorrection(event.question, event.wrong, event.right))
    return found
