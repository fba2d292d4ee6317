"""Webhook receivers and the durable outbox of their deliveries.

Deliveries are made from the event log, not beside it: each receiver keeps a cursor (an
events.id) and `fan_out` turns the events after it into delivery rows, in the order they were
stored, so nothing that was committed can be missed and nothing is queued for an event that
rolled back. The cursor moves only past events older than `SETTLE` (an event id is taken
before its transaction commits, so a younger one may still appear below a newer id); rows
seen twice are ignored by a unique constraint. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets
several workers fan out and deliver without ever taking the same row at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from warmline.storage.conversations import new_id
from warmline.storage.models import EventRow, WebhookDeliveryRow, WebhookEndpointRow
from warmline.storage.timestamps import as_utc

SETTLE = timedelta(seconds=5)
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# What one event becomes: zero or more (webhook type, payload) pairs.
Messages = Callable[[EventRow], list[tuple[str, dict[str, Any]]]]


def create_endpoint(
    session: Session, *, url: str, events: Sequence[str], now: datetime
) -> WebhookEndpointRow:
    """A new receiver; it gets what happens from now on (its cursor starts at the log's end)."""
    last = session.scalar(select(func.max(EventRow.id))) or 0
    row = WebhookEndpointRow(
        id=new_id(), url=url, events=list(events), enabled=True, cursor=last, created_at=now
    )
    session.add(row)
    session.flush()
    return row


def list_endpoints(session: Session) -> list[WebhookEndpointRow]:
    """Every receiver, oldest first."""
    query = select(WebhookEndpointRow).order_by(WebhookEndpointRow.created_at)
    return list(session.scalars(query))


def delete_endpoint(session: Session, *, endpoint_id: str) -> bool:
    """Remove a receiver and its deliveries; False if there was none."""
    row = session.get(WebhookEndpointRow, endpoint_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def _locked(query: Any, session: Session) -> Any:
    """Row locks that other workers skip (PostgreSQL); SQLite has one writer anyway."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def fan_out(session: Session, *, messages: Messages, now: datetime, batch: int = 500) -> int:
    """Create the delivery rows of the events after each enabled receiver's cursor; return
    how many rows were created."""
    created = 0
    endpoints = session.scalars(
        _locked(select(WebhookEndpointRow).where(WebhookEndpointRow.enabled), session)
    ).all()
    for endpoint in endpoints:
        events = session.scalars(
            select(EventRow).where(EventRow.id > endpoint.cursor).order_by(EventRow.id).limit(batch)
        ).all()
        wanted = set(endpoint.events or ())
        queued = _queued(session, endpoint.id, events)
        for event in events:
            for kind, payload in messages(event):
                if (not wanted or kind in wanted) and (event.id, kind) not in queued:
                    session.add(_delivery(endpoint.id, event, kind, payload, now))
                    created += 1
        endpoint.cursor = max(endpoint.cursor, _settled(events, endpoint.cursor, now))
    session.flush()
    return created


def _settled(events: Sequence[EventRow], cursor: int, now: datetime) -> int:
    """The highest id before which every scanned event is older than SETTLE."""
    settled = cursor
    for event in events:
        if as_utc(event.ts) > now - SETTLE:
            break
        settled = event.id
    return settled


def _queued(session: Session, endpoint_id: str, events: Sequence[EventRow]) -> set[tuple[int, str]]:
    """The (event, type) pairs of these events that already have a delivery row."""
    if not events:
        return set()
    rows = session.execute(
        select(WebhookDeliveryRow.event_row_id, WebhookDeliveryRow.type).where(
            WebhookDeliveryRow.endpoint_id == endpoint_id,
            WebhookDeliveryRow.event_row_id.between(events[0].id, events[-1].id),
        )
    )
    return {(int(event_id), str(kind)) for event_id, kind in rows}


def _delivery(
    endpoint_id: str, event: EventRow, kind: str, payload: dict[str, Any], now: datetime
) -> WebhookDeliveryRow:
    return WebhookDeliveryRow(
        endpoint_id=endpoint_id,
        event_row_id=event.id,
        type=kind,
        conversation_id=event.conversation_id,
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def claim_due(
    session: Session, *, now: datetime, lease: timedelta, limit: int = 20
) -> list[WebhookDeliveryRow]:
    """Due deliveries, each the oldest pending one of its receiver and conversation (order is
    kept per conversation), leased to this worker for `lease`."""
    earlier = aliased(WebhookDeliveryRow)
    blocked = exists().where(
        and_(
            earlier.endpoint_id == WebhookDeliveryRow.endpoint_id,
            earlier.conversation_id == WebhookDeliveryRow.conversation_id,
            earlier.status == PENDING,
            earlier.id < WebhookDeliveryRow.id,
        )
    )
    query = (
        select(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.status == PENDING,
            WebhookDeliveryRow.next_attempt_at <= now,
            (WebhookDeliveryRow.locked_until.is_(None)) | (WebhookDeliveryRow.locked_until < now),
            ~blocked,
        )
        .order_by(WebhookDeliveryRow.id)
        .limit(limit)
    )
    rows = list(session.scalars(_locked(query, session)))
    for row in rows:
        row.locked_until = now + lease
    session.flush()
    return rows


def record_attempt(
    session: Session,
    *,
    delivery_id: int,
    now: datetime,
    error: str | None,
    retry_at: datetime | None,
) -> None:
    """A delivery's outcome: delivered (no error), retried at `retry_at`, or dead (no retry)."""
    values: dict[str, Any] = {"attempts": WebhookDeliveryRow.attempts + 1, "locked_until": None}
    if error is None:
        values.update(status=DELIVERED, delivered_at=now, last_error=None)
    elif retry_at is None:
        values.update(status=DEAD, last_error=error[:500])
    else:
        values.update(next_attempt_at=retry_at, last_error=error[:500])
    session.execute(
        update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id).values(**values)
    )


def deliveries(
    session: Session, *, endpoint_id: str, status: str | None, limit: int
) -> list[WebhookDeliveryRow]:
    """A receiver's deliveries, newest first, optionally of one status."""
    query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDeliveryRow.status == status)
    return list(session.scalars(query.order_by(WebhookDeliveryRow.id.desc()).limit(limit)))


def replay(session: Session, *, endpoint_id: str, ids: Sequence[int] | None, now: datetime) -> int:
    """Send dead-lettered deliveries again (all of the receiver's, or the given ones)."""
    query = update(WebhookDeliveryRow).where(
        WebhookDeliveryRow.endpoint_id == endpoint_id, WebhookDeliveryRow.status == DEAD
    )
    if ids is not None:
        query = query.where(WebhookDeliveryRow.id.in_(list(ids)))
    done = session.execute(
        query.values(status=PENDING, attempts=0, next_attempt_at=now, locked_until=None)
    )
    return int(getattr(done, "rowcount", 0) or 0)
