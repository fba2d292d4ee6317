"""Hardening (issue 10): one bad message never breaks the queue, credentials never crash a
route, the client's clock orders nothing, and personal data is masked before it is stored.

Each case here failed on the code before the fix; they run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError

from helpers import API_KEY_HEADERS, add_agent, assert_problem, open_conversation, say
from warmline.api.services import Services
from warmline.config import Settings
from warmline.domain.events import CustomerMessage
from warmline.storage.models import EventRow

UNSTORABLE = ["\ud800", "a\x00b", "tail \udfff", "\x00"]
CARD = "4111 1111 1111 1111"
EMAIL = "jane.roe@example.org"
PHONE = "+44 20 7946 0958"
PLANTED = f"My card {CARD} was charged twice; write to {EMAIL} or call {PHONE}."


def raw_post(client: TestClient, url: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    """POST a body encoded with JSON escapes (a lone surrogate cannot be UTF-8 encoded)."""
    return client.post(
        url,
        content=json.dumps(body).encode("ascii"),
        headers={**headers, "content-type": "application/json"},
    )


# --- text that cannot be stored is refused at the edge ----------------------------------------


def test_unstorable_text_is_refused_in_every_text_field(client: TestClient) -> None:
    alex = add_agent(client, "alex")
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "I want to speak to a person")
    assert client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=alex).is_success
    base = f"/api/v1/conversations/{conversation_id}"
    turn = {"speaker": "customer", "ts": "2026-01-01T10:00:00Z"}
    for bad in UNSTORABLE:
        cases = [
            (f"{base}/messages", {"text": f"hello {bad}"}, headers),
            ("/api/v1/conversations", {"customer": {"name": bad}}, {}),
            ("/api/v1/conversations", {"customer": {"plan": bad}}, {}),
            (f"{base}/notes", {"text": bad}, alex),
            (f"{base}/agent-messages", {"text": bad}, alex),
            ("/api/v1/agents", {"id": "bea", "name": bad}, API_KEY_HEADERS),
            (
                "/api/v1/admin/conversations/import",
                {"turns": [{**turn, "text": bad}]},
                API_KEY_HEADERS,
            ),
        ]
        for url, body, auth in cases:
            problem = assert_problem(raw_post(client, url, body, auth), 422)
            assert "NUL" in json.dumps(problem) or "surrogate" in json.dumps(problem)
    # Nothing was stored, and every read still works for everyone.
    state = client.get(base, headers=API_KEY_HEADERS)
    assert state.status_code == 200
    assert sum(e["type"] == "customer_message" for e in state.json()["events"]) == 1
    assert client.get(base, headers=headers).status_code == 200
    assert client.get("/api/v1/queue", headers=alex).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])  # only SQLite could ever store one
def test_a_surrogate_stored_before_the_fix_never_breaks_a_read(
    client: TestClient, services: Services, backend: str
) -> None:
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "let me talk to a human please")
    with services.sessions() as session, session.begin():
        seq = session.scalar(sa.select(sa.func.max(EventRow.seq))) or 0
        event = CustomerMessage(text="broken \ud800 text")
        session.add(
            EventRow(
                conversation_id=conversation_id,
                seq=seq + 1,
                type=event.type,
                ts=event.ts,
                data=event.model_dump(mode="json"),
            )
        )
    for auth in (headers, API_KEY_HEADERS):
        response = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth)
        assert response.status_code == 200, response.text
        assert "broken \ufffd text" in response.text
    assert client.get("/api/v1/queue", headers=API_KEY_HEADERS).status_code == 200


# --- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [b"cl\xe9-\xff\xfe", b"\xc3\xa9t\xc3\xa9", b"\x80" * 40])
def test_non_ascii_credentials_are_unauthorized_not_errors(
    client: TestClient, value: bytes
) -> None:
    conversation_id, _ = open_conversation(client)
    bearer = {"Authorization": b"Bearer " + value}
    cases = [
        ("GET", "/api/v1/admin/policy", {"X-API-Key": value}),
        ("GET", "/api/v1/queue", {"X-API-Key": value}),
        ("GET", "/api/v1/queue", bearer),
        ("GET", f"/api/v1/conversations/{conversation_id}", bearer),
        ("GET", f"/api/v1/conversations/{conversation_id}", {"X-API-Key": value}),
    ]
    for method, url, auth in cases:
        assert_problem(client.request(method, url, headers=auth), 401)
    message = client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "hi"}, headers=bearer
    )
    assert_problem(message, 401)


def test_a_wrong_token_next_to_a_good_api_key_is_still_refused(client: TestClient) -> None:
    mixed = {**API_KEY_HEADERS, "Authorization": "Bearer not-a-token"}
    assert_problem(client.get("/api/v1/queue", headers=mixed), 401)


# --- the server's clock is the only clock ------------------------------------------------------


def test_a_client_timestamp_is_kept_for_display_and_never_trusted(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    before = datetime.now(UTC)
    answer = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "I want to talk to a human", "ts": "2000-01-01T00:00:00Z"},
        headers=headers,
    )
    assert answer.status_code == 200 and answer.json()["escalated"]
    events = client.get(f"/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS).json()[
        "events"
    ]
    message = next(e for e in events if e["type"] == "customer_message")
    stored = datetime.fromisoformat(message["ts"])
    assert stored >= before - timedelta(seconds=1)
    assert message["client_ts"].startswith("2000-01-01")
    queue = client.get("/api/v1/queue", headers=API_KEY_HEADERS).json()
    assert queue[0]["id"] == conversation_id
    assert queue[0]["waiting_seconds"] < 60  # not 26 years
    breaches = client.post("/api/v1/admin/sla/check", headers=API_KEY_HEADERS).json()
    assert breaches == {"breaches": []}


def test_past_conversations_are_imported_at_their_own_times_by_admins_only(
    client: TestClient,
) -> None:
    alex = add_agent(client, "alex")
    body = {
        "channel": "email",
        "turns": [
            {"speaker": "customer", "text": "Where is my order 12345?", "ts": "2026-03-01T09:00Z"},
            {"speaker": "agent", "text": "It ships today.", "ts": "2026-03-01T09:05:00Z"},
            {"speaker": "customer", "text": "thanks!", "ts": "2026-03-01T09:06:00Z"},
        ],
    }
    url = "/api/v1/admin/conversations/import"
    assert_problem(client.post(url, json=body), 401)
    assert_problem(client.post(url, json=body, headers=alex), 403)
    created = client.post(url, json=body, headers=API_KEY_HEADERS)
    assert created.status_code == 201, created.text
    imported = created.json()
    assert imported["status"] == "resolved" and imported["customer_turns"] == 2
    events = client.get(f"/api/v1/conversations/{imported['id']}", headers=API_KEY_HEADERS).json()[
        "events"
    ]
    said = [(e["type"], e["ts"][:16]) for e in events if e["type"].endswith("message")]
    assert said == [
        ("customer_message", "2026-03-01T09:00"),
        ("agent_message", "2026-03-01T09:05"),
        ("customer_message", "2026-03-01T09:06"),
    ]
    shuffled = {"turns": [body["turns"][2], body["turns"][0]]}
    assert_problem(client.post(url, json=shuffled, headers=API_KEY_HEADERS), 422)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    ahead = {"turns": [{"speaker": "customer", "text": "hello", "ts": future}]}
    assert_problem(client.post(url, json=ahead, headers=API_KEY_HEADERS), 422)


# --- personal data ----------------------------------------------------------------------------


def _leaks(text: str) -> list[str]:
    forms = [CARD, CARD.replace(" ", ""), EMAIL, PHONE, PHONE.replace(" ", "")]
    return [form for form in forms if form in text]


def test_card_numbers_emails_and_phones_are_masked_before_they_are_stored(
    client: TestClient, services: Services
) -> None:
    conversation_id, headers = open_conversation(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    answer = client.post(url, json={"text": PLANTED}, headers={**headers, "Idempotency-Key": "k1"})
    assert answer.status_code == 200
    again = client.post(url, json={"text": PLANTED}, headers={**headers, "Idempotency-Key": "k1"})
    assert again.json()["replayed"] is True
    say(client, conversation_id, headers, f"I want a human now, my card {CARD} is blocked")
    alex = add_agent(client, "alex")
    client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=alex)
    note = client.post(
        f"/api/v1/conversations/{conversation_id}/notes",
        json={"text": f"customer read out {CARD} on the phone"},
        headers=alex,
    )
    assert note.status_code == 200
    for auth in (headers, alex, API_KEY_HEADERS):
        shown = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).text
        assert _leaks(shown) == [], shown
        assert "[CARD visa ending 1111]" in shown
    assert _leaks(client.get("/api/v1/queue", headers=alex).text) == []
    assert _leaks(answer.text + again.text) == []
    with services.sessions() as session:
        stored = [str(row[0]) for row in session.execute(sa.text("SELECT data FROM events"))]
        answers = [
            str(row[0]) for row in session.execute(sa.text("SELECT response FROM idempotency_keys"))
        ]
    assert stored and _leaks(" ".join(stored + answers)) == []
    assert "[EMAIL j***@example.org]" in " ".join(stored)


def test_a_deployment_may_keep_contact_details_but_never_card_numbers(
    settings: Settings, services: Services, pipeline: Any
) -> None:
    from warmline.api.app import create_app
    from warmline.engine import Engine
    from warmline.storage.db import make_engine, make_session_factory

    engine = make_engine(settings.resolved_database_url)
    keeping = Services(
        settings=settings.model_copy(update={"keep_contact_details": True}),
        sessions=make_session_factory(engine, keep_contact_details=True),
        engine=Engine(make_session_factory(engine, keep_contact_details=True), pipeline),
    )
    with TestClient(create_app(keeping.settings, keeping)) as client:
        conversation_id, headers = open_conversation(client)
        say(client, conversation_id, headers, PLANTED)
        shown = client.get(f"/api/v1/conversations/{conversation_id}", headers=headers).text
    engine.dispose()
    assert EMAIL in shown and PHONE in shown
    assert CARD not in shown and CARD.replace(" ", "") not in shown


# --- smaller holes ----------------------------------------------------------------------------


def test_infinity_and_booleans_are_not_amounts(client: TestClient) -> None:
    for literal in (b"Infinity", b"-Infinity", b"NaN", b"1e400", b"true"):
        body = b'{"customer": {"lifetime_value": ' + literal + b"}}"
        response = client.post(
            "/api/v1/conversations", content=body, headers={"content-type": "application/json"}
        )
        assert_problem(response, 422)


def test_default_and_weak_secrets_are_refused_outside_development() -> None:
    for env in ("test", "production"):
        with pytest.raises(ValidationError, match="development default"):
            Settings(env=env, _env_file=None)
        for weak in (" " * 16, "a" * 40, "short-key", "abcdefgh\nijklmnop"):
            with pytest.raises(ValidationError, match="WARMLINE_API_KEY"):
                Settings(env=env, api_key=weak, secret_key="s3cret-Key-0123456789", _env_file=None)
        with pytest.raises(ValidationError, match="must differ"):
            Settings(env=env, api_key="s3cret-Key-0123456789", secret_key="s3cret-Key-0123456789")
        with pytest.raises(ValidationError, match="ASCII"):
            Settings(env=env, api_key="clé-secrète-0123456789", secret_key="s3cret-Key-0123456789")
    assert Settings(_env_file=None).env == "development"  # development keeps its defaults


def test_a_method_not_allowed_lists_every_allowed_method(client: TestClient) -> None:
    response = client.delete("/api/v1/agents", headers=API_KEY_HEADERS)
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


def test_the_openapi_document_describes_errors_as_problems(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "413" in responses, (method, path)
            for code, response in responses.items():
                if code[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (path, code)
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
    message = schema["components"]["schemas"]["MessageIn"]["properties"]["text"]
    assert message["minLength"] == 1 and message["maxLength"] == 10_000
    assert (
        "422"
        in schema["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]["responses"]
    )
    assert schema["paths"]["/api/v1/queue/next"]["post"]["responses"]["204"]


# --- roles ------------------------------------------------------------------------------------


def test_customers_post_only_to_their_own_conversation(client: TestClient) -> None:
    mine, my_token = open_conversation(client)
    theirs, _ = open_conversation(client)
    ada = add_agent(client, "ada")
    url = f"/api/v1/conversations/{theirs}/messages"
    assert_problem(client.post(url, json={"text": "hi"}, headers=my_token), 401)
    assert_problem(client.get(f"/api/v1/conversations/{theirs}", headers=my_token), 401)
    for staff in (ada, API_KEY_HEADERS):  # staff never speak as the customer
        assert_problem(client.post(url, json={"text": "hi"}, headers=staff), 403)
    assert say(client, mine, my_token, "hello")["conversation_id"] == mine


def test_agents_act_only_on_what_is_theirs_and_supervisors_reassign(client: TestClient) -> None:
    ada, bea = add_agent(client, "ada"), add_agent(client, "bea")
    sue = add_agent(client, "sue", role="supervisor")
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "get me a human please")
    base = f"/api/v1/conversations/{conversation_id}"
    assert client.post(f"{base}/claim", headers=ada).status_code == 200
    assert_problem(client.post(f"{base}/resolve", headers=bea), 403)
    assert_problem(client.post(f"{base}/handback", headers=bea), 403)
    assert_problem(client.post(f"{base}/agent-messages", json={"text": "hi"}, headers=bea), 403)
    assert_problem(client.post(f"{base}/assign", json={"agent": "bea"}, headers=ada), 403)
    assert_problem(client.post(f"{base}/assign", json={"agent": "nobody"}, headers=sue), 404)
    moved = client.post(f"{base}/assign", json={"agent": "bea"}, headers=sue)
    assert moved.status_code == 200 and moved.json()["agent"] == "bea"
    assert_problem(client.post(f"{base}/agent-messages", json={"text": "hi"}, headers=ada), 403)
    assert client.post(f"{base}/agent-messages", json={"text": "Hi!"}, headers=bea).is_success
    assert client.post(f"{base}/notes", json={"text": "ada helped"}, headers=ada).is_success
    assert client.post(f"{base}/resolve", headers=sue).json()["status"] == "resolved"
    events = client.get(base, headers=API_KEY_HEADERS).json()["events"]
    assigned = [(e["agent"], e["by"]) for e in events if e["type"] == "agent_assigned"]
    assert assigned == [("ada", None), ("bea", "sue")]
    assert_problem(client.get("/api/v1/agents", headers=ada), 403)
    assert client.get("/api/v1/agents", headers=sue).status_code == 200


def test_the_api_key_cannot_act_as_an_agent_that_does_not_exist(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "I want a person")
    ghost = {**API_KEY_HEADERS, "X-Agent-Id": "ghost"}
    problem = assert_problem(
        client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=ghost), 403
    )
    assert "ghost" in problem["detail"]
    assert client.get("/api/v1/queue", headers=API_KEY_HEADERS).json()[0]["id"] == conversation_id
    assert_problem(
        client.post(
            "/api/v1/agents", json={"id": "admin", "name": "Sneaky"}, headers=API_KEY_HEADERS
        ),
        422,
    )


def test_a_chunked_body_over_the_limit_is_413_on_a_real_server(server_url: str) -> None:
    def chunks() -> Any:
        for _ in range(40):  # 40 x 16 KiB = 640 KiB, over the 256 KiB default
            yield b'{"text": "' + b"x" * 16_384

    response = httpx.post(
        f"{server_url}/api/v1/conversations",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert "content-length" not in response.request.headers  # really chunked
    assert_problem(response, 413)
    small = httpx.post(
        f"{server_url}/api/v1/conversations",
        content=iter([b"{", b"}"]),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert small.status_code == 201


def test_odd_import_times_are_refused_and_open_imports_queue_from_now(client: TestClient) -> None:
    url = "/api/v1/admin/conversations/import"
    for ts in ("2020-01-01T00:00:00", "0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59Z"):
        turn = {"speaker": "customer", "text": "I want a human now", "ts": ts}
        assert_problem(client.post(url, json={"turns": [turn]}, headers=API_KEY_HEADERS), 422)
    turn = {"speaker": "customer", "text": "I want a human now", "ts": "2019-05-01T10:00:00Z"}
    body = {"turns": [turn], "resolved": False}
    imported = client.post(url, json=body, headers=API_KEY_HEADERS)
    assert imported.status_code == 201 and imported.json()["status"] == "queued"
    queue = client.get("/api/v1/queue", headers=API_KEY_HEADERS).json()
    assert queue[0]["id"] == imported.json()["id"] and queue[0]["waiting_seconds"] < 60
    assert client.post("/api/v1/admin/sla/check", headers=API_KEY_HEADERS).json()["breaches"] == []


def test_a_client_time_needs_its_offset(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    naive = {"text": "hello", "ts": "2026-11-29T10:00:00"}
    assert_problem(client.post(url, json=naive, headers=headers), 422)
    odd = {"text": "hello", "ts": "2026-11-29T15:34:07.123456+01:00"}
    assert client.post(url, json=odd, headers=headers).status_code == 200
    events = client.get(f"/api/v1/conversations/{conversation_id}", headers=headers).json()
    message = next(e for e in events["events"] if e["type"] == "customer_message")
    assert message["client_ts"] == "2026-11-29T15:34:07.123456+01:00"


def test_invisible_text_is_blank(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    for text in ("\u200b", "\ufeff", "\u180e \u2060", " \u200d\n"):
        assert_problem(client.post(url, json={"text": text}, headers=headers), 422)


def test_anonymous_visitors_cannot_claim_value_or_someone_elses_identity(
    client: TestClient,
) -> None:
    vip, _ = open_conversation(  # opened by the business's systems (API key)
        client, customer={"name": "Real VIP", "email": "real.vip@example.com", "tier": "vip"}
    )
    known = client.get(f"/api/v1/conversations/{vip}", headers=API_KEY_HEADERS).json()
    for claim in ({"tier": "vip"}, {"plan": "enterprise"}, {"lifetime_value": 1e12}):
        response = client.post("/api/v1/conversations", json={"customer": claim})
        assert_problem(response, 403)
    impostor = client.post(
        "/api/v1/conversations",
        json={"customer": {"name": "Attacker", "email": "real.vip@example.com"}},
    )
    assert impostor.status_code == 201
    assert impostor.json()["customer_id"] not in (None, known["customer_id"])
    # The business's systems can still say who someone is.
    again, _ = open_conversation(client, customer={"email": "real.vip@example.com"})
    found = client.get(f"/api/v1/conversations/{again}", headers=API_KEY_HEADERS).json()
    assert found["customer_id"] == known["customer_id"]


def test_malformed_empty_or_repeated_credentials_are_refused(client: TestClient) -> None:
    ada = add_agent(client, "ada")
    good_key = API_KEY_HEADERS["X-API-Key"]
    cases = [
        [("X-API-Key", good_key), ("Authorization", "Bearer")],
        [("X-API-Key", good_key), ("Authorization", "Basic abc")],
        [("X-API-Key", good_key), ("Authorization", "Token x")],
        [("X-API-Key", "")],
        [("Authorization", ada["Authorization"]), ("X-API-Key", "")],
        [("X-API-Key", good_key), ("X-API-Key", "wrong")],
        [("Authorization", ada["Authorization"]), ("Authorization", "Bearer other")],
    ]
    for headers in cases:
        response = client.request("GET", "/api/v1/queue", headers=httpx.Headers(headers))
        assert_problem(response, 401)
    assert client.get("/api/v1/queue", headers=ada).status_code == 200
