"""Starting conversations from any channel, recognising the customer by their identities."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from warmline.customers import service as identity
from warmline.domain.conversation import Conversation, Status
from warmline.domain.customer import Customer, Identity
from warmline.domain.events import IdentityVerified
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


def recognise_customer(
    session: Session, *, details: CustomerDetails, source: str = identity.TRUSTED
) -> Customer:
    """The known customer matching any of the details' identities, verified by `source`, or a
    new one; new identities are attached (`customers.service.recognise`)."""
    identities = details.identities()
    known = identity.recognise(session, identities=identities, source=source)
    if known is not None:
        return known
    return identity.create(
        session,
        identities=identities,
        source=source,
        name=details.name,
        tier=details.tier,
        plan=details.plan,
        lifetime_value=details.lifetime_value,
        attributes=details.attributes,
    )


def record_unverified_customer(session: Session, *, details: CustomerDetails) -> Customer:
    """A new customer from what an anonymous visitor said about themselves: the name, and the
    email and phone as unverified contact details. Nothing is matched against known customers
    and no identity is claimed (anyone can type anyone's email)."""
    contact = {kind: value for kind, value in (("email", details.email), ("phone", details.phone))}
    return customer_store.create_customer(
        session,
        name=details.name,
        attributes={"unverified_contact": {k: v for k, v in contact.items() if v}},
    )


def identity_signature(email: str, secret: str) -> str:
    """What a site that has signed its customer in sends with their email (HMAC-SHA256, hex):
    proof that the site, not whoever typed the address, says who this is."""
    message = f"warmline-identity:{email.strip().lower()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def user_hash(user_id: str, secret: str) -> str:
    """What a site sends with its signed-in customer's id: HMAC-SHA256 of the id with the
    identity secret, in hex (the same recipe as Intercom's `user_hash`)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def user_hash_matches(user_id: str, given: str, secret: str) -> bool:
    """Whether `given` is the site's hash of `user_id` (constant time)."""
    return hmac.compare_digest(user_hash(user_id, secret), given.strip().lower())


def open_web_conversation(session: Session, *, external_id: str) -> Conversation | None:
    """The latest unresolved web conversation of the customer with this id on the site."""
    customer = customer_store.find_by_identity(
        session, identity=Identity("external_id", external_id).normalised()
    )
    if customer is None:
        return None
    for row in store.recent_for_customer(session, customer_id=customer.id, exclude="", limit=5):
        if row.channel == "web" and row.status != Status.RESOLVED.value:
            return store.load_conversation(session, conversation_id=row.id)
    return None


def signature_matches(email: str, signature: str, secret: str) -> bool:
    """Whether `signature` is the site's signature of `email` (constant time)."""
    return hmac.compare_digest(identity_signature(email, secret), signature.strip().lower())


def start_conversation(
    session: Session,
    *,
    channel: str,
    details: CustomerDetails | None = None,
    verified: bool = True,
    signed: bool = False,
    conversation_id: str | None = None,
    source: str | None = None,
) -> Conversation:
    """Open a conversation, linked to the customer the details describe: recognised by their
    identities when the details come from a trusted source (`verified`), or recorded as said
    by an anonymous visitor otherwise. `signed`: the site vouched for the customer's email,
    so account data may be shown without a code (an `IdentityVerified` event).
    `conversation_id`: an id the channel chose (an email's, so a redelivery finds it), else a
    new random one. `source`: how the identities were verified (`customers.service.SOURCES`;
    by default "signed_email" when `signed`, else "trusted")."""
    if details is None:
        customer = None
    elif verified:
        how = source or (identity.SIGNED_EMAIL if signed else identity.TRUSTED)
        customer = recognise_customer(session, details=details, source=how)
    else:
        customer = record_unverified_customer(session, details=details)
    conversation = store.create_conversation(
        session,
        customer_id=customer.id if customer else None,
        channel=channel,
        conversation_id=conversation_id,
    )
    if signed:
        store.append_events(
            session, conversation=conversation, events=[IdentityVerified(method="signed")]
        )
    return conversation
