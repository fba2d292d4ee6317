"""Administering the email outbox over HTTP: what waits for the relay, what was given up, and
sending dead letters again (the same as `warmline email outbox|replay`, docs/email.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from warmline.api.access import ADMIN_ONLY, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.schemas import RequestBody
from warmline.storage import email_outbox as outbox
from warmline.storage.broadcast import EMAIL

MAX_ID = 2**31 - 1  # the table's integer key
router = APIRouter(
    prefix="/api/v1/admin/email/outbox", tags=["email"], dependencies=[allow(ADMIN_ONLY)]
)


class OutboxEmail(BaseModel):
    """One queued email: the reply or agent message (event `seq`) and where its sending stands."""

    id: int
    conversation_id: str
    seq: int
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    message_id: str | None
    last_error: str | None


class Outbox(BaseModel):
    """How many emails are in each status, and the newest ones."""

    counts: dict[str, int]
    emails: list[OutboxEmail]


class ReplayIds(RequestBody):
    """These dead-lettered emails (ids from the listing)."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=1000)


class ReplayAll(RequestBody):
    """Every dead-lettered email."""

    all: Literal[True]


@router.get("", response_model=Outbox, responses=problems())
def list_outbox(
    services: ServicesDep,
    state: Annotated[Literal["pending", "sent", "dead"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> Outbox:
    """The counts by status, then the newest emails (`status=dead`: the dead letters, with
    their last error)."""
    with services.reading() as session:
        counts = outbox.counts(session)
        rows = outbox.listing(session, status=state, limit=limit)
        return Outbox(counts=counts, emails=[OutboxEmail(**outbox.describe(row)) for row in rows])


@router.post("/replay", responses=problems())
def replay_outbox(body: ReplayIds | ReplayAll, services: ServicesDep) -> dict[str, int]:
    """Send dead-lettered emails again (`{"ids": [...]}` or `{"all": true}`): pending, due now,
    with a fresh retry window. The server's senders are woken at once."""
    ids = body.ids if isinstance(body, ReplayIds) else None
    with services.sessions() as session, session.begin():
        count = outbox.replay(session, ids=ids, now=datetime.now(UTC))
        if count:
            services.broadcast.publish_in(session, EMAIL, "due")
    return {"replayed": count}
