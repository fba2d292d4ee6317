"""Customer-facing endpoints: open a conversation, send messages, read it back. Views stay thin:
they validate, open the transaction, call the engine or a service, and shape the answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Header, Query, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from warmline.analytics.surveys import Answer, record_answer
from warmline.api.access import (
    CUSTOMER_ONLY,
    CUSTOMER_OR_STAFF,
    PUBLIC,
    STAFF,
    Caller,
    Role,
    allow,
)
from warmline.api.deps import ConversationId, ServicesDep
from warmline.api.limits import take
from warmline.api.monitoring import count_outcome
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import (
    ConversationCreated,
    ConversationIn,
    ConversationOut,
    EventsOut,
    FeedbackIn,
    FeedbackOut,
    MessageIn,
    MessageOut,
)
from warmline.api.services import Services
from warmline.channels.service import CustomerDetails, signature_matches, start_conversation
from warmline.domain.events import AnyEvent
from warmline.engine import ConversationBusy, ConversationNotFound, InboundMessage
from warmline.handoff.service import ConversationMissing, StateConflict
from warmline.storage import conversations as store
from warmline.storage.agents import agent_names
from warmline.storage.idempotency import IdempotencyConflict
from warmline.storage.models import ConversationRow

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
# What a customer sees of their own conversation: what was said and who joined or left, never
# the analysis, the decisions, the packet or the agents' notes.
CUSTOMER_VISIBLE = frozenset(
    {
        "customer_message",
        "bot_reply",
        "agent_message",
        "agent_assigned",
        "handed_back",
        "resolved",
        "reopened",
        "feedback",
    }
)
# Events by an agent, and the field naming them: shown with the agent's display name.
NAMED = {
    "agent_assigned": "agent",
    "agent_message": "agent",
    "handed_back": "agent",
    "note": "author",
    "resolved": "by",
    "reopened": "by",
}
IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=r"^[!-~]{1,200}$",
        description="Any 1-200 visible ASCII characters; a retry with the same key and body "
        "returns the first answer and stores nothing.",
    ),
]


TRUSTED_ONLY = ("tier", "plan", "lifetime_value", "external_id")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationCreated,
    responses=problems(401, 403, auth=False),
)
def create_conversation(
    body: ConversationIn,
    services: ServicesDep,
    caller: Annotated[Caller, allow(PUBLIC, read_credentials=True)],
) -> ConversationCreated:
    """Open a conversation; the returned token authorises the customer's later requests.

    Anyone may open one and leave a name, email and phone: they are kept as the customer said
    them, never matched against known customers (anyone can type anyone's email). Only staff
    and the API key (the business's own systems) may say who the customer is (`external_id`,
    and an email or phone that recognises a known customer) and what they are worth (`tier`,
    `plan`, `lifetime_value`), since these move a conversation up the queue."""
    trusted = caller.role in STAFF
    if body.customer and not trusted:
        claimed = [name for name in TRUSTED_ONLY if name in body.customer.model_fields_set]
        if claimed:
            raise Problem(
                403,
                f"Only staff or the API key may set {', '.join(claimed)}.",
                kind="forbidden",
            )
    signed = _signed(body, services.settings.identity_secret)
    details = CustomerDetails(**body.customer.model_dump()) if body.customer else None
    if details is not None and signed and not trusted and details.phone:
        # The site signed the email only: a phone typed beside it is what the visitor said.
        contact = {"unverified_contact": {"phone": details.phone}}
        details = replace(details, phone=None, attributes={**details.attributes, **contact})
    with services.sessions() as session, session.begin():
        conversation = start_conversation(
            session,
            channel=body.channel,
            details=details,
            verified=trusted or signed,
            signed=signed,
        )
    return ConversationCreated(
        id=conversation.id,
        token=services.conversation_token(conversation.id),
        customer_id=conversation.customer_id,
        status=conversation.status.value,
    )


def _signed(body: ConversationIn, secret: str | None) -> bool:
    """True when the request carries the site's valid signature of the customer's email; a
    signature that cannot be checked or does not match is refused, never ignored."""
    if body.identity_signature is None:
        return False
    email = body.customer.email if body.customer else None
    if email is None:
        raise Problem(
            403, "identity_signature needs customer.email, the address it signs.", kind="forbidden"
        )
    if secret is None:
        raise Problem(
            403,
            "Identity signatures are not accepted here (WARMLINE_IDENTITY_SECRET is unset).",
            kind="forbidden",
        )
    if not signature_matches(email, body.identity_signature, secret):
        raise Problem(403, "The identity signature does not match the email.", kind="forbidden")
    return True


@router.post(
    "/{conversation_id}/messages",
    response_model=MessageOut,
    responses=problems(404, 409),
    dependencies=[allow(CUSTOMER_ONLY)],
)
async def post_message(
    conversation_id: ConversationId,
    body: MessageIn,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> MessageOut:
    """Send a customer message (the conversation's own token only); the answer is the bot's
    reply or the handoff notice. The server's clock dates the message; a `ts` sent by the
    client is kept as `client_ts` for display."""
    limit = services.settings.max_message_chars
    if len(body.text) > limit:
        raise Problem(
            422, f"The message is longer than {limit} characters.", kind="message-too-long"
        )
    verdict = await take(
        services.buckets,
        f"conversation:{conversation_id}",
        services.conversation_limit(),
        blocking=services.shared_buckets,
    )
    if not verdict.allowed:
        raise Problem(
            429,
            "This conversation is sending messages too fast; retry later.",
            kind="too-many-requests",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    message = InboundMessage(
        conversation_id=conversation_id,
        text=body.text,
        channel=body.channel or "web",
        client_ts=body.ts,
        idempotency_key=idempotency_key,
    )
    try:
        async with services.conversation_turns.hold(conversation_id):
            outcome = await to_thread.run_sync(
                services.engine.handle, message, limiter=services.pipeline_slots
            )
    except ConversationBusy:
        raise Problem(
            409,
            "The conversation kept changing while this message was processed; send it again.",
            kind="conversation-busy",
            headers={"Retry-After": "1"},
        ) from None
    except ConversationNotFound:
        raise Problem(404, f"No conversation {conversation_id}.") from None
    except IdempotencyConflict:
        raise Problem(
            422,
            "This Idempotency-Key was already used with a different request body.",
            kind="idempotency-key-reused",
        ) from None
    if not outcome.replayed:
        count_outcome(outcome.response)
    return MessageOut(**outcome.response, replayed=outcome.replayed)


@router.post(
    "/{conversation_id}/feedback",
    response_model=FeedbackOut,
    responses=problems(404, 409),
    dependencies=[allow(CUSTOMER_ONLY)],
)
def give_feedback(
    conversation_id: ConversationId, body: FeedbackIn, services: ServicesDep
) -> FeedbackOut:
    """Answer the survey sent when the conversation was resolved (the conversation's own
    token). Answering again records the change; the same answer twice is a 409."""
    answer = Answer(
        csat=body.csat, nps=body.nps, felt_heard=body.felt_heard, comment=body.comment or None
    )
    try:
        with services.sessions() as session, session.begin():
            now = record_answer(session, conversation_id=conversation_id, answer=answer)
    except ConversationMissing:
        raise Problem(404, f"No conversation {conversation_id}.") from None
    except StateConflict as conflict:
        raise Problem(409, f"{str(conflict).capitalize()}.", kind="state-conflict") from None
    return FeedbackOut(**asdict(now))


@router.get("/{conversation_id}", response_model=ConversationOut, responses=problems(404))
def read_conversation(
    conversation_id: ConversationId,
    services: ServicesDep,
    caller: Annotated[Caller, allow(CUSTOMER_OR_STAFF)],
) -> ConversationOut:
    """A conversation's state and its event log: in full for staff; what was said and who
    joined for its customer."""
    with services.reading() as session:
        row = session.get(ConversationRow, conversation_id)
        if row is None:
            raise Problem(404, f"No conversation {conversation_id}.")
        events = store.load_events(session, conversation_id=conversation_id)
        shown = _shown(session, events, 1, caller)
    customer = caller.role is Role.CUSTOMER
    return ConversationOut(
        id=row.id,
        status=row.status,
        agent=row.agent,
        customer_id=row.customer_id,
        channel=row.channel,
        priority=None if customer else row.priority,
        events=shown,
    )


@router.get("/{conversation_id}/events", response_model=EventsOut, responses=problems(404))
async def conversation_events(
    conversation_id: ConversationId,
    services: ServicesDep,
    caller: Annotated[Caller, allow(CUSTOMER_OR_STAFF)],
    after: Annotated[int, Query(ge=0, le=10_000_000, description="Last seq already seen.")] = 0,
    wait: Annotated[
        float, Query(ge=0, le=30, description="Seconds to wait for new events (long poll).")
    ] = 0,
) -> EventsOut:
    """The events after `after` (what the caller may see), waiting up to `wait` seconds for
    some to arrive: a client without a socket stays up to date by asking again with the last
    `seq` it got. Wakes as soon as any worker stores an event in this conversation."""
    woken = services.watchers.register(conversation_id)
    try:
        found = await run_in_threadpool(events_after, services, conversation_id, after, caller)
        if found is None:
            raise Problem(404, f"No conversation {conversation_id}.")
        if not found.events and wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), wait)
            found = await run_in_threadpool(events_after, services, conversation_id, after, caller)
            assert found is not None  # conversations are never deleted
        return found
    finally:
        services.watchers.unregister(conversation_id, woken)


def events_after(
    services: Services, conversation_id: str, after: int, caller: Caller
) -> EventsOut | None:
    """The events after `after` that the caller may see (None: no such conversation)."""
    with services.reading() as session:
        head = store.head(session, conversation_id=conversation_id)
        if head is None:
            return None
        events = store.load_events(session, conversation_id=conversation_id, after_seq=after)
        shown = _shown(session, events, after + 1, caller)
    return EventsOut(events=shown, last_seq=max(head.seq, after + len(events)))


def _shown(
    session: Session, events: Sequence[AnyEvent], first_seq: int, caller: Caller
) -> list[dict[str, Any]]:
    """The events as JSON with their seq, only what the caller may see; an agent's events
    carry the agent's display name, so the customer sees who joined."""
    customer = caller.role is Role.CUSTOMER
    shown = [
        {"seq": seq, **event.model_dump(mode="json")}
        for seq, event in enumerate(events, first_seq)
        if not customer or event.type in CUSTOMER_VISIBLE
    ]
    named = {event.get(NAMED[event["type"]]) for event in shown if event["type"] in NAMED}
    named.discard(None)
    if named:
        names = agent_names(session, agent_ids={str(agent) for agent in named})
        for event in shown:
            if event["type"] in NAMED:
                event["agent_name"] = names.get(str(event.get(NAMED[event["type"]])))
    return shown
