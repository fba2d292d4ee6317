"""Customer repository: profiles, and identities that recognise a person across channels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warmline.domain.customer import Customer, Identity
from warmline.domain.events import utc_now
from warmline.redaction import mask
from warmline.storage.conversations import new_id
from warmline.storage.db import keeps_contact_details
from warmline.storage.models import CustomerRow, IdentityRow


def create_customer(
    session: Session,
    *,
    name: str | None = None,
    tier: str | None = None,
    plan: str | None = None,
    lifetime_value: float = 0.0,
    attributes: dict[str, Any] | None = None,
    identities: Sequence[Identity] = (),
    customer_id: str | None = None,
    source: str = "trusted",
) -> Customer:
    """Insert a customer with its identities. Card numbers (and, unless the deployment keeps
    them, emails and phones) typed into the name, tier or plan are masked; the identities are
    where contact details belong, all verified (`source` says how)."""
    keep = keeps_contact_details(session)
    row = CustomerRow(
        id=customer_id or new_id(),
        name=mask(name, keep_contacts=keep) if name else name,
        tier=mask(tier, keep_contacts=keep) if tier else tier,
        plan=mask(plan, keep_contacts=keep) if plan else plan,
        lifetime_value=lifetime_value,
        attributes=dict(attributes or {}),
        created_at=utc_now(),
    )
    session.add(row)
    session.flush()
    for identity in identities:
        add_identity(session, customer_id=row.id, identity=identity, source=source)
    return get_customer(session, customer_id=row.id) or _never()


def add_identity(
    session: Session, *, customer_id: str, identity: Identity, source: str = "trusted"
) -> None:
    """Attach one verified identity (normalised) to a customer; `source`: how it was verified
    (`customers.service` names them)."""
    norm = identity.normalised()
    session.add(
        IdentityRow(
            customer_id=customer_id,
            kind=norm.kind,
            value=norm.value,
            source=source,
            verified_at=utc_now(),
        )
    )
    session.flush()


def find_by_identity(session: Session, *, identity: Identity) -> Customer | None:
    """The customer known by this email, phone or external id, if any."""
    norm = identity.normalised()
    customer_id = session.scalars(
        select(IdentityRow.customer_id).where(
            IdentityRow.kind == norm.kind, IdentityRow.value == norm.value
        )
    ).first()
    return get_customer(session, customer_id=customer_id) if customer_id else None


def get_customer(session: Session, *, customer_id: str) -> Customer | None:
    """A customer with its identities."""
    row = session.get(CustomerRow, customer_id)
    if row is None:
        return None
    identities = session.scalars(
        select(IdentityRow).where(IdentityRow.customer_id == row.id).order_by(IdentityRow.id)
    )
    return Customer(
        id=row.id,
        name=row.name,
        tier=row.tier,
        plan=row.plan,
        lifetime_value=row.lifetime_value,
        attributes=dict(row.attributes or {}),
        identities=[Identity(kind=i.kind, value=i.value) for i in identities],
    )


def _never() -> Customer:
    raise RuntimeError("customer vanished inside its own transaction")
