"""The OpenAPI document tells the truth: every status a route can answer is listed, and every
error is `application/problem+json` with the same schema.

Routes list their own statuses with `problems(...)`; what applies to every route of a kind is
added here: 400 (body is not JSON) and 422 (invalid body or parameters) where there is input,
408 and 413 (body late or too large) everywhere, since those limits run before routing, and
429 (rate limit) and 503 (database away) everywhere but the health check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from warmline.api.limits import UNLIMITED_PATHS
from warmline.api.problems import PROBLEM_JSON
from warmline.api.schemas import ProblemOut

DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    408: "The body did not arrive within WARMLINE_BODY_TIMEOUT_SECONDS.",
    401: "Credentials are missing or not valid.",
    403: "The caller's role or ownership does not allow this.",
    404: "No such conversation.",
    409: "The conversation's state does not allow this now.",
    413: "The request body is larger than WARMLINE_MAX_BODY_BYTES.",
    415: "The body is not of a content type the route reads.",
    422: "The body or a parameter is not valid (each problem is listed in `errors`).",
    429: "Too many requests; retry after the `Retry-After` seconds.",
    502: "A service warmline relies on (e.g. the helpdesk) did not take the request; retry.",
    503: "The database is unavailable; retry after the `Retry-After` seconds.",
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problems(*statuses: int, auth: bool = True) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: its own error statuses, plus 401/403 when it needs
    credentials."""
    codes = sorted({*statuses, *((401, 403) if auth else ())})
    return {code: {"description": DESCRIPTIONS[code]} for code in codes}


def install_openapi(
    app: FastAPI, *, max_message_chars: int, teams: Callable[[], list[str]]
) -> None:
    """Replace the app's OpenAPI generator with one that documents errors as problem+json and
    states the limits that come from settings and the policy (rebuilt when the policy's teams
    change after a reload)."""
    built: dict[tuple[str, ...], dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        known = tuple(sorted(teams()))
        if known not in built:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _document_problems(schema)
            _anonymous_allowed(schema, app)
            _message_limit(schema, max_message_chars)
            _team_names(schema, list(known))
            built.clear()
            built[known] = schema
        app.openapi_schema = built[known]
        return built[known]

    app.openapi = openapi  # type: ignore[method-assign]


def _document_problems(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = ProblemOut.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operation in _operations(schema):
        responses = operation.setdefault("responses", {})
        has_body = "requestBody" in operation
        extra = [408, 413]
        if path not in UNLIMITED_PATHS:
            extra += [429, 503]
        if has_body:
            extra.append(400)
        if has_body or operation.get("parameters"):
            extra.append(422)
        for code in extra:
            responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
        for code, response in responses.items():
            if code[0] in "45":
                response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}


def _anonymous_allowed(schema: dict[str, Any], app: FastAPI) -> None:
    """A public route that reads credentials (to give trusted callers more) says that none
    are needed too: an empty security requirement."""
    from warmline.api.access import PUBLIC, route_rules

    for rule in route_rules(app):
        operation = schema["paths"].get(rule.path, {}).get(rule.method.lower())
        if operation and rule.roles == PUBLIC and operation.get("security"):
            operation["security"] = [{}, *operation["security"]]


def _message_limit(schema: dict[str, Any], limit: int) -> None:
    """The message length limit is a setting; the schema states the configured one."""
    message = schema.get("components", {}).get("schemas", {}).get("MessageIn")
    if message is not None:
        message["properties"]["text"]["maxLength"] = limit


def _team_names(schema: dict[str, Any], teams: list[str]) -> None:
    """An agent's team must be a team of the policy in force."""
    agent = schema.get("components", {}).get("schemas", {}).get("AgentIn")
    if agent is None or not teams:
        return
    agent["properties"]["team"] = {
        "anyOf": [{"type": "string", "enum": teams}, {"type": "null"}],
        "default": None,
        "title": "Team",
        "description": "A team of the policy in force.",
    }


def _operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    methods = ("get", "put", "post", "delete", "patch", "head", "options")
    return [
        (path, operation)
        for path, item in schema.get("paths", {}).items()
        for method, operation in item.items()
        if method in methods
    ]
