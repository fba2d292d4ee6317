"""Repository of the customers domain: the audit log, the owners of identifiers, the
customer's conversations, and an email conversation's own reply address. Takes the session,
never commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from warmline.domain.customer import Identity
from warmline.domain.events import utc_now
from warmline.storage.models import ConversationRow, CustomerEventRow, CustomerRow, IdentityRow


@dataclass(frozen=True)
class AuditEvent:
    """One entry of a customer's audit log."""

    kind: str
    actor: str
    reason: str | None
    detail: dict[str, Any]
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "actor": self.actor,
            "reason": self.reason,
            "detail": self.detail,
            "at": self.at.isoformat(),
        }


def record(
    session: Session,
    *,
    customer_id: str,
    kind: str,
    actor: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to a customer's audit log."""
    session.add(
        CustomerEventRow(
            customer_id=customer_id,
            kind=kind,
            actor=actor[:100],
            reason=reason[:500] if reason else reason,
            detail=dict(detail or {}),
            at=utc_now(),
        )
    )
    session.flush()


def audit_log(session: Session, *, customer_id: str) -> list[AuditEvent]:
    """A customer's audit log, oldest first."""
    rows = session.scalars(
        select(CustomerEventRow)
        .where(CustomerEventRow.customer_id == customer_id)
        .order_by(CustomerEventRow.id)
    )
    return [AuditEvent(r.kind, r.actor, r.reason, dict(r.detail or {}), r.at) for r in rows]


def has_entry(session: Session, *, customer_id: str, kind: str, detail: dict[str, Any]) -> bool:
    """Whether the log already holds an entry of this kind with this detail (conflicts are
    recorded once, not at every sign-in)."""
    return any(
        e.kind == kind and e.detail == detail for e in audit_log(session, customer_id=customer_id)
    )


def owner_of(session: Session, identity: Identity) -> str | None:
    """The id of the customer holding this verified identifier, if any."""
    norm = identity.normalised()
    return session.scalars(
        select(IdentityRow.customer_id).where(
            IdentityRow.kind == norm.kind, IdentityRow.value == norm.value
        )
    ).first()


def identity_rows(session: Session, *, customer_id: str) -> list[IdentityRow]:
    """A customer's identities as stored (with how and when each was verified)."""
    return list(
        session.scalars(
            select(IdentityRow)
            .where(IdentityRow.customer_id == customer_id)
            .order_by(IdentityRow.id)
        )
    )


def customer_rows(session: Session, ids: Iterable[str], *, lock: bool = False) -> list[CustomerRow]:
    """The customer rows with these ids (in id order, so two merges lock in the same order);
    with `lock`, held until commit (`FOR UPDATE` on PostgreSQL; SQLite writes one at a time)."""
    query = select(CustomerRow).where(CustomerRow.id.in_(sorted(set(ids)))).order_by(CustomerRow.id)
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def conversations_of(
    session: Session, *, customer_id: str, limit: int = 200
) -> list[ConversationRow]:
    """The customer's conversations on every channel, newest first."""
    return list(
        session.scalars(
            select(ConversationRow)
            .where(ConversationRow.customer_id == customer_id)
            .order_by(ConversationRow.created_at.desc(), ConversationRow.id)
            .limit(limit)
        )
    )


def move_conversations(session: Session, *, source: str, target: str) -> list[str]:
    """Hang every conversation of `source` off `target`; returns their ids. Conversations are
    read with their customer id every time (`storage.states`), so no cache goes stale."""
    ids = list(
        session.scalars(
            select(ConversationRow.id)
            .where(ConversationRow.customer_id == source)
            .order_by(ConversationRow.created_at, ConversationRow.id)
        )
    )
    if ids:
        session.execute(
            update(ConversationRow)
            .where(ConversationRow.customer_id == source)
            .values(customer_id=target)
        )
    return ids


def move_identities(session: Session, *, source: str, target: str) -> list[IdentityRow]:
    """Give every identity of `source` to `target`; returns them."""
    rows = identity_rows(session, customer_id=source)
    for row in rows:
        row.customer_id = target
    session.flush()
    return rows


def set_reply_to(session: Session, *, conversation_id: str, address: str) -> None:
    """Remember the address an email conversation writes back to."""
    session.execute(
        update(ConversationRow)
        .where(ConversationRow.id == conversation_id)
        .values(reply_to=address)
    )


def reply_to(session: Session, *, conversation_id: str) -> str | None:
    """The address an email conversation writes back to (None for conversations opened before
    it was kept: their customer's address is used)."""
    return session.scalars(
        select(ConversationRow.reply_to).where(ConversationRow.id == conversation_id)
    ).first()
