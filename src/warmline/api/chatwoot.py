"""Chatwoot's agent-bot webhook: each new customer message in a conversation the bot handles
goes through the engine like a chat message; the answer goes back through Chatwoot's API, and
a handover opens the conversation for Chatwoot's agents with the packet as a private note.

Chatwoot may deliver a webhook twice: the message id is the idempotency key, so the engine
stores the message once; the answer is sent again on a repeat (Chatwoot repeats only when it
did not get our answer, which may mean ours did not reach it either).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Header, Request
from sqlalchemy.exc import IntegrityError

from warmline.api.access import PUBLIC, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.services import Services
from warmline.channels.chatwoot.client import ChatwootClient, ChatwootUnavailable
from warmline.channels.chatwoot.protocol import (
    Incoming,
    Refused,
    conversation_key,
    incoming,
    packet_note,
    verify,
)
from warmline.channels.service import CustomerDetails, record_unverified_customer
from warmline.domain.events import Resolved
from warmline.engine import ConversationBusy, InboundMessage, Outcome
from warmline.handoff.service import current_packet
from warmline.storage import conversations as store

router = APIRouter(prefix="/api/v1/channels/chatwoot", tags=["channels"])
CHANNEL = "chatwoot"


@router.post(
    "/webhook",
    dependencies=[allow(PUBLIC)],
    responses=problems(401, 404, 409, 422, 502, auth=False),
)
async def chatwoot_webhook(
    request: Request,
    services: ServicesDep,
    x_chatwoot_signature: Annotated[str | None, Header(max_length=200)] = None,
    x_chatwoot_timestamp: Annotated[str | None, Header(max_length=20)] = None,
) -> dict[str, Any]:
    """The agent bot's webhook (set it as the bot's URL in Chatwoot). Signed requests only."""
    settings = services.settings
    if not (
        settings.chatwoot_url and settings.chatwoot_bot_token and settings.chatwoot_webhook_secret
    ):
        raise Problem(
            404, "The Chatwoot integration is off (docs/chatwoot.md).", kind="not-enabled"
        )
    body = await request.body()
    try:
        verify(
            settings.chatwoot_webhook_secret.get_secret_value(),
            body,
            x_chatwoot_timestamp,
            x_chatwoot_signature,
            time.time(),
        )
    except Refused as refused:
        raise Problem(401, f"{str(refused).capitalize()}.", kind="bad-signature") from None
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Problem(422, "The webhook body is not JSON.", kind="invalid-body") from None
    message = incoming(payload) if isinstance(payload, dict) else "the body is not an object"
    if isinstance(message, str):
        return {"handled": False, "why": message}
    conversation_id = await to_thread.run_sync(_conversation_for, services, message)
    outcome = await _understand(services, conversation_id, message)
    try:
        await to_thread.run_sync(_answer, services, message, outcome)
    except ChatwootUnavailable as failure:
        raise Problem(
            502, f"Chatwoot did not take the answer ({failure}).", kind="chatwoot-unavailable"
        ) from None
    return {
        "handled": True,
        "conversation_id": conversation_id,
        "escalated": bool(outcome.response.get("escalated")),
        "replayed": outcome.replayed,
    }


def _conversation_for(services: Services, message: Incoming) -> str:
    """warmline's conversation for the Chatwoot one, created on its first message. The
    contact's name and email are kept as said, never matched against known customers."""
    base = services.settings.chatwoot_url or ""
    key = conversation_key(base, message.account_id, message.conversation_id)
    with services.sessions() as session, session.begin():
        if store.head(session, conversation_id=key) is not None:
            return key
    details = CustomerDetails(name=message.contact_name, email=message.contact_email)
    try:
        with services.sessions() as session, session.begin():
            customer = record_unverified_customer(session, details=details)
            store.create_conversation(
                session, customer_id=customer.id, channel=CHANNEL, conversation_id=key
            )
    except IntegrityError:
        pass  # a webhook for the same new conversation created it first
    return key


async def _understand(services: Services, conversation_id: str, message: Incoming) -> Outcome:
    inbound = InboundMessage(
        conversation_id=conversation_id,
        text=message.text[: services.settings.max_message_chars],
        channel=CHANNEL,
        idempotency_key=f"chatwoot:{message.message_id}",
    )
    try:
        async with services.conversation_turns.hold(conversation_id):
            return await to_thread.run_sync(
                services.engine.handle, inbound, limiter=services.pipeline_slots
            )
    except ConversationBusy:
        raise Problem(409, "The conversation is busy; retry.", kind="conversation-busy") from None


def _answer(services: Services, message: Incoming, outcome: Outcome) -> None:
    """Send the reply; on a handover also the packet as a private note, then open the
    conversation for people; when the bot closed it (a calm goodbye), resolve it there too."""
    settings = services.settings
    assert settings.chatwoot_url and settings.chatwoot_bot_token  # checked by the view
    client = ChatwootClient(settings.chatwoot_url, settings.chatwoot_bot_token.get_secret_value())
    try:
        reply = outcome.response.get("reply")
        if reply:
            client.reply(message.account_id, message.conversation_id, str(reply))
        if outcome.response.get("escalated"):
            with services.reading() as session:
                _, packet = current_packet(session, conversation_id=outcome.conversation_id)
            reasons = [
                str(r.get("detail") or r.get("trigger"))
                for r in outcome.response.get("reasons", [])
            ]
            client.note(message.account_id, message.conversation_id, packet_note(packet, reasons))
            client.open_for_people(message.account_id, message.conversation_id)
        elif any(isinstance(event, Resolved) for event in outcome.events):
            client.resolve(message.account_id, message.conversation_id)
    finally:
        client.close()
