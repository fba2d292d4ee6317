"""RFC 9457 problem+json errors: every error the API returns has this shape, never a traceback."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from warmline.redaction import redact

log = logging.getLogger(__name__)
# Connection refused or lost, pool exhausted: the request was not (or not wholly) served, and
# its transaction was rolled back.
DatabaseUnavailable = (OperationalError, InterfaceError, SqlTimeoutError, DisconnectionError)
_SURROGATE = re.compile("[\ud800-\udfff]")
PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An error to answer as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _TITLES.get(status, "error").lower().replace(" ", "-")
        self.headers = headers
        self.extra = extra


class SafeJSONResponse(JSONResponse):
    """JSON that can always be written: a lone surrogate that reached storage before the edge
    refused them becomes U+FFFD instead of failing the whole response."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def problem_response(
    status: int,
    detail: str,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response."""
    slug = kind or _TITLES.get(status, "error").lower().replace(" ", "-")
    body = {
        "type": f"https://warmline.dev/problems/{slug}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return SafeJSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI, *, retry_after: int = 2) -> None:
    """Answer every error, expected or not, as problem+json; the database being away is 503
    with `Retry-After` (the pool reconnects by itself when it is back)."""

    async def _database(_request: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", type(error).__name__)
        return problem_response(
            503,
            "The database is not answering. Retry shortly: a retry with the same "
            "Idempotency-Key is never stored twice.",
            "database-unavailable",
            headers={"Retry-After": str(retry_after)},
        )

    for kind in DatabaseUnavailable:
        app.add_exception_handler(kind, _database)

    @app.exception_handler(Problem)
    async def _problem(_request: Request, error: Problem) -> JSONResponse:
        return problem_response(
            error.status, error.detail, error.kind, headers=error.headers, **error.extra
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # Keep the exception's headers (`Retry-After` on 429 and 503); a 405 lists in `Allow`
        # every method of every route on that path, not only the first route's.
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        return problem_response(error.status_code, str(error.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [_public_error(e) for e in error.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                400, "The request body is not valid JSON.", "invalid-json", errors=errors
            )
        return problem_response(422, "The request is not valid.", "validation-error", errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return problem_response(500, "Something went wrong on our side; it has been logged.")


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods some route of the app accepts on this request's path (asked of the routes
    themselves, so included routers count)."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**scope, "method": method})[0] is Match.FULL
            for route in app.router.routes
        )
    ]


def _public_error(error: Any) -> dict[str, Any]:
    """A validation error without the submitted input (which may be huge or personal)."""
    return {
        "type": str(error.get("type", "")),
        # A client may use personal data as a key; the location echoes keys back.
        "loc": [redact(str(part)) for part in error.get("loc", ())],
        "msg": str(error.get("msg", "")),
    }
