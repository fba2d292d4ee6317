"""One request per role per route, generated from the app's routes: a route added without an
access rule, or whose rule is not enforced, fails here (see docs/access.md)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, add_agent, open_conversation, say
from warmline.api.access import Role, RouteRule, route_rules
from warmline.api.app import create_app
from warmline.config import Settings

RULES = route_rules(create_app(Settings(_env_file=None), object()))  # type: ignore[arg-type]
# A valid body for every route that takes one, so allowed callers reach the view.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/conversations"): {"channel": "web"},
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): {"text": "where is my order?"},
    ("PUT", "/api/v1/agents/me/status"): {"status": "online"},
    ("POST", "/api/v1/agents"): {"id": "newbie", "name": "New Agent"},
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): {"agent": "bob"},
    ("POST", "/api/v1/conversations/{conversation_id}/agent-messages"): {"text": "Hello!"},
    ("POST", "/api/v1/conversations/{conversation_id}/notes"): {"text": "called back"},
    ("POST", "/api/v1/conversations/{conversation_id}/coach"): {"draft": "I'll check now."},
    ("POST", "/api/v1/conversations/{conversation_id}/feedback"): {"csat": 5},
    ("POST", "/api/v1/conversations/{conversation_id}/corrections/intent"): {
        "seq": 1,
        "intent": "human_agent",
    },
    ("POST", "/api/v1/conversations/{conversation_id}/corrections/answer"): {"seq": 1},
    ("POST", "/api/v1/conversations/{conversation_id}/corrections/escalation"): {"verdict": "late"},
    ("POST", "/api/v1/admin/kb/sources"): {
        "name": "faq",
        "pairs": [{"question": "Do you deliver on Sundays?", "answer": "No, Monday to Saturday."}],
    },
    ("POST", "/api/v1/conversations/{conversation_id}/typing"): {"typing": True},
    ("POST", "/api/v1/conversations/{conversation_id}/resolve"): {"disposition": "solved"},
    ("POST", "/api/v1/widget/session"): {"user_id": "u-1", "user_hash": "0" * 64},
    ("PUT", "/api/v1/agents/me/password"): {"current": "wrong", "password": "a-new-password"},
    ("PUT", "/api/v1/agents/{agent_id}/password"): {"password": "a-new-password"},
    ("POST", "/api/v1/admin/webhooks"): {"url": "http://127.0.0.1:9/hooks"},
    ("POST", "/api/v1/admin/email/outbox/replay"): {"all": True},
    ("POST", "/api/v1/admin/webhooks/{endpoint_id}/replay"): {"ids": [1]},
    ("POST", "/api/v1/customers/{customer_id}/merge"): {"from": "c-other", "reason": "same"},
    ("POST", "/api/v1/customers/{customer_id}/identities"): {
        "kind": "email",
        "value": "ana@example.com",
        "verified": True,
    },
    ("POST", "/api/v1/admin/calls/import"): {
        "transcript": [{"speaker": "caller", "text": "where is my parcel?", "start": 0, "end": 2}]
    },
    ("POST", "/api/v1/admin/conversations/import"): {
        "turns": [{"speaker": "customer", "text": "hi", "ts": "2026-01-01T09:00:00Z"}]
    },
}


@pytest.fixture
def backend() -> str:
    """Roles do not depend on the storage backend: SQLite is enough here."""
    return "sqlite"


@pytest.fixture
def world(client: TestClient) -> dict[str, Any]:
    """A conversation assigned to the agent ada, and one credential set per role."""
    ada = add_agent(client, "ada")
    add_agent(client, "bob")
    sue = add_agent(client, "sue", role="supervisor")
    conversation_id, customer = open_conversation(client)
    say(client, conversation_id, customer, "I need to speak to a person")
    claimed = client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=ada)
    assert claimed.status_code == 200, claimed.text
    return {
        "conversation_id": conversation_id,
        "headers": {
            Role.ANONYMOUS: {},
            Role.CUSTOMER: customer,
            Role.AGENT: ada,
            Role.SUPERVISOR: sue,
            Role.ADMIN: API_KEY_HEADERS,
        },
    }


def _label(rule: RouteRule) -> str:
    return f"{rule.method} {rule.path}"


@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
@pytest.mark.parametrize("rule", RULES, ids=[_label(rule) for rule in RULES])
def test_each_role_gets_exactly_what_the_route_allows(
    client: TestClient, world: dict[str, Any], rule: RouteRule, role: Role
) -> None:
    assert rule.roles is not None, f"{_label(rule)} has no access rule (add allow(...))"
    operation = client.get("/openapi.json").json()["paths"].get(rule.path, {})
    takes_body = "requestBody" in operation.get(rule.method.lower(), {})
    key = (rule.method, rule.path)
    assert not takes_body or key in BODIES, f"add a sample body for {_label(rule)}"
    url = rule.path.replace("{conversation_id}", world["conversation_id"])
    url = url.replace("{name}.svg", "csat_trend.svg").replace("{agent_id}", "bob")
    url = url.replace("{name}", "api:faq").replace("{endpoint_id}", "0" * 32)
    url = url.replace("{customer_id}", "c-unknown")
    if rule.path.endswith("/kb/search"):
        url += "?q=when+will+my+parcel+arrive"
    if rule.path.endswith("/stream"):
        url += "?timeout=0"
    response = client.request(
        rule.method,
        url,
        json=BODIES.get(key),
        headers=world["headers"][role],
        follow_redirects=False,
    )
    refused = _refused(response)
    if role in rule.roles:
        assert not refused, f"{role.value} was refused: {response.text}"
        assert response.status_code < 500, response.text
    else:
        assert refused, f"{role.value} got {response.status_code}: {response.text[:200]}"


def _refused(response: Any) -> bool:
    """401, or 403 for the role; a page sends visitors to the sign-in page and shows staff
    without the role a 403 page."""
    if response.status_code == 303:
        return bool(response.headers["location"].startswith("/console/login"))
    if response.headers.get("content-type", "").startswith("text/html"):
        return response.status_code == 403 and "Not for your role" in response.text
    return response.status_code == 401 or (
        response.status_code == 403 and response.json()["type"].endswith("/forbidden")
    )
