"""Chatwoot's agent-bot webhook, read and checked: who sent it, which message it carries, and
which warmline conversation that is.

Chatwoot signs each webhook (`X-Chatwoot-Signature: sha256=<hex>`, an HMAC-SHA256 of
"<timestamp>.<body>" with the webhook's secret, and `X-Chatwoot-Timestamp`). A request without
a valid signature, or older than five minutes (a replay), is refused before anything is read.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

TOLERANCE_SECONDS = 300
_NAMESPACE = uuid.UUID("6f1c2a0e-4c1b-4d5e-9a55-0c8f6d6e7a10")


class Refused(Exception):
    """The webhook is not from Chatwoot, or too old."""


@dataclass(frozen=True)
class Incoming:
    """A customer's message in a conversation the bot handles."""

    account_id: int
    conversation_id: int
    message_id: int
    text: str
    contact_name: str | None
    contact_email: str | None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value Chatwoot sends for `body` at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> None:
    """Raise `Refused` unless the request is signed with `secret` within the tolerance."""
    if not timestamp or not signature:
        raise Refused("the webhook is not signed (X-Chatwoot-Signature, X-Chatwoot-Timestamp)")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise Refused("the webhook's timestamp is missing, malformed or too old")
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.strip().encode()):
        raise Refused("the webhook's signature does not match")


def incoming(payload: dict[str, Any]) -> Incoming | str:
    """The customer message the payload carries, or why it is not one the bot answers."""
    if payload.get("event") != "message_created":
        return f"event {payload.get('event')!r} is not a new message"
    if payload.get("message_type") != "incoming" or payload.get("private"):
        return "not a customer's message"
    conversation = payload.get("conversation") or {}
    if conversation.get("status") not in (None, "pending"):
        return "people handle this conversation"
    text = payload.get("content")
    account = (payload.get("account") or {}).get("id")
    ids = (account, conversation.get("id"), payload.get("id"))
    if not isinstance(text, str) or not text.strip():
        return "the message has no text"
    if not all(
        isinstance(value, int) or (isinstance(value, str) and value.isdigit()) for value in ids
    ):
        return "the payload names no account, conversation or message"
    sender = payload.get("sender") or conversation.get("meta", {}).get("sender") or {}
    return Incoming(
        account_id=int(ids[0]),  # type: ignore[arg-type]
        conversation_id=int(ids[1]),  # type: ignore[arg-type]
        message_id=int(ids[2]),  # type: ignore[arg-type]
        text=text,
        contact_name=sender.get("name") if isinstance(sender.get("name"), str) else None,
        contact_email=sender.get("email") if isinstance(sender.get("email"), str) else None,
    )


def conversation_key(base_url: str, account_id: int, conversation_id: int) -> str:
    """warmline's id for a Chatwoot conversation: the same every time, no table needed."""
    name = f"chatwoot:{base_url.rstrip('/')}:{account_id}:{conversation_id}"
    return uuid.uuid5(_NAMESPACE, name).hex


def packet_note(packet: dict[str, Any], reasons: list[str]) -> str:
    """The handoff packet as the private note an agent reads in Chatwoot."""
    lines = ["**Handed over by warmline**", ""]
    lines += [f"- {bullet}" for bullet in packet.get("bullets", [])]
    intent = (
        (packet.get("intent") or {}).get("intent")
        if isinstance(packet.get("intent"), dict)
        else packet.get("intent")
    )
    emotion = packet.get("emotion") or {}
    lines += ["", f"Intent: {intent or 'unknown'}"]
    if emotion:
        lines.append(
            f"Mood: now {emotion.get('now', 0):.0%}, peak {emotion.get('peak', 0):.0%}, "
            f"{emotion.get('trend', 'steady')}"
        )
    if reasons:
        lines.append("Why: " + "; ".join(reasons))
    if packet.get("suggested_first_line"):
        lines += ["", f"Suggested first line: {packet['suggested_first_line']}"]
    return "\n".join(lines)
