"""Customers across channels (docs/customers.md): a customer with their identities (verified or
not, and how), every conversation on every channel, and the audit log; administrators merge
two customer records and mark an identifier verified."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import Field, field_validator

from warmline.api.access import ADMIN_ONLY, STAFF, Caller, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import EMAIL_PATTERN, VISIBLE_PATTERN, RequestBody, text_field
from warmline.customers import service
from warmline.domain.customer import Identity

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,36}$"
PHONE_PATTERN = r"^[+(). -]{0,20}([0-9][+(). -]{0,20}){5,20}$"
CustomerId = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, description="The customer's id.")]


class MergeIn(RequestBody):
    """Merge another customer record into this one."""

    from_: str = Field(
        alias="from",
        pattern=CUSTOMER_ID_PATTERN,
        description="The customer merged into the one in the path (it is marked merged).",
    )
    reason: str = text_field(max_length=500, min_length=1, visible=True)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        return _visible(text)


class _IdentityIn(RequestBody):
    """An identifier the business has verified for this customer."""

    verified: Literal[True] = Field(
        description="Always true: only verified identifiers are attached (an unverified "
        "contact detail never recognises anyone)."
    )
    reason: str | None = text_field(None, max_length=500)


class EmailIdentityIn(_IdentityIn):
    """A verified email address."""

    kind: Literal["email"]
    value: str = Field(max_length=254, pattern=EMAIL_PATTERN)


class PhoneIdentityIn(_IdentityIn):
    """A verified phone number: 5 to 20 digits, with +, spaces, dots, dashes, brackets."""

    kind: Literal["phone"]
    value: str = Field(max_length=40, pattern=PHONE_PATTERN)


class ExternalIdIn(_IdentityIn):
    """The customer's id on the site."""

    kind: Literal["external_id"]
    value: str = text_field(max_length=200, min_length=1, visible=True)

    @field_validator("value")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        return _visible(text)


# Not a pydantic discriminated union: the request bodies' text check runs before validation.
IdentityIn = EmailIdentityIn | PhoneIdentityIn | ExternalIdIn


def _visible(text: str) -> str:
    if not re.match(VISIBLE_PATTERN, text):
        raise ValueError("the text is empty")
    return text.strip()


def _refused(error: service.CustomerRefused) -> Problem:
    return Problem(error.status, str(error), kind=error.kind, **error.extra)


def _actor(caller: Caller) -> str:
    return f"{caller.role.value}:{caller.agent_id or 'api-key'}"


@router.get("/{customer_id}", responses=problems(404))
def get_customer(
    customer_id: CustomerId,
    services: ServicesDep,
    _caller: Annotated[Caller, allow(STAFF)],
) -> dict[str, Any]:
    """The customer: profile, identities (`verified`, `source`, `verified_at`; unverified
    contact details with `verified: false`), every conversation on every channel (channel,
    time, intent, outcome), `merged_into` when merged, and the audit log (`events`)."""
    with services.reading() as session, session.begin():
        found = service.describe(session, customer_id=customer_id)
    if found is None:
        raise Problem(404, f"There is no customer {customer_id}.", kind="customer-not-found")
    return found


@router.post("/{customer_id}/merge", responses=problems(404, 409))
def merge_customers(
    customer_id: CustomerId,
    body: MergeIn,
    services: ServicesDep,
    caller: Annotated[Caller, allow(ADMIN_ONLY)],
) -> dict[str, Any]:
    """Merge customer `from` into this one (admins only): its identities and conversations
    move here, it is marked merged, and the audit log of both records says who, when, what
    moved and why. Refused: an unknown id (404); itself, a customer already merged, or two
    different site ids (409)."""
    try:
        with services.sessions() as session, session.begin():
            merged = service.merge(
                session,
                into=customer_id,
                source=body.from_,
                actor=_actor(caller),
                reason=body.reason,
            )
            found = service.describe(session, customer_id=customer_id)
    except service.CustomerRefused as error:
        raise _refused(error) from None
    return {
        "merged_from": merged.merged_from,
        "identities_moved": merged.identities,
        "conversations_moved": merged.conversations,
        "customer": found,
    }


@router.post("/{customer_id}/identities", responses=problems(404, 409, 422))
def add_verified_identity(
    customer_id: CustomerId,
    body: IdentityIn,
    services: ServicesDep,
    caller: Annotated[Caller, allow(ADMIN_ONLY)],
) -> dict[str, Any]:
    """Attach an identifier the business has verified (admins and the API key only); it then
    recognises the customer on every channel. Refused when another customer holds it (409:
    merge them if they are the same person)."""
    try:
        with services.sessions() as session, session.begin():
            added = service.mark_verified(
                session,
                customer_id=customer_id,
                identity=Identity(body.kind, body.value),
                actor=_actor(caller),
                reason=body.reason,
            )
            found = service.describe(session, customer_id=customer_id)
    except service.CustomerRefused as error:
        raise _refused(error) from None
    return {"added": added, "customer": found}
