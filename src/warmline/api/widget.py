"""The chat widget's sign-in: a site that has signed its customer in vouches for them with an
HMAC of their id (as Intercom's `user_hash` and Chatwoot's `identifier_hash`), and the
widget gets that customer's open web conversation back on any device, or a new one.

Only the id is vouched for: a name or email sent beside it is kept as what the site said,
never used to recognise a customer (a valid hash for one's own id must not open someone
else's account by naming their email), unless the site also signs the email
(`email_signature`): then it is a verified identifier of the customer (docs/customers.md),
given to them when nobody else holds it, never a reason to open someone else's conversation.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from warmline.api.access import PUBLIC, Caller, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import WidgetSessionIn, WidgetSessionOut
from warmline.channels.service import (
    CustomerDetails,
    open_web_conversation,
    signature_matches,
    start_conversation,
    user_hash_matches,
)
from warmline.customers import service as identity
from warmline.domain.customer import Identity

router = APIRouter(prefix="/api/v1/widget", tags=["widget"])


@router.post("/session", response_model=WidgetSessionOut, responses=problems(403, auth=False))
def widget_session(
    body: WidgetSessionIn,
    services: ServicesDep,
    caller: Annotated[Caller, allow(PUBLIC)],
) -> WidgetSessionOut:
    """The signed-in customer's open web conversation (`resumed`), or a new one; 403 when the
    hash does not match or identity checks are off (`WARMLINE_IDENTITY_SECRET` unset)."""
    secret = services.settings.identity_secret
    if secret is None:
        raise Problem(
            403,
            "Signed-in customers are not accepted here (WARMLINE_IDENTITY_SECRET is unset).",
            kind="identity-not-accepted",
        )
    if not user_hash_matches(body.user_id, body.user_hash, secret):
        raise Problem(
            403, "The user_hash does not match the user_id.", kind="identity-not-verified"
        )
    if body.email_signature is not None and not (
        body.email and signature_matches(body.email, body.email_signature, secret)
    ):
        raise Problem(
            403, "The email_signature does not match the email.", kind="identity-not-verified"
        )
    contact = {"unverified_contact": {"email": body.email}} if body.email else {}
    details = CustomerDetails(name=body.name, external_id=body.user_id, attributes=contact)
    with services.sessions() as session, session.begin():
        resumed = open_web_conversation(session, external_id=body.user_id)
        conversation = resumed or start_conversation(
            session,
            channel="web",
            details=details,
            verified=True,
            signed=True,
            source=identity.SIGNED_ID,
        )
        if body.email and body.email_signature and conversation.customer_id:
            identity.attach(
                session,
                customer_id=conversation.customer_id,
                identities=[Identity("email", body.email)],
                source=identity.SIGNED_EMAIL,
            )
    return WidgetSessionOut(
        conversation_id=conversation.id,
        token=services.conversation_token(conversation.id),
        resumed=resumed is not None,
    )
