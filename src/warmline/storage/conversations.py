"""Conversation repository: append events, rebuild state, and query the human queue.

Services take an explicit session and keyword-only arguments and never commit. Appending is
serialised per conversation: a row lock on PostgreSQL, the database write lock on SQLite.

Every event is masked on its way to the disk (`redaction.mask`): card numbers, IBANs and SSNs
never reach the database, nor (unless the deployment keeps them) emails and phone numbers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warmline.domain.conversation import Conversation, Status
from warmline.domain.events import AnyEvent, HandedOff, event_from_dict, event_to_dict, utc_now
from warmline.redaction import mask_value
from warmline.storage.db import keeps_contact_details
from warmline.storage.models import ConversationRow, EventRow


def new_id() -> str:
    """A fresh random identifier."""
    return uuid.uuid4().hex


def create_conversation(
    session: Session, *, customer_id: str | None, channel: str, conversation_id: str | None = None
) -> Conversation:
    """Insert an empty conversation and return its (empty) state."""
    now = utc_now()
    row = ConversationRow(
        id=conversation_id or new_id(),
        customer_id=customer_id,
        channel=channel,
        status=Status.BOT.value,
        priority=0.0,
        last_seq=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return Conversation(id=row.id, customer_id=customer_id, channel=channel)


def load_conversation(
    session: Session, *, conversation_id: str, for_update: bool = False
) -> Conversation | None:
    """Rebuild a conversation from its events; with `for_update`, lock it until commit."""
    query = select(ConversationRow).where(ConversationRow.id == conversation_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        return None
    return Conversation.replay(
        row.id,
        load_events(session, conversation_id=row.id),
        customer_id=row.customer_id,
        channel=row.channel,
    )


def load_events(session: Session, *, conversation_id: str) -> list[AnyEvent]:
    """Every event of a conversation, in order."""
    rows = session.scalars(
        select(EventRow).where(EventRow.conversation_id == conversation_id).order_by(EventRow.seq)
    )
    return [event_from_dict(row.data) for row in rows]


def append_events(
    session: Session, *, conversation: Conversation, events: Sequence[AnyEvent]
) -> list[AnyEvent]:
    """Append events after the last one, fold them into `conversation`, refresh the projection;
    return the events as stored (masked), which is what may leave the process afterwards.

    The caller must have loaded the conversation `for_update` in this transaction.
    """
    row = session.get(ConversationRow, conversation.id)
    if row is None:
        raise LookupError(f"conversation {conversation.id} does not exist")
    keep_contacts = keeps_contact_details(session)
    stored: list[AnyEvent] = []
    for event in events:
        row.last_seq += 1
        data = mask_value(event_to_dict(event), keep_contacts=keep_contacts)
        session.add(
            EventRow(
                conversation_id=conversation.id,
                seq=row.last_seq,
                type=event.type,
                ts=event.ts,
                data=data,
            )
        )
        stored.append(event_from_dict(data))
        conversation.apply(event)
        if isinstance(event, HandedOff):
            row.queued_at = event.ts
            row.senior = event.senior
            row.frustration = event.frustration
    row.status = conversation.status.value
    row.agent = conversation.agent
    row.priority = conversation.priority
    row.route = conversation.route
    row.updated_at = utc_now()
    session.flush()
    return stored


def list_queue(session: Session, *, limit: int = 100) -> list[ConversationRow]:
    """Queued conversations, most urgent first, then longest waiting."""
    query = (
        select(ConversationRow)
        .where(ConversationRow.status == Status.QUEUED.value)
        .order_by(ConversationRow.priority.desc(), ConversationRow.queued_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def next_queued_id(session: Session) -> str | None:
    """The id of the most urgent unlocked queued conversation, locked for this transaction."""
    query = (
        select(ConversationRow.id)
        .where(ConversationRow.status == Status.QUEUED.value)
        .order_by(ConversationRow.priority.desc(), ConversationRow.queued_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(query).first()


def queued_rows(session: Session, *, limit: int = 5000) -> list[ConversationRow]:
    """Every queued conversation (without their events), for ranking by effective priority."""
    query = (
        select(ConversationRow)
        .where(ConversationRow.status == Status.QUEUED.value)
        .order_by(ConversationRow.priority.desc(), ConversationRow.queued_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def lock_if_queued(session: Session, *, conversation_id: str) -> bool:
    """Lock one conversation if it is still queued and nobody else holds it (SKIP LOCKED on
    PostgreSQL; on SQLite the transaction already holds the write lock)."""
    query = (
        select(ConversationRow.id)
        .where(ConversationRow.id == conversation_id, ConversationRow.status == Status.QUEUED.value)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(query).first() is not None


def count_queued(session: Session) -> int:
    """How many conversations wait for a person."""
    query = select(func.count(ConversationRow.id)).where(
        ConversationRow.status == Status.QUEUED.value
    )
    return int(session.scalar(query) or 0)


def open_handoffs(session: Session, *, queued_before: datetime) -> list[str]:
    """Ids of conversations with a person (queued or assigned) handed over before a time."""
    query = (
        select(ConversationRow.id)
        .where(
            ConversationRow.status.in_((Status.QUEUED.value, Status.ASSIGNED.value)),
            ConversationRow.queued_at <= queued_before,
        )
        .order_by(ConversationRow.queued_at)
    )
    return list(session.scalars(query))


def list_conversations(
    session: Session, *, since: datetime | None = None, limit: int = 1000
) -> list[ConversationRow]:
    """Conversations, newest first, for listings and reports."""
    query = select(ConversationRow).order_by(ConversationRow.created_at.desc()).limit(limit)
    if since is not None:
        query = query.where(ConversationRow.created_at >= since)
    return list(session.scalars(query))
