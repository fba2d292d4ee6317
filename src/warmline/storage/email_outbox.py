"""The durable outbox of the email channel: one row per email to a customer (event `seq` of an
email conversation), kept until the relay took it or it was given up (dead-lettered).

A row is held while it is being sent by a lease: a random token and a time (`lease`,
`locked_until`). Only the holder of an unexpired lease records the outcome, and a claim takes
only rows whose lease is free or expired, so two workers never send one email at the same
time; on PostgreSQL `FOR UPDATE SKIP LOCKED` keeps claims from waiting on each other. The
lease is much longer than one SMTP exchange can take (`actions.mail` times out each step).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from warmline.storage.models import EmailOutboxRow
from warmline.storage.timestamps import as_utc
from warmline.storage.webhooks import _locked

PENDING, SENT, DEAD = "pending", "sent", "dead"
STATUSES = (PENDING, SENT, DEAD)


@dataclass(frozen=True)
class Claimed:
    """A row held by this worker until `until` (what sending it needs)."""

    id: int
    conversation_id: str
    seq: int
    postscript: str | None
    attempts: int
    created_at: datetime
    lease: str
    until: datetime


def enqueue(
    session: Session, *, conversation_id: str, seq: int, postscript: str | None, now: datetime
) -> bool:
    """Queue event `seq` of the conversation to be emailed (due now), in the caller's
    transaction; False when it was queued already (a redelivered email, a retried request)."""
    values = {
        "conversation_id": conversation_id,
        "seq": seq,
        "postscript": postscript,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(EmailOutboxRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["conversation_id", "seq"])
        .returning(EmailOutboxRow.id)
    )
    return session.execute(statement).scalar() is not None


def queued(session: Session, *, conversation_id: str, seq: int) -> EmailOutboxRow | None:
    """The outbox row of event `seq`, if it was queued."""
    return session.scalar(
        select(EmailOutboxRow).where(
            EmailOutboxRow.conversation_id == conversation_id, EmailOutboxRow.seq == seq
        )
    )


def _free(now: datetime) -> Any:
    return (EmailOutboxRow.locked_until.is_(None)) | (EmailOutboxRow.locked_until < now)


def _hold(rows: Sequence[EmailOutboxRow], now: datetime, lease: timedelta) -> list[Claimed]:
    held: list[Claimed] = []
    for row in rows:
        row.lease = secrets.token_hex(16)
        row.locked_until = now + lease
        held.append(
            Claimed(
                id=row.id,
                conversation_id=row.conversation_id,
                seq=row.seq,
                postscript=row.postscript,
                attempts=row.attempts,
                created_at=as_utc(row.created_at),
                lease=row.lease,
                until=row.locked_until,
            )
        )
    return held


def claim(
    session: Session, *, conversation_id: str, seq: int, now: datetime, lease: timedelta
) -> Claimed | None:
    """Hold the pending row of event `seq` now (whatever its next attempt time), unless
    another worker holds it or it is no longer pending."""
    query = select(EmailOutboxRow).where(
        EmailOutboxRow.conversation_id == conversation_id,
        EmailOutboxRow.seq == seq,
        EmailOutboxRow.status == PENDING,
        _free(now),
    )
    rows = list(session.scalars(_locked(query, session)))
    held = _hold(rows, now, lease)
    session.flush()
    return held[0] if held else None


def anything_due(session: Session, *, now: datetime) -> bool:
    """Whether a pending row is due and free (a cheap read before taking any lock)."""
    query = (
        select(EmailOutboxRow.id)
        .where(
            EmailOutboxRow.status == PENDING,
            EmailOutboxRow.next_attempt_at <= now,
            _free(now),
        )
        .limit(1)
    )
    return session.scalar(query) is not None


def claim_due(
    session: Session, *, now: datetime, lease: timedelta, limit: int = 20
) -> list[Claimed]:
    """Due rows, oldest first, held by this worker for `lease`."""
    query = (
        select(EmailOutboxRow)
        .where(
            EmailOutboxRow.status == PENDING,
            EmailOutboxRow.next_attempt_at <= now,
            _free(now),
        )
        .order_by(EmailOutboxRow.id)
        .limit(limit)
    )
    held = _hold(list(session.scalars(_locked(query, session))), now, lease)
    session.flush()
    return held


def record(
    session: Session,
    *,
    held: Claimed,
    now: datetime,
    error: str | None,
    retry_at: datetime | None,
    message_id: str | None = None,
) -> bool:
    """The outcome of one attempt: sent (no error), retried at `retry_at`, or dead (an error
    and no retry). False (nothing recorded) when this worker no longer held the row."""
    values: dict[str, Any] = {
        "attempts": EmailOutboxRow.attempts + 1,
        "locked_until": None,
        "lease": None,
    }
    if error is None:
        values.update(status=SENT, sent_at=now, last_error=None, message_id=message_id)
    elif retry_at is None:
        values.update(status=DEAD, last_error=error[:500])
    else:
        values.update(next_attempt_at=retry_at, last_error=error[:500])
    done = session.execute(
        update(EmailOutboxRow)
        .where(
            EmailOutboxRow.id == held.id,
            EmailOutboxRow.status == PENDING,
            EmailOutboxRow.lease == held.lease,
        )
        .values(**values)
    )
    return bool(getattr(done, "rowcount", 0))


def hurry(session: Session, *, now: datetime) -> int:
    """Make every pending row waiting for its next attempt due now (the relay took an email
    again: what waited for it need not wait for its backoff); how many."""
    done = session.execute(
        update(EmailOutboxRow)
        .where(EmailOutboxRow.status == PENDING, EmailOutboxRow.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def listing(session: Session, *, status: str | None, limit: int = 100) -> list[EmailOutboxRow]:
    """Rows, newest first, optionally of one status."""
    query = select(EmailOutboxRow)
    if status is not None:
        query = query.where(EmailOutboxRow.status == status)
    return list(session.scalars(query.order_by(EmailOutboxRow.id.desc()).limit(limit)))


def counts(session: Session) -> dict[str, int]:
    """How many rows of each status."""
    rows = session.execute(
        select(EmailOutboxRow.status, func.count()).group_by(EmailOutboxRow.status)
    )
    found = dict.fromkeys(STATUSES, 0)
    found.update({str(status): int(n) for status, n in rows})
    return found


def replay(session: Session, *, ids: Sequence[int] | None, now: datetime) -> int:
    """Send dead-lettered emails again (all, or the given ones): pending, due now, with a
    fresh day of retries; how many."""
    query = update(EmailOutboxRow).where(EmailOutboxRow.status == DEAD)
    if ids is not None:
        query = query.where(EmailOutboxRow.id.in_(list(ids)))
    done = session.execute(
        query.values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            locked_until=None,
            lease=None,
        )
    )
    return int(getattr(done, "rowcount", 0) or 0)


def describe(row: EmailOutboxRow) -> dict[str, Any]:
    """One row as the administrators see it (`warmline email outbox`, the admin API); times
    are timezone-aware."""
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "seq": row.seq,
        "status": row.status,
        "attempts": row.attempts,
        "created_at": as_utc(row.created_at),
        "next_attempt_at": as_utc(row.next_attempt_at),
        "sent_at": as_utc(row.sent_at) if row.sent_at else None,
        "message_id": row.message_id,
        "last_error": row.last_error,
    }
