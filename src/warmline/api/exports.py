"""CSV export of conversations and their metrics (supervisors and admins; personal data only
for admins who ask for it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from warmline.analytics.export import csv_lines
from warmline.api.access import OVERSIGHT, Caller, Role, allow
from warmline.api.deps import ServicesDep, Since, Until, period
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.services import Services
from warmline.storage.conversations import conversations_between

router = APIRouter(prefix="/api/v1/export", tags=["analytics"])
Overseer = Annotated[Caller, allow(OVERSIGHT)]


@router.get(
    "/conversations",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(403, 422)},
)
def export_conversations(
    services: ServicesDep,
    caller: Overseer,
    since: Since = None,
    until: Until = None,
    personal: Annotated[
        bool, Query(description="Keep personal data in the text (admins only).")
    ] = False,
) -> StreamingResponse:
    """One CSV row per conversation started in [since, until), with its metrics; the text
    columns redacted unless an admin asks for `personal=true`."""
    start, end = period(since, until)
    if personal and caller.role is not Role.ADMIN:
        raise Problem(403, "Only an admin may export personal data.", kind="forbidden")
    return StreamingResponse(
        _lines(services, start, end, personal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
    )


def _lines(
    services: Services, since: datetime | None, until: datetime | None, personal: bool
) -> Iterator[str]:
    with services.reading() as session:
        found = conversations_between(session, since=since, until=until)
        yield from csv_lines(found, personal=personal)
