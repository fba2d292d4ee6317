"""Administering outbound webhooks: receivers, their deliveries, and replaying dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field, field_validator

from warmline.api.access import ADMIN_ONLY, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import RequestBody
from warmline.outbound.webhooks import EVENT_TYPES, endpoint_secret
from warmline.policy.names import unknown
from warmline.storage import webhooks as store
from warmline.storage.models import WebhookDeliveryRow, WebhookEndpointRow
from warmline.storage.timestamps import as_utc

router = APIRouter(
    prefix="/api/v1/admin/webhooks", tags=["webhooks"], dependencies=[allow(ADMIN_ONLY)]
)
EndpointId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class WebhookIn(RequestBody):
    """A receiver: where to POST, and which event types (none: all of them)."""

    url: str = Field(
        min_length=8, max_length=2000, pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$"
    )
    events: list[Annotated[str, Field(json_schema_extra={"enum": list(EVENT_TYPES)})]] = Field(
        default_factory=list, max_length=len(EVENT_TYPES)
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return url

    @field_validator("events")
    @classmethod
    def _known_types(cls, events: list[str]) -> list[str]:
        for kind in events:
            if kind not in EVENT_TYPES:
                raise ValueError(unknown("event type", kind, EVENT_TYPES))
        return list(dict.fromkeys(events))


class WebhookOut(BaseModel):
    """A receiver."""

    id: str
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreated(WebhookOut):
    """A new receiver and the secret to verify its messages with (Standard Webhooks)."""

    secret: str


class DeliveryOut(BaseModel):
    """One webhook message and where its delivery stands."""

    id: int
    type: str
    conversation_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class ReplayIn(RequestBody):
    """Dead-lettered deliveries to send again (none named: all of the receiver's)."""

    ids: list[int] | None = Field(default=None, max_length=10_000)


def _out(row: WebhookEndpointRow) -> dict[str, Any]:
    return {"id": row.id, "url": row.url, "events": list(row.events), "created_at": row.created_at}


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated, responses=problems()
)
def add_webhook(body: WebhookIn, services: ServicesDep) -> WebhookCreated:
    """Add a receiver; it gets every event from now on. In production its URL must be
    https:// (or loopback). The secret is shown here; it is derived from the server's secret
    key, so rotating WARMLINE_SECRET_KEY changes it."""
    parts = urlsplit(body.url)
    if (
        services.settings.env == "production"
        and parts.scheme != "https"
        and parts.hostname not in LOOPBACK
    ):
        raise Problem(422, "Webhook URLs must be https:// in production.", kind="insecure-url")
    with services.sessions() as session, session.begin():
        row = store.create_endpoint(
            session, url=body.url, events=body.events, now=datetime.now(UTC)
        )
        created = _out(row)
    secret = endpoint_secret(services.settings.secret_key, created["id"])
    return WebhookCreated(**created, secret=secret)


@router.get("", response_model=list[WebhookOut], responses=problems())
def list_webhooks(services: ServicesDep) -> list[WebhookOut]:
    """Every receiver."""
    with services.reading() as session:
        return [WebhookOut(**_out(row)) for row in store.list_endpoints(session)]


@router.delete(
    "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def remove_webhook(endpoint_id: EndpointId, services: ServicesDep) -> Response:
    """Remove a receiver and its undelivered messages."""
    with services.sessions() as session, session.begin():
        if not store.delete_endpoint(session, endpoint_id=endpoint_id):
            raise Problem(404, f"No webhook {endpoint_id}.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{endpoint_id}/deliveries", response_model=list[DeliveryOut], responses=problems(404))
def webhook_deliveries(
    endpoint_id: EndpointId,
    services: ServicesDep,
    state: Annotated[Literal["pending", "delivered", "dead"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """A receiver's deliveries, newest first (`status=dead`: the dead letters)."""
    with services.reading() as session:
        _exists(session, endpoint_id)
        rows = store.deliveries(session, endpoint_id=endpoint_id, status=state, limit=limit)
        return [_delivery(row) for row in rows]


@router.post("/{endpoint_id}/replay", responses=problems(404))
def replay_dead_letters(
    endpoint_id: EndpointId, services: ServicesDep, body: ReplayIn | None = None
) -> dict[str, int]:
    """Send dead-lettered deliveries again, in their original order per conversation."""
    with services.sessions() as session, session.begin():
        _exists(session, endpoint_id)
        count = store.replay(
            session,
            endpoint_id=endpoint_id,
            ids=body.ids if body else None,
            now=datetime.now(UTC),
        )
    return {"replayed": count}


def _exists(session: Any, endpoint_id: str) -> None:
    if session.get(WebhookEndpointRow, endpoint_id) is None:
        raise Problem(404, f"No webhook {endpoint_id}.")


def _delivery(row: WebhookDeliveryRow) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        type=row.type,
        conversation_id=row.conversation_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=as_utc(row.next_attempt_at),
        last_error=row.last_error,
        delivered_at=as_utc(row.delivered_at) if row.delivered_at else None,
    )
