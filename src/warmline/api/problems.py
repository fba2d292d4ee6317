"""RFC 9457 problem+json errors: every error the API returns has this shape, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
}


class Problem(Exception):
    """An error to answer as problem+json."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _TITLES.get(status, "error").lower().replace(" ", "-")
        self.extra = extra


def problem_response(
    status: int, detail: str, kind: str | None = None, **extra: Any
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
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error, expected or not, as problem+json."""

    @app.exception_handler(Problem)
    async def _problem(_request: Request, error: Problem) -> JSONResponse:
        return problem_response(error.status, error.detail, error.kind, **error.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem_response(error.status_code, str(error.detail))

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


def _public_error(error: Any) -> dict[str, Any]:
    """A validation error without the submitted input (which may be huge or personal)."""
    return {
        "type": str(error.get("type", "")),
        "loc": [str(part) for part in error.get("loc", ())],
        "msg": str(error.get("msg", "")),
    }
