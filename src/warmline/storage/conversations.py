"""Conversation repository: append events, rebuild state, and query the human queue.

Services take an explicit session and keyword-only arguments and never commit. Appending is
serialised per conversation: a row lock on PostgreSQL, the database write lock on SQLite.

Every event is masked on its way to the disk (`redaction.mask`): card numbers, IBANs and SSNs
never reach the database, nor (unless the deployment keeps them) emails and phone numbers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.orm import Session

from warmline.domain.conversation import Conversation, Status
from warmline.domain.events import (
    AnyEvent,
    BotReply,
    HandedOff,
    event_from_dict,
    event_to_dict,
    utc_now,
)
from warmline.redaction import mask_value
from warmline.storage.db import appended, keeps_contact_details
from warmline.storage.models import (
    ConversationFactsRow,
    ConversationRow,
    CustomerRow,
    EventRow,
)
from warmline.storage.timestamps import as_utc

log = logging.getLogger(__name__)


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


def load_events(session: Session, *, conversation_id: str, after_seq: int = 0) -> list[AnyEvent]:
    """The events of a conversation in order (only those after `after_seq`, if given)."""
    query = (
        select(EventRow.data)
        .where(EventRow.conversation_id == conversation_id, EventRow.seq > after_seq)
        .order_by(EventRow.seq)
    )
    return [event_from_dict(data) for data in session.scalars(query)]


@dataclass(frozen=True)
class Head:
    """Where a conversation stands in the store: how many events it has, and who it is for."""

    conversation_id: str
    seq: int
    customer_id: str | None
    channel: str


def head(session: Session, *, conversation_id: str) -> Head | None:
    """The conversation's current sequence number (one indexed read, no lock)."""
    row = session.execute(
        select(
            ConversationRow.last_seq, ConversationRow.customer_id, ConversationRow.channel
        ).where(ConversationRow.id == conversation_id)
    ).one_or_none()
    if row is None:
        return None
    return Head(conversation_id, int(row.last_seq), row.customer_id, row.channel)


class ConversationMoved(Exception):
    """The conversation gained events since it was read: the append was not made."""


@dataclass(frozen=True)
class PreparedAppend:
    """Everything an append writes, computed before the write transaction opens (masking and
    validation are CPU work that must not hold the database's write lock)."""

    conversation_id: str
    expected_seq: int
    stored: tuple[AnyEvent, ...]
    rows: tuple[dict[str, Any], ...]
    projection: dict[str, Any]
    facts: dict[str, Any] | None = None  # the `conversation_facts` row's data, if projected


# Computes a conversation's metrics row (`analytics.metrics.facts_record`), registered by the
# analytics package so that storage needs no knowledge of what a metric is. None: not kept.
FactsOf = Callable[[Conversation], dict[str, Any] | None]
_facts_of: list[FactsOf] = []


def keep_facts_with(facts_of: FactsOf) -> None:
    """Keep `conversation_facts` in step with every append, computed by `facts_of`."""
    _facts_of[:] = [facts_of]


def prepare_append(
    conversation: Conversation, events: Sequence[AnyEvent], *, keep_contacts: bool
) -> PreparedAppend:
    """Mask the events, number them after the conversation's last one, and compute the
    projection of the state they lead to. Pure: no database."""
    expected = conversation.seq
    data = [_masked(event, keep_contacts) for event in events]
    stored = tuple(event_from_dict(item) for item in data)
    after = Conversation.replay(
        conversation.id,
        [*conversation.events, *stored],
        customer_id=conversation.customer_id,
        channel=conversation.channel,
    )
    rows = tuple(
        {
            "conversation_id": conversation.id,
            "seq": expected + number,
            "type": event.type,
            "ts": event.ts,
            "data": item,
        }
        for number, (event, item) in enumerate(zip(stored, data, strict=True), start=1)
    )
    projection = {"last_seq": after.seq, **_projection(after, stored)}
    return PreparedAppend(conversation.id, expected, stored, rows, projection, _facts(after))


def _facts(after: Conversation) -> dict[str, Any] | None:
    """The metrics row, if kept. A metrics bug must never cost a customer's message: it is
    logged and the row left behind, which the report then recomputes from the events."""
    if not _facts_of:
        return None
    try:
        return _facts_of[0](after)
    except Exception:
        log.exception("conversation facts not computed for %s; the report will recompute", after.id)
        return None


def _masked(event: AnyEvent, keep_contacts: bool) -> dict[str, Any]:
    """An event's stored form, masked. The bot's own reply text is not: it is composed from
    templates and the knowledge base and never repeats a customer's email, phone or card (the
    composer recaps only order and invoice numbers), while a help-centre address in it must
    reach the customer as written."""
    data = event_to_dict(event)
    if isinstance(event, BotReply):
        text = data.pop("text")
        return {**mask_value(data, keep_contacts=keep_contacts), "text": text}
    return mask_value(data, keep_contacts=keep_contacts)


def write_append(session: Session, append: PreparedAppend) -> None:
    """Write a prepared append if the conversation is still where it was read; otherwise
    raise `ConversationMoved` and write nothing. Two statements, no Python work between."""
    if not append.rows:
        return
    moved = session.execute(
        update(ConversationRow)
        .where(
            ConversationRow.id == append.conversation_id,
            ConversationRow.last_seq == append.expected_seq,
        )
        .values(updated_at=utc_now(), **append.projection)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        raise ConversationMoved(append.conversation_id)
    session.execute(insert(EventRow), list(append.rows))
    if append.facts is not None:
        save_facts(session, append.conversation_id, append.projection["last_seq"], append.facts)
    appended(session, conversation_id=append.conversation_id, seq=append.projection["last_seq"])


def save_facts(session: Session, conversation_id: str, seq: int, data: dict[str, Any]) -> None:
    """Insert or replace a conversation's facts row (one statement, on either database)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    statement = upsert(ConversationFactsRow).values(
        conversation_id=conversation_id, seq=seq, data=data
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["conversation_id"], set_={"seq": seq, "data": data}
        )
    )


def append_events(
    session: Session, *, conversation: Conversation, events: Sequence[AnyEvent]
) -> list[AnyEvent]:
    """Append events after the last one `conversation` holds, fold them into it, refresh the
    projection; return the events as stored (masked), which is what may leave the process.

    Optimistic: the conversation row is updated only if its sequence number is still the one
    `conversation` was read at, so two writers can never interleave; the loser gets
    `ConversationMoved` (nothing is written) and reads again. A caller that loaded the
    conversation `for_update` in this transaction always wins.
    """
    append = prepare_append(conversation, events, keep_contacts=keeps_contact_details(session))
    write_append(session, append)
    for event in append.stored:
        conversation.apply(event)
    return list(append.stored)


def _projection(after: Conversation, new: Sequence[AnyEvent]) -> dict[str, Any]:
    """The queryable columns of the conversations row, from the state after the append."""
    values: dict[str, Any] = {
        "status": after.status.value,
        "agent": after.agent,
        "priority": after.priority,
        "route": after.route,
    }
    handoff = next((e for e in reversed(new) if isinstance(e, HandedOff)), None)
    if handoff is not None:
        values.update(queued_at=handoff.ts, senior=handoff.senior, frustration=handoff.frustration)
    return values


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


def queue_waits(session: Session, *, now: datetime) -> tuple[int, float, float]:
    """Conversations waiting for a person, the longest wait and the mean wait (seconds)."""
    times = [
        aware
        for (queued_at,) in session.execute(
            select(ConversationRow.queued_at).where(ConversationRow.status == "queued")
        )
        if (aware := as_utc(queued_at)) is not None
    ]
    if not times:
        return 0, 0.0, 0.0
    waits = [max(0.0, (now - t).total_seconds()) for t in times]
    return len(waits), max(waits), sum(waits) / len(waits)


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


def lock_unless_busy(session: Session, conversation_id: str) -> bool:
    """Lock the conversation's row for this transaction unless another one holds it (SKIP
    LOCKED): background rounds pass over a conversation being changed right now."""
    query = (
        select(ConversationRow.id)
        .where(ConversationRow.id == conversation_id)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(query).first() is not None


def locked_each(session: Session, conversation_ids: Iterable[str]) -> Iterator[Conversation]:
    """Each conversation, locked for this transaction and loaded; those another transaction
    holds right now (or that are gone) are passed over, to be looked at next time."""
    for conversation_id in conversation_ids:
        if not lock_unless_busy(session, conversation_id):
            continue
        conversation = load_conversation(session, conversation_id=conversation_id)
        if conversation is not None:
            yield conversation


def quiet_bot_conversations(
    session: Session, *, before: datetime, email: bool, limit: int = 500
) -> list[str]:
    """Ids of conversations the bot holds, with events, untouched since `before`, on the
    email channel or on the others: the candidates for the idle close, longest quiet first."""
    on_channel = ConversationRow.channel == "email" if email else ConversationRow.channel != "email"
    query = (
        select(ConversationRow.id)
        .where(
            ConversationRow.status == Status.BOT.value,
            ConversationRow.last_seq > 0,
            ConversationRow.updated_at <= before,
            on_channel,
        )
        .order_by(ConversationRow.updated_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def recent_for_customer(
    session: Session, *, customer_id: str, exclude: str, limit: int = 5
) -> list[ConversationRow]:
    """The customer's latest conversations other than `exclude`, newest first."""
    query = (
        select(ConversationRow)
        .where(ConversationRow.customer_id == customer_id, ConversationRow.id != exclude)
        .order_by(ConversationRow.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def recently_resolved_ids(session: Session, *, limit: int = 300) -> list[str]:
    """The ids of the conversations resolved most recently (by their last change)."""
    query = (
        select(ConversationRow.id)
        .where(ConversationRow.status == "resolved")
        .order_by(ConversationRow.updated_at.desc())
        .limit(limit)
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


def facts_rows(
    session: Session, *, since: datetime | None, until: datetime | None
) -> Iterator[tuple[str, bool, dict[str, Any] | None]]:
    """(conversation id, whether its facts row covers all its events, the row's data) for the
    conversations created in [since, until), oldest first."""
    query = select(
        ConversationRow.id,
        ConversationRow.last_seq,
        ConversationFactsRow.seq,
        ConversationFactsRow.data,
    ).outerjoin(ConversationFactsRow, ConversationFactsRow.conversation_id == ConversationRow.id)
    if since is not None:
        query = query.where(ConversationRow.created_at >= since)
    if until is not None:
        query = query.where(ConversationRow.created_at < until)
    for conversation_id, last_seq, seq, data in session.execute(
        query.order_by(ConversationRow.created_at)
    ):
        yield conversation_id, seq == last_seq, data


def conversations_between(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    ids: Sequence[str] | None = None,
    batch: int = 500,
) -> Iterator[Conversation]:
    """Every conversation created in [since, until) (or those of `ids`), rebuilt from its
    events, oldest first; events are read a batch of conversations at a time."""
    query = select(ConversationRow.id, ConversationRow.customer_id, ConversationRow.channel)
    if since is not None:
        query = query.where(ConversationRow.created_at >= since)
    if until is not None:
        query = query.where(ConversationRow.created_at < until)
    if ids is not None:
        if not ids:
            return
        rows: list[Any] = []
        for start in range(0, len(ids), batch):
            chosen = query.where(ConversationRow.id.in_(list(ids[start : start + batch])))
            rows += session.execute(chosen.order_by(ConversationRow.created_at)).all()
    else:
        rows = list(session.execute(query.order_by(ConversationRow.created_at)).all())
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        found: dict[str, list[AnyEvent]] = {row.id: [] for row in chunk}
        events = session.execute(
            select(EventRow.conversation_id, EventRow.data)
            .where(EventRow.conversation_id.in_(list(found)))
            .order_by(EventRow.conversation_id, EventRow.seq)
        )
        for conversation_id, data in events:
            found[conversation_id].append(event_from_dict(data))
        for row in chunk:
            yield Conversation.replay(
                row.id, found[row.id], customer_id=row.customer_id, channel=row.channel
            )


def open_per_agent(session: Session) -> dict[str, int]:
    """How many assigned (open) conversations each agent has."""
    query = (
        select(ConversationRow.agent, func.count(ConversationRow.id))
        .where(ConversationRow.status == Status.ASSIGNED.value)
        .group_by(ConversationRow.agent)
    )
    return {agent: int(count) for agent, count in session.execute(query) if agent}


def assigned_to(session: Session, *, agent_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """The agent's assigned conversations, most recently active first: status, priority,
    frustration, the customer's name and the customer's last message (as stored)."""
    rows = session.execute(
        select(ConversationRow, CustomerRow.name)
        .outerjoin(CustomerRow, CustomerRow.id == ConversationRow.customer_id)
        .where(ConversationRow.agent == agent_id, ConversationRow.status == Status.ASSIGNED.value)
        .order_by(ConversationRow.updated_at.desc())
        .limit(limit)
    ).all()
    last_texts = _last_customer_texts(session, [row.id for row, _ in rows])
    return [
        {
            "id": row.id,
            "status": row.status,
            "priority": row.priority,
            "frustration": row.frustration,
            "customer_name": name,
            "last_text": last_texts.get(row.id),
            "updated_at": as_utc(row.updated_at),
        }
        for row, name in rows
    ]


def _last_customer_texts(session: Session, conversation_ids: list[str]) -> dict[str, str]:
    if not conversation_ids:
        return {}
    latest = (
        select(EventRow.conversation_id, func.max(EventRow.seq).label("seq"))
        .where(
            EventRow.conversation_id.in_(conversation_ids),
            EventRow.type == "customer_message",
        )
        .group_by(EventRow.conversation_id)
        .subquery()
    )
    query = select(EventRow.conversation_id, EventRow.data).join(
        latest,
        (EventRow.conversation_id == latest.c.conversation_id) & (EventRow.seq == latest.c.seq),
    )
    return {cid: str(data.get("text", "")) for cid, data in session.execute(query)}


def recent_transcripts(session: Session, *, limit: int) -> list[dict[str, Any]]:
    """The latest `limit` conversations in which the customer wrote, oldest first, as replay
    records: what the customer and the agents said, with times (text as stored)."""
    wrote = select(EventRow.conversation_id).where(EventRow.type == "customer_message")
    ids = list(
        session.scalars(
            select(ConversationRow.id)
            .where(ConversationRow.id.in_(wrote))
            .order_by(ConversationRow.created_at.desc())
            .limit(limit)
        )
    )
    turns: dict[str, list[dict[str, Any]]] = {cid: [] for cid in reversed(ids)}
    speakers = {"customer_message": "customer", "agent_message": "agent"}
    rows = session.execute(
        select(EventRow.conversation_id, EventRow.type, EventRow.ts, EventRow.data)
        .where(EventRow.conversation_id.in_(ids), EventRow.type.in_(speakers))
        .order_by(EventRow.conversation_id, EventRow.seq)
    )
    for cid, kind, ts, data in rows:
        moment = as_utc(ts)
        turn: dict[str, Any] = {
            "speaker": speakers[kind],
            "text": str(data.get("text", "")),
            "ts": moment.isoformat() if moment else None,
        }
        meta = data.get("meta")
        if isinstance(meta, dict) and meta.get("speech_cues"):
            # A phone call's turn replays with its speech cues (`trajectory.SPEECH_CUES_KEY`).
            turn["speech_cues"] = meta["speech_cues"]
        turns[cid].append(turn)
    return [{"id": cid, "turns": found} for cid, found in turns.items()]
