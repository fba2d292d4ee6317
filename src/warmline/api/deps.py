"""Request dependencies: the services, and the path parameters every route shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from warmline.api.problems import Problem
from warmline.api.services import Services

CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


async def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
ConversationId = Annotated[
    str, Path(pattern=CONVERSATION_ID_PATTERN, description="The conversation's id.")
]

# A period's bound: an RFC 3339 time with its zone (2026-11-01T09:00:00Z). Parsed here, not
# by pydantic, which would also take a bare number as a Unix time.
MOMENT_PATTERN = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
_MOMENT = {"pattern": MOMENT_PATTERN, "json_schema_extra": {"format": "date-time"}}
Since = Annotated[str | None, Query(description="Start: 2026-11-01T00:00:00Z.", **_MOMENT)]
Until = Annotated[str | None, Query(description="End, excluded.", **_MOMENT)]


def period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """The bounds as aware datetimes; 422 for an impossible date. A period that ends before
    it starts is empty (and answered as such), not an error."""
    return _moment(since, "since"), _moment(until, "until")


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(422, f"{name} is not a real date or time: {value}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
