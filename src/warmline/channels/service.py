"""Starting conversations from any channel, recognising the customer by their identities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer, Identity
from warmline.storage import conversations as store
from warmline.storage import customers as customer_store


@dataclass(frozen=True)
class CustomerDetails:
    """What a channel knows about the person writing in."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    tier: str | None = None
    plan: str | None = None
    lifetime_value: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)

    def identities(self) -> list[Identity]:
        """The identities given, in order of reliability."""
        pairs = (("external_id", self.external_id), ("email", self.email), ("phone", self.phone))
        return [Identity(kind, value) for kind, value in pairs if value]


def recognise_customer(session: Session, *, details: CustomerDetails) -> Customer:
    """The known customer matching any identity, or a new one; new identities are attached."""
    identities = details.identities()
    for identity in identities:
        known = customer_store.find_by_identity(session, identity=identity)
        if known is not None:
            have = {(i.kind, i.value) for i in known.identities}
            for extra in identities:
                norm = extra.normalised()
                if (norm.kind, norm.value) not in have and not customer_store.find_by_identity(
                    session, identity=norm
                ):
                    customer_store.add_identity(session, customer_id=known.id, identity=norm)
            return customer_store.get_customer(session, customer_id=known.id) or known
    return customer_store.create_customer(
        session,
        name=details.name,
        tier=details.tier,
        plan=details.plan,
        lifetime_value=details.lifetime_value,
        attributes=details.attributes,
        identities=identities,
    )


def start_conversation(
    session: Session, *, channel: str, details: CustomerDetails | None = None
) -> Conversation:
    """Open a conversation, linked to the recognised customer when details are given."""
    customer = recognise_customer(session, details=details) if details else None
    return store.create_conversation(
        session, customer_id=customer.id if customer else None, channel=channel
    )
