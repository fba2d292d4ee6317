"""Schemathesis over every operation of the OpenAPI document, with each role's credentials, on
both storage backends: generated valid and invalid requests must never get a 5xx, and every
answer must conform to the document (status, content type, headers, body schema).

Bounded: `WARMLINE_FUZZ_EXAMPLES` examples per operation, role and mode (default 12), with a
fixed seed so a failure reproduces. Path parameters that are valid are pointed at real
conversations half of the time, so the requests reach the views and not only the 404s.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import pytest
import schemathesis
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from helpers import API_KEY_HEADERS, add_agent, open_conversation, say
from warmline.api.access import DOCUMENTATION_PATHS, route_rules
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.config import Settings

EXAMPLES = int(os.environ.get("WARMLINE_FUZZ_EXAMPLES", "12"))
_APP = create_app(Settings(_env_file=None), object())  # type: ignore[arg-type]
# The API's operations (the web pages are HTML, outside the OpenAPI document).
_DOCUMENTED = {
    str(context.path_format)
    for context in iter_route_contexts(_APP.routes)
    if getattr(context, "include_in_schema", False)
}
OPERATIONS = sorted(
    (rule.method, rule.path)
    for rule in route_rules(_APP)
    if rule.path not in DOCUMENTATION_PATHS and rule.path in _DOCUMENTED
)


@schemathesis.check
def negative_data_rejected(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's negative-data check, with 413 counted as a rejection too: a body over
    the API's size limit (a generated array of a few MB) is refused before its shape is read,
    with a problem+json body."""
    if response.status_code == 413:
        return None
    result: bool | None = checks.negative_data_rejection(ctx, response, case)
    return result


CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    negative_data_rejected,
]
# Rules JSON Schema cannot state, answered 422 by design: an import's turns must be in time
# order and not in the future. Every other operation must accept what its schema accepts.
# An agent's skills and team must be the policy's (a schema cannot name them).
# A call's transcript must be readable, its times sane and its speakers clear (docs/calls.md).
SEMANTIC_422 = {
    ("POST", "/api/v1/admin/conversations/import"),
    ("POST", "/api/v1/admin/calls/import"),
    ("POST", "/api/v1/agents"),
}


def _world(client: TestClient) -> dict[str, Any]:
    """Conversations in every state, and one credential set per role."""
    ada = add_agent(client, "ada")
    add_agent(client, "bob")
    sue = add_agent(client, "sue", role="supervisor")
    ids = []
    for text in ("where is my parcel?", "I want a human", "get me a person now"):
        conversation_id, customer = open_conversation(client)
        say(client, conversation_id, customer, text)
        ids.append(conversation_id)
    client.post(f"/api/v1/conversations/{ids[2]}/claim", headers=ada)
    return {
        "ids": ids,
        "roles": {
            "anonymous": {},
            "customer": None,  # the token of whichever conversation the case names
            "agent": ada,
            "supervisor": sue,
            "admin": API_KEY_HEADERS,
        },
    }


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_conforms_for_every_role(
    client: TestClient, services: Services, operation: tuple[str, str]
) -> None:
    method, path = operation
    world = _world(client)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    api_operation = schema[path][method]
    response_checks = [*CONFORMANCE]
    if operation not in SEMANTIC_422:
        response_checks.append(checks.positive_data_acceptance)
    for role, credentials in world["roles"].items():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run_with_seeds(api_operation, mode, credentials, world, services, response_checks)
            except Unsatisfiable:
                # Only an operation without any input has nothing to make invalid.
                assert mode is GenerationMode.NEGATIVE, f"{method} {path}: no valid input?"
            except Exception as failure:
                raise AssertionError(
                    f"{method} {path} as {role} ({mode.value}):\n{failure}"
                ) from None


def _run_with_seeds(*args: Any) -> None:
    """`_runner`'s run, with another seed when Hypothesis cannot draw the case it chose: a
    string longer than a field's maximum is impossible for fields over Hypothesis's 8 KiB
    buffer (article bodies allow 200,000 characters), and a run aborts on it."""
    for attempt in range(5):
        try:
            _runner(*args, seed_value=20261129 + attempt)()
            return
        except Exception as error:  # InvalidArgument, possibly wrapped by Schemathesis
            if "larger than Hypothesis supports" not in str(error) or attempt == 4:
                raise


def _runner(
    api_operation: Any,
    mode: GenerationMode,
    credentials: dict[str, str] | None,
    world: dict[str, Any],
    services: Services,
    response_checks: list[Any],
    seed_value: int = 20261129,
) -> Any:
    """A bounded Hypothesis run of one operation, in one mode, with one role's credentials."""

    @seed(seed_value)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=api_operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        _aim(case, world["ids"])
        headers = {
            name: value
            for name, value in (case.headers or {}).items()
            if name.lower() not in ("authorization", "x-api-key")
        }
        auth = credentials
        if auth is None:  # the customer: the token of the conversation the case names
            conversation_id = (case.path_parameters or {}).get("conversation_id", "")
            auth = {"Authorization": f"Bearer {services.conversation_token(str(conversation_id))}"}
        case.headers = {**headers, **auth}
        response = case.call()
        case.validate_response(response, checks=response_checks)

    return run


def _aim(case: Any, ids: list[str]) -> None:
    """Point a valid conversation id at a real conversation, half of the time; keep long
    polls short (a valid `wait` of up to 30 s would hold each example that long)."""
    query = case.query or {}
    wait = query.get("wait")
    if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait <= 30:
        query["wait"] = min(wait, 0.05)
    timeout = query.get("timeout")  # a live stream lasts up to `timeout` s (at most 300)
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and 0 <= timeout <= 300:
        query["timeout"] = min(timeout, 0.05)
    parameters = case.path_parameters or {}
    value = parameters.get("conversation_id")
    if isinstance(value, str) and value.isalnum():
        pick = zlib.crc32(value.encode())
        if pick % 2 == 0:
            parameters["conversation_id"] = ids[pick % len(ids)]
