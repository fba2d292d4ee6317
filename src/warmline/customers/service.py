"""Identity resolution, confirmation, merging (docs/customers.md).

The rule: only a verified identifier recognises a customer. Verified means one of the `SOURCES`:
staff or the API key said so (`trusted`), the site signed the customer's id (`signed_id`, the
widget's `user_hash`) or email (`signed_email`), the customer answered by email in a thread only
warmline could have started (`email_reply`: they read mail at that address), or an
administrator marked it (`admin`). Anything else a channel learns (an email's `From`, what a
visitor typed, a Chatwoot contact's email) is an unverified contact detail: kept in the
customer's attributes, never matched, so it always makes or keeps a separate customer.

Two customer records are never merged behind anyone's back. One exception, which is not a merge
of two known customers: a record with no verified identifier at all (an email's sender, a
visitor) whose person then proves an identifier another customer holds is *linked* to that
customer: its conversations move there, it is marked merged, and both audit logs say so. A
verified identifier held by a customer that has verified identifiers of its own is a conflict:
nothing moves, the conflict is logged once, and an administrator decides (`merge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from warmline.customers import store as records
from warmline.domain.conversation import Status
from warmline.domain.customer import Customer, Identity
from warmline.domain.events import HandedOff
from warmline.redaction import mask
from warmline.storage import conversations as conversation_store
from warmline.storage import customers as customer_store
from warmline.storage.models import ConversationRow

TRUSTED = "trusted"
SIGNED_ID = "signed_id"
SIGNED_EMAIL = "signed_email"
EMAIL_REPLY = "email_reply"
ADMIN = "admin"
SOURCES = (TRUSTED, SIGNED_ID, SIGNED_EMAIL, EMAIL_REPLY, ADMIN)
KINDS = ("external_id", "email", "phone")
SYSTEM = "system"


class CustomerRefused(Exception):
    """A request about customers that is refused: `status` is the HTTP status it maps to,
    `kind` the problem type."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.extra = extra


# -- resolution -------------------------------------------------------------------------------


def recognise(session: Session, *, identities: Sequence[Identity], source: str) -> Customer | None:
    """The known customer these verified identifiers name (the one of the most reliable
    identifier: external id, then email, then phone), with the identifiers nobody holds yet
    attached to them. An identifier held by another customer stays there and the conflict is
    logged for an administrator. None when no identifier is known."""
    given = _distinct(identities)
    chosen = next(
        (owner for owner in (records.owner_of(session, i) for i in given) if owner is not None),
        None,
    )
    if chosen is None:
        return None
    attach(session, customer_id=chosen, identities=given, source=source)
    return customer_store.get_customer(session, customer_id=chosen)


def attach(
    session: Session, *, customer_id: str, identities: Sequence[Identity], source: str
) -> None:
    """Give the customer these verified identifiers, those nobody holds yet; one held by
    another customer stays there and the conflict is logged once (never a silent merge)."""
    for identity in _distinct(identities):
        owner = records.owner_of(session, identity)
        if owner is None:
            _add_verified(session, customer_id, identity, source, actor=SYSTEM)
        elif owner != customer_id:
            _conflict(
                session, customer_id=customer_id, identity=identity, held_by=owner, source=source
            )


def create(
    session: Session,
    *,
    identities: Sequence[Identity],
    source: str,
    name: str | None = None,
    tier: str | None = None,
    plan: str | None = None,
    lifetime_value: float = 0.0,
    attributes: dict[str, Any] | None = None,
) -> Customer:
    """A new customer with these verified identifiers (none of them held by anyone)."""
    return customer_store.create_customer(
        session,
        name=name,
        tier=tier,
        plan=plan,
        lifetime_value=lifetime_value,
        attributes=attributes,
        identities=_distinct(identities),
        source=source,
    )


def confirm(
    session: Session,
    *,
    customer_id: str,
    identity: Identity,
    source: str,
    actor: str = SYSTEM,
    reason: str | None = None,
) -> str:
    """The person behind `customer_id` proved `identity` after the fact (an email answered in
    our thread). Returns the id of the customer they are now: the same one, with the identifier
    attached, or, when another customer already holds it and this record has no verified
    identifier of its own, that customer, to whom this record's conversations were linked.
    When both records have verified identifiers, nothing moves and the conflict is logged."""
    norm = identity.normalised()
    owner = records.owner_of(session, norm)
    if owner == customer_id:
        return customer_id
    if owner is None:
        _add_verified(session, customer_id, norm, source, actor=actor, reason=reason)
        return customer_id
    rows = {row.id: row for row in records.customer_rows(session, [customer_id, owner], lock=True)}
    mine, theirs = rows.get(customer_id), rows.get(owner)
    if mine is not None and mine.merged_into == owner:
        return owner  # linked a moment ago, by another email of the same thread
    anonymous = (
        mine is not None
        and mine.merged_into is None
        and not records.identity_rows(session, customer_id=customer_id)
    )
    if not anonymous or theirs is None or theirs.merged_into is not None:
        _conflict(session, customer_id=customer_id, identity=norm, held_by=owner, source=source)
        return customer_id
    assert mine is not None
    moved = records.move_conversations(session, source=customer_id, target=owner)
    mine.merged_into = owner
    detail = {
        "from": customer_id,
        "into": owner,
        "conversations": moved,
        "proved": _identity_detail(norm, source),
    }
    why = reason or f"the customer proved the {norm.kind} another customer holds ({source})"
    records.record(
        session, customer_id=owner, kind="linked", actor=actor, reason=why, detail=detail
    )
    records.record(
        session, customer_id=customer_id, kind="merged_into", actor=actor, reason=why, detail=detail
    )
    return owner


# -- administration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    """What an administrator's merge moved."""

    customer_id: str
    merged_from: str
    identities: list[dict[str, str]]
    conversations: list[str]


def merge(
    session: Session, *, into: str, source: str, actor: str, reason: str | None = None
) -> Merged:
    """Merge customer `source` into customer `into`: its identities and conversations move,
    the profile's gaps are filled from it, it is marked merged, and both audit logs record who,
    when, what moved and why. Refused: the same customer twice, an unknown id, a customer
    already merged, or two different external ids (two accounts on the site: a merge would let
    either sign-in resume the other's chat)."""
    if into == source:
        raise CustomerRefused(409, "merge-into-itself", "A customer cannot be merged into itself.")
    rows = {row.id: row for row in records.customer_rows(session, [into, source], lock=True)}
    for customer_id in (into, source):
        if customer_id not in rows:
            raise CustomerRefused(404, "customer-not-found", f"There is no customer {customer_id}.")
        merged_into = rows[customer_id].merged_into
        if merged_into is not None:
            raise CustomerRefused(
                409,
                "already-merged",
                f"Customer {customer_id} was already merged into {merged_into}.",
                merged_into=merged_into,
            )
    target, old = rows[into], rows[source]
    theirs = records.identity_rows(session, customer_id=source)
    site_ids = {
        row.value
        for row in (*records.identity_rows(session, customer_id=into), *theirs)
        if row.kind == "external_id"
    }
    if len(site_ids) > 1:
        raise CustomerRefused(
            409,
            "conflicting-identities",
            "Both customers have their own id on the site (external_id): they are two accounts "
            "there, and merging them would let either sign-in open the other's conversations.",
        )
    moved_identities = [
        {"kind": row.kind, "value": mask(row.value), "source": row.source}
        for row in records.move_identities(session, source=source, target=into)
    ]
    moved = records.move_conversations(session, source=source, target=into)
    for name in ("name", "tier", "plan"):
        if getattr(target, name) is None and getattr(old, name) is not None:
            setattr(target, name, getattr(old, name))
    target.lifetime_value = max(target.lifetime_value or 0.0, old.lifetime_value or 0.0)
    attributes = dict(old.attributes or {})
    attributes.update(target.attributes or {})
    target.attributes = attributes
    old.merged_into = into
    session.flush()
    detail = {
        "from": source,
        "into": into,
        "identities": moved_identities,
        "conversations": moved,
    }
    records.record(
        session, customer_id=into, kind="merged", actor=actor, reason=reason, detail=detail
    )
    records.record(
        session, customer_id=source, kind="merged_into", actor=actor, reason=reason, detail=detail
    )
    return Merged(into, source, moved_identities, moved)


def mark_verified(
    session: Session, *, customer_id: str, identity: Identity, actor: str, reason: str | None = None
) -> bool:
    """An administrator (or the business's systems with the API key) says this identifier is
    the customer's, verified. True when it was attached, False when the customer already had
    it. Refused when another customer holds it (merge them instead) or the customer is unknown
    or merged."""
    norm = identity.normalised()
    if norm.kind not in KINDS or not _valid(norm):
        raise CustomerRefused(422, "invalid-identity", f"That is not a valid {norm.kind}.")
    rows = records.customer_rows(session, [customer_id], lock=True)
    if not rows:
        raise CustomerRefused(404, "customer-not-found", f"There is no customer {customer_id}.")
    if rows[0].merged_into is not None:
        raise CustomerRefused(
            409,
            "already-merged",
            f"Customer {customer_id} was merged into {rows[0].merged_into}.",
            merged_into=rows[0].merged_into,
        )
    owner = records.owner_of(session, norm)
    if owner == customer_id:
        return False
    if owner is not None:
        raise CustomerRefused(
            409,
            "identity-held",
            f"Another customer ({owner}) holds this {norm.kind}; merge the two customers if "
            "they are the same person.",
            held_by=owner,
        )
    _add_verified(session, customer_id, norm, ADMIN, actor=actor, reason=reason)
    return True


# -- reading ----------------------------------------------------------------------------------


def describe(session: Session, *, customer_id: str) -> dict[str, Any] | None:
    """A customer as the console and the API show it: the profile, verified identities (how
    and when), unverified contact details, every conversation on every channel (channel, time,
    intent, outcome), what it was merged into, and its audit log."""
    customer = customer_store.get_customer(session, customer_id=customer_id)
    if customer is None:
        return None
    rows = records.customer_rows(session, [customer_id])
    identities: list[dict[str, Any]] = [
        {
            "kind": row.kind,
            "value": row.value,
            "verified": True,
            "source": row.source,
            "verified_at": row.verified_at.isoformat() if row.verified_at else None,
        }
        for row in records.identity_rows(session, customer_id=customer_id)
    ]
    contact = customer.attributes.get("unverified_contact")
    if isinstance(contact, dict):
        identities += [
            {"kind": kind, "value": value, "verified": False, "source": "said", "verified_at": None}
            for kind, value in contact.items()
            if isinstance(value, str) and value
        ]
    return {
        "id": customer.id,
        "name": customer.name,
        "tier": customer.tier,
        "plan": customer.plan,
        "lifetime_value": customer.lifetime_value,
        "merged_into": rows[0].merged_into if rows else None,
        "identities": identities,
        "conversations": [
            conversation_summary(session, row)
            for row in records.conversations_of(session, customer_id=customer_id)
        ],
        "events": [
            event.as_dict() for event in records.audit_log(session, customer_id=customer_id)
        ],
    }


def conversation_summary(session: Session, row: ConversationRow) -> dict[str, Any]:
    """One conversation in a customer's history: channel, when, intent and outcome."""
    conversation = conversation_store.load_conversation(session, conversation_id=row.id)
    handed_over = bool(conversation and conversation.of_type(HandedOff))
    return {
        "id": row.id,
        "channel": row.channel,
        "started": row.created_at.isoformat(),
        "status": row.status,
        "intent": conversation.last_intent if conversation else None,
        "outcome": outcome(row.status, handed_over),
    }


def outcome(status: str, handed_over: bool) -> str:
    """How a conversation ended, or where it stands: resolved by the bot or by a person,
    with a person, or open with the bot."""
    if status == Status.RESOLVED.value:
        return "resolved_by_person" if handed_over else "resolved_by_bot"
    return "with_person" if handed_over else "open"


# -- helpers ----------------------------------------------------------------------------------


def _distinct(identities: Sequence[Identity]) -> list[Identity]:
    seen: dict[tuple[str, str], Identity] = {}
    for identity in identities:
        norm = identity.normalised()
        if norm.value:
            seen.setdefault((norm.kind, norm.value), norm)
    return list(seen.values())


def _valid(identity: Identity) -> bool:
    value = identity.value
    if not value or len(value) > 320:
        return False
    if identity.kind == "email":
        local, at, domain = value.partition("@")
        return bool(local and at and "." in domain and " " not in value and "@" not in domain)
    if identity.kind == "phone":
        return 5 <= sum(ch.isdigit() for ch in value) <= 20
    return len(value) <= 200


def _add_verified(
    session: Session,
    customer_id: str,
    identity: Identity,
    source: str,
    *,
    actor: str,
    reason: str | None = None,
) -> None:
    """Attach a verified identifier nobody holds, with its `identity_verified` audit event."""
    customer_store.add_identity(session, customer_id=customer_id, identity=identity, source=source)
    records.record(
        session,
        customer_id=customer_id,
        kind="identity_verified",
        actor=actor,
        reason=reason,
        detail=_identity_detail(identity, source),
    )


def _identity_detail(identity: Identity, source: str) -> dict[str, str]:
    return {"kind": identity.kind, "value": mask(identity.value), "source": source}


def _conflict(
    session: Session, *, customer_id: str, identity: Identity, held_by: str, source: str
) -> None:
    """Log, once, that this customer's verified identifier is held by another customer."""
    detail = {**_identity_detail(identity, source), "held_by": held_by}
    if not records.has_entry(
        session, customer_id=customer_id, kind="identity_conflict", detail=detail
    ):
        records.record(
            session,
            customer_id=customer_id,
            kind="identity_conflict",
            actor=SYSTEM,
            reason="a verified identifier of this customer is held by another customer",
            detail=detail,
        )
