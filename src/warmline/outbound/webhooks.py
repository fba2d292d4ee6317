"""Outbound webhooks with the Standard Webhooks signature scheme (the `standardwebhooks`
package): what each stored event becomes, how a message is signed, and the dispatcher that
fans events out to receivers and delivers them from the durable outbox.

Every message carries `webhook-id` (stable across retries, so a receiver can drop a repeat),
`webhook-timestamp` and `webhook-signature` (HMAC-SHA256 with the receiver's secret, which
is derived from WARMLINE_SECRET_KEY and the receiver's id: nothing secret is stored). Text is
sent as stored, so card numbers, emails and phones are masked as in the event log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from warmline.background import BackgroundLoop
from warmline.config import Settings
from warmline.storage import webhooks as store
from warmline.storage.models import EventRow, WebhookDeliveryRow

log = logging.getLogger(__name__)
EVENT_TYPES = (
    "conversation.created",
    "message.created",
    "conversation.escalated",
    "conversation.assigned",
    "conversation.resolved",
    "conversation.feedback",
)
_AUTHORS = {"customer_message": "customer", "bot_reply": "bot", "agent_message": "agent"}
LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 600.0
MIN_PAUSE_SECONDS = 0.2  # between two rounds, however often events wake the dispatcher


def endpoint_secret(secret_key: str, endpoint_id: str) -> str:
    """The receiver's signing secret in Standard Webhooks' `whsec_` form."""
    digest = hmac.new(
        secret_key.encode(), f"warmline-webhook:{endpoint_id}".encode(), hashlib.sha256
    ).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def messages_of(event: EventRow) -> list[tuple[str, dict[str, Any]]]:
    """The webhook messages one stored event makes (most make none)."""
    data = event.data
    base: dict[str, Any] = {"conversation_id": event.conversation_id, "seq": event.seq}
    found: list[tuple[str, dict[str, Any]]] = []
    if event.seq == 1:
        found.append(("conversation.created", dict(base)))
    if event.type in _AUTHORS:
        message = {**base, "author": _AUTHORS[event.type], "text": data.get("text", "")}
        if event.type == "agent_message":
            message["agent"] = data.get("agent")
        if event.type == "bot_reply":
            message["kind"] = data.get("kind")
        found.append(("message.created", message))
    elif event.type == "handoff":
        escalated = {**base, "reasons": data.get("reasons", []), "packet": data.get("packet", {})}
        found.append(("conversation.escalated", escalated))
    elif event.type == "agent_assigned":
        found.append(("conversation.assigned", {**base, "agent": data.get("agent")}))
    elif event.type == "resolved":
        resolved = {**base, "by": data.get("by"), "disposition": data.get("disposition")}
        found.append(("conversation.resolved", resolved))
    elif event.type == "feedback":
        answer = {key: data.get(key) for key in ("csat", "nps", "felt_heard", "comment")}
        found.append(("conversation.feedback", {**base, **answer}))
    return [(kind, _envelope(kind, event.ts, payload)) for kind, payload in found]


def _envelope(kind: str, ts: datetime, data: dict[str, Any]) -> dict[str, Any]:
    moment = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return {"type": kind, "timestamp": moment.isoformat(), "data": data}


class WebhookDispatcher(BackgroundLoop):
    """A background thread of each server process: fan out new events, deliver what is due,
    retry with exponential backoff, dead-letter after `webhook_max_attempts`."""

    interval = 1.0
    pause = MIN_PAUSE_SECONDS

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        readers: sessionmaker[Session] | None = None,
    ) -> None:
        super().__init__("warmline-webhooks")
        self.sessions = sessions
        # Looking for receivers must not take SQLite's write lock every second.
        self.readers = readers or sessions
        self.settings = settings
        self._client = httpx.Client(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False
        )

    def stop(self) -> None:
        """Stop after the current round."""
        super().stop()
        self._client.close()

    def run_once(self) -> int:
        """One round: fan out, then deliver every due message; how many were attempted."""
        now = datetime.now(UTC)
        with self.readers() as session:
            if not store.list_endpoints(session):
                return 0
        with self.sessions() as session, session.begin():
            store.fan_out(session, messages=messages_of, now=now)
        with self.sessions() as session, session.begin():
            due = [_Due.of(row) for row in store.claim_due(session, now=now, lease=LEASE)]
        urls = self._urls()
        for item in due:
            self._deliver(item, urls.get(item.endpoint_id))
        return len(due)

    def _urls(self) -> dict[str, str]:
        with self.readers() as session:
            return {row.id: row.url for row in store.list_endpoints(session)}

    def _deliver(self, item: _Due, url: str | None) -> None:
        error = "the receiver was removed" if url is None else self._post(item, url)
        now = datetime.now(UTC)
        retry_at = None
        if error is not None and item.attempts + 1 < self.settings.webhook_max_attempts:
            delay = min(self.settings.webhook_retry_seconds * 2**item.attempts, MAX_BACKOFF_SECONDS)
            retry_at = now + timedelta(seconds=delay)
        with self.sessions() as session, session.begin():
            store.record_attempt(
                session, delivery_id=item.id, now=now, error=error, retry_at=retry_at
            )
        if error is not None:
            log.warning("webhook %s to endpoint %s failed: %s", item.id, item.endpoint_id, error)

    def _post(self, item: _Due, url: str) -> str | None:
        """Send one signed message; None when the receiver took it (2xx)."""
        body = json.dumps(item.payload, separators=(",", ":"), ensure_ascii=False)
        message_id = f"msg_{item.id}"
        moment = datetime.now(UTC)
        secret = endpoint_secret(self.settings.secret_key, item.endpoint_id)
        signature = Webhook(secret).sign(message_id, moment, body)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signature,
        }
        try:
            response = self._client.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as failure:
            return f"{type(failure).__name__}: {failure}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"


class _Due:
    """What delivering one row needs, read inside its transaction."""

    def __init__(self, row: WebhookDeliveryRow) -> None:
        self.id = row.id
        self.endpoint_id = row.endpoint_id
        self.payload = dict(row.payload)
        self.attempts = row.attempts

    @classmethod
    def of(cls, row: WebhookDeliveryRow) -> _Due:
        return cls(row)
