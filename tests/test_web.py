"""The web layer over HTTP: console sign-in and sessions, CSRF, security headers, the widget's
signed-in customers, live streams, dispositions, the dashboard's data and the widget's weight.
The same flows in a real browser are in test_browser.py."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from helpers import API_KEY_HEADERS, add_agent, assert_problem, open_conversation, say
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.config import Settings
from warmline.web.pages import STATIC

IDENTITY_SECRET = "site-identity-secret-0123456789abcdef"
PASSWORD = "correct horse battery"


@pytest.fixture
def backend() -> str:
    """Sessions, headers and pages do not depend on the storage backend."""
    return "sqlite"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    from helpers import make_test_settings

    return make_test_settings(
        database_url,
        tmp_path,
        identity_secret=IDENTITY_SECRET,
        widget_origins="https://shop.example.com http://127.0.0.1:9",
        login_attempts_per_minute=4,
    )


def _agent_with_password(
    client: TestClient, agent_id: str, role: str = "agent", password: str = PASSWORD
) -> dict[str, str]:
    created = client.post(
        "/api/v1/agents",
        json={
            "id": agent_id,
            "name": f"{agent_id.title()} Smith",
            "role": role,
            "password": password,
        },
        headers=API_KEY_HEADERS,
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def _sign_in(client: TestClient, agent_id: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"username": agent_id, "password": password, "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )


def _page_config(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="wl-config">(.*?)</script>', page, re.S)
    assert found, "the page has no configuration block"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_staff_pages_send_visitors_to_sign_in_and_refuse_other_roles(client: TestClient) -> None:
    for path in ("/console", "/dashboard"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/console/login?next={path}"
    _, customer = open_conversation(client)
    assert client.get("/console", headers=customer, follow_redirects=False).status_code == 303
    _agent_with_password(client, "ada")
    assert _sign_in(client, "ada").status_code == 303
    assert client.get("/console").status_code == 200
    refused = client.get("/dashboard")
    assert refused.status_code == 403 and "Not for your role" in refused.text
    # An agent's session reads staff APIs but not the supervisors' ones.
    assert client.get("/api/v1/queue").status_code == 200
    assert client.get("/api/v1/dashboard").status_code == 403


def test_signing_in_opens_the_console_and_its_config_names_the_agent(client: TestClient) -> None:
    _agent_with_password(client, "sue", role="supervisor")
    signed_in = _sign_in(client, "sue")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console"
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    config = _page_config(client.get("/console").text)
    assert config["agent"] == {"id": "sue", "name": "Sue Smith", "role": "supervisor"}
    assert config["csrf_token"] and "solved" in config["dispositions"]
    assert "order_status" in config["intents"] or len(config["intents"]) > 10
    assert client.get("/dashboard").status_code == 200


def test_wrong_password_and_unknown_agent_are_refused_alike(client: TestClient) -> None:
    _agent_with_password(client, "ada")
    wrong = _sign_in(client, "ada", "not the password")
    nobody = _sign_in(client, "nobody", PASSWORD)
    for response in (wrong, nobody):
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_the_sign_in_form_needs_its_csrf_token(client: TestClient) -> None:
    _agent_with_password(client, "ada")
    client.get("/console/login")
    forged = client.post(
        "/console/login",
        data={"username": "ada", "password": PASSWORD, "csrf_token": "made-up"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "form expired" in forged.text
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_sign_in_attempts_are_rate_limited_per_address(client: TestClient) -> None:
    _agent_with_password(client, "ada")
    statuses = [_sign_in(client, "ada", f"guess number {n}").status_code for n in range(4)]
    assert statuses == [401] * 4
    limited = _sign_in(client, "ada")  # even the right password waits now
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "Too many attempts" in limited.text


def test_api_calls_with_the_session_cookie_need_the_csrf_token(client: TestClient) -> None:
    _agent_with_password(client, "ada")
    _sign_in(client, "ada")
    token = _page_config(client.get("/console").text)["csrf_token"]
    body = {"status": "online"}
    refused = client.put("/api/v1/agents/me/status", json=body)
    assert assert_problem(refused, 403)["type"].endswith("/csrf")
    wrong = client.put("/api/v1/agents/me/status", json=body, headers={"X-CSRF-Token": "nope"})
    assert_problem(wrong, 403)
    done = client.put("/api/v1/agents/me/status", json=body, headers={"X-CSRF-Token": token})
    assert done.status_code == 200 and done.json()["status"] == "online"


def test_signing_out_needs_the_csrf_token_and_ends_the_session(client: TestClient) -> None:
    _agent_with_password(client, "ada")
    _sign_in(client, "ada")
    token = _page_config(client.get("/console").text)["csrf_token"]
    assert_problem(client.post("/console/logout", data={"csrf_token": "x"}), 403)
    assert client.get("/console").status_code == 200
    out = client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_a_new_password_ends_the_agents_other_sessions(
    client: TestClient, settings: Settings, services: Services
) -> None:
    _agent_with_password(client, "ada")
    _sign_in(client, "ada")
    token = _page_config(client.get("/console").text)["csrf_token"]
    with TestClient(create_app(settings, services)) as other_browser:
        assert _sign_in(other_browser, "ada").status_code == 303
        changed = client.put(
            "/api/v1/agents/me/password",
            json={"current": PASSWORD, "password": "a brand new passphrase"},
            headers={"X-CSRF-Token": token},
        )
        assert changed.status_code == 204, changed.text
        assert other_browser.get("/console", follow_redirects=False).status_code == 303
    assert _sign_in(client, "ada", "a brand new passphrase").status_code == 303


def test_passwords_are_checked_and_hashed_with_argon2(
    client: TestClient, services: Services
) -> None:
    agent = _agent_with_password(client, "ada")
    short = client.put(
        "/api/v1/agents/ada/password", json={"password": "short"}, headers=API_KEY_HEADERS
    )
    assert_problem(short, 422)
    missing = client.put(
        "/api/v1/agents/nobody/password",
        json={"password": "long enough pw"},
        headers=API_KEY_HEADERS,
    )
    assert_problem(missing, 404)
    wrong = client.put(
        "/api/v1/agents/me/password",
        json={"current": "not it", "password": "long enough pw"},
        headers=agent,
    )
    assert assert_problem(wrong, 403)["type"].endswith("/wrong-password")
    from warmline.storage.agents import get_agent

    with services.reading() as session:
        stored = get_agent(session, agent_id="ada")
        assert stored is not None and stored.password_hash is not None
        assert (
            stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
        )


def test_pages_carry_security_headers_and_only_the_widget_may_be_framed(
    client: TestClient,
) -> None:
    for path in ("/", "/console/login", "/demo"):
        page = client.get(path)
        assert page.status_code == 200, path
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
    frame = client.get("/widget")
    assert (
        "frame-ancestors https://shop.example.com http://127.0.0.1:9"
        in frame.headers["content-security-policy"]
    )
    assert "x-frame-options" not in frame.headers
    # The customer-facing pages start no session: no cookie on a customer's browser.
    fresh = TestClient(client.app)
    for path in ("/widget", "/demo", "/", "/widget.js"):
        assert "set-cookie" not in fresh.get(path).headers, path
    api = client.get("/healthz")
    assert api.headers["x-content-type-options"] == "nosniff"


def test_widget_origins_must_be_origins() -> None:
    for bad in ("https://a.example; script-src *", "https://a.example/path", "javascript:x", ""):
        with pytest.raises(ValidationError, match="widget_origins"):
            Settings(_env_file=None, widget_origins=bad)
    assert Settings(_env_file=None, widget_origins=" * ").widget_origins == "*"


def test_no_page_has_inline_script_or_style(client: TestClient) -> None:
    _agent_with_password(client, "sue", role="supervisor")
    _sign_in(client, "sue")
    for path in ("/", "/widget", "/demo", "/console", "/dashboard"):
        page = client.get(path).text
        for tag in re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S | re.I):
            assert not tag.strip() or tag.strip().startswith("{"), f"inline script in {path}"
        assert not re.search(r"\sstyle=|\son[a-z]+=", page, re.I), f"inline style/handler in {path}"
        assert "<style" not in page.lower()


def _hash(user_id: str) -> str:
    return hmac.new(IDENTITY_SECRET.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def test_a_signed_in_customer_gets_their_conversation_back_and_a_forged_hash_nothing(
    client: TestClient,
) -> None:
    first = client.post(
        "/api/v1/widget/session",
        json={"user_id": "u-42", "user_hash": _hash("u-42"), "name": "Dana"},
    )
    assert first.status_code == 200 and first.json()["resumed"] is False
    conversation_id, token = first.json()["conversation_id"], first.json()["token"]
    say(client, conversation_id, {"Authorization": f"Bearer {token}"}, "where is my order 123?")
    again = client.post(
        "/api/v1/widget/session", json={"user_id": "u-42", "user_hash": _hash("u-42").upper()}
    )
    assert again.json() == {"conversation_id": conversation_id, "token": token, "resumed": True}
    # Another user's id with u-42's hash, or a made-up hash: refused, nothing revealed.
    for forged in (
        {"user_id": "u-43", "user_hash": _hash("u-42")},
        {"user_id": "u-42", "user_hash": "a" * 64},
    ):
        refused = client.post("/api/v1/widget/session", json=forged)
        assert assert_problem(refused, 403)["type"].endswith("/identity-not-verified")
        assert conversation_id not in refused.text
    # Someone else's conversation token reads nothing of this one.
    other = client.post(
        "/api/v1/widget/session", json={"user_id": "u-43", "user_hash": _hash("u-43")}
    ).json()
    stolen = {"Authorization": f"Bearer {other['token']}"}
    assert_problem(client.get(f"/api/v1/conversations/{conversation_id}", headers=stolen), 401)
    assert_problem(
        client.get(f"/api/v1/conversations/{conversation_id}/stream?timeout=0", headers=stolen), 401
    )
    malformed = client.post("/api/v1/widget/session", json={"user_id": "u 1", "user_hash": "xyz"})
    assert_problem(malformed, 422)


def test_the_widget_needs_the_identity_secret_for_signed_in_customers(
    database_url: str, tmp_path: Path, services: Services
) -> None:
    from helpers import make_test_settings

    plain = make_test_settings(database_url, tmp_path)
    services.settings = plain
    with TestClient(create_app(plain, services)) as client:
        refused = client.post(
            "/api/v1/widget/session", json={"user_id": "u-42", "user_hash": _hash("u-42")}
        )
    assert assert_problem(refused, 403)["type"].endswith("/identity-not-accepted")


def _sse(text: str) -> list[dict[str, Any]]:
    """The events of an SSE body: id, event and parsed data."""
    found = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in ("id", "event", "data"):
                fields[name] = json.loads(value) if name == "data" else value
        if "event" in fields:
            found.append(fields)
    return found


def test_the_conversation_stream_sends_each_event_once_from_where_the_client_left(
    client: TestClient,
) -> None:
    conversation_id, customer = open_conversation(client)
    say(client, conversation_id, customer, "how do I reset my password?")
    url = f"/api/v1/conversations/{conversation_id}/stream?timeout=0"
    everything = _sse(client.get(url, headers=customer).text)
    seqs = [int(event["id"]) for event in everything]
    assert seqs == sorted(set(seqs)) and len(seqs) >= 2
    assert {event["data"]["type"] for event in everything} == {"customer_message", "bot_reply"}
    assert all(event["data"]["seq"] == int(event["id"]) for event in everything)
    say(client, conversation_id, customer, "thanks, and can I change my email?")
    resumed = client.get(url, headers={**customer, "Last-Event-ID": str(seqs[-1])})
    newer = [int(event["id"]) for event in _sse(resumed.text)]
    assert newer and min(newer) > seqs[-1]
    staff = add_agent(client, "ada")
    every = _sse(client.get(url, headers=staff).text)
    assert {"analysis", "decision"} <= {event["data"]["type"] for event in every}
    assert_problem(client.get(url, headers={**customer, "Last-Event-ID": "abc"}), 422)
    missing = "0" * 32
    assert_problem(
        client.get(f"/api/v1/conversations/{missing}/stream?timeout=0", headers=staff), 404
    )


def test_typing_and_new_events_reach_a_stream_held_by_the_other_side(
    client: TestClient, server_url: str
) -> None:
    conversation_id, customer = open_conversation(client)
    say(client, conversation_id, customer, "I need to speak to a person")
    ada = add_agent(client, "ada")
    assert (
        client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=ada).status_code
        == 200
    )
    received: list[str] = []
    seen = client.get(f"/api/v1/conversations/{conversation_id}", headers=customer).json()
    last = seen["events"][-1]["seq"]

    def listen() -> None:
        url = f"{server_url}/api/v1/conversations/{conversation_id}/stream?timeout=4&after={last}"
        with httpx.stream("GET", url, headers=customer, timeout=10) as response:
            for line in response.iter_lines():
                received.append(line)

    listener = threading.Thread(target=listen)
    listener.start()
    deadline = time.monotonic() + 10
    while "retry: 1000" not in received:  # the stream is registered once it has said this
        assert time.monotonic() < deadline, "the stream did not open"
        time.sleep(0.02)
    typing = httpx.post(
        f"{server_url}/api/v1/conversations/{conversation_id}/typing",
        json={"typing": True},
        headers=ada,
    )
    assert typing.status_code == 204
    httpx.post(
        f"{server_url}/api/v1/conversations/{conversation_id}/agent-messages",
        json={"text": "Hi, I'm Ada, I'm here to help."},
        headers=ada,
    ).raise_for_status()
    listener.join(15)
    events = _sse("\n".join(received) + "\n\n")
    kinds = [event["event"] for event in events]
    assert "typing" in kinds, received
    typed = next(event["data"] for event in events if event["event"] == "typing")
    assert typed == {"role": "agent", "name": "Ada", "typing": True}
    said = [event["data"] for event in events if event["event"] == "message"]
    assert [(e["type"], e["agent_name"]) for e in said] == [("agent_message", "Ada")]


def test_an_agent_resolves_with_a_disposition(client: TestClient) -> None:
    conversation_id, customer = open_conversation(client)
    say(client, conversation_id, customer, "I need to speak to a person")
    ada = add_agent(client, "ada")
    client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=ada)
    mine = client.get("/api/v1/agents/me/conversations", headers=ada).json()
    assert [item["id"] for item in mine] == [conversation_id]
    assert mine[0]["last_text"] == "I need to speak to a person"
    sue = add_agent(client, "sue", role="supervisor")
    load = {
        a["id"]: a["open_conversations"] for a in client.get("/api/v1/agents", headers=sue).json()
    }
    assert load["ada"] == 1 and load["sue"] == 0
    url = f"/api/v1/conversations/{conversation_id}/resolve"
    assert_problem(client.post(url, json={"disposition": "magic"}, headers=ada), 422)
    done = client.post(
        url, json={"disposition": "workaround", "note": "sent a new card"}, headers=ada
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    events = client.get(f"/api/v1/conversations/{conversation_id}", headers=ada).json()["events"]
    resolved = next(e for e in events if e["type"] == "resolved")
    assert resolved["disposition"] == "workaround" and resolved["note"] == "sent a new card"
    seen = client.get(f"/api/v1/conversations/{conversation_id}", headers=customer).json()["events"]
    assert any(e["type"] == "bot_reply" and e["kind"] == "survey" for e in seen)
    assert client.get("/api/v1/agents/me/conversations", headers=ada).json() == []


def test_the_queue_stream_shows_the_queue_mine_and_for_supervisors_the_agents(
    client: TestClient,
) -> None:
    conversation_id, customer = open_conversation(client)
    say(client, conversation_id, customer, "this is useless, get me a human NOW")
    ada = add_agent(client, "ada")
    sue = add_agent(client, "sue", role="supervisor")
    first = _sse(client.get("/api/v1/queue/stream?timeout=0", headers=ada).text)
    assert [event["event"] for event in first] == ["queue"]
    view = first[0]["data"]
    assert [item["id"] for item in view["queue"]] == [conversation_id]
    assert view["queue"][0]["frustration"] > 0 and view["agents"] == []
    overseen = _sse(client.get("/api/v1/queue/stream?timeout=0", headers=sue).text)[0]["data"]
    assert {agent["id"] for agent in overseen["agents"]} >= {"ada", "sue"}
    assert_problem(client.get("/api/v1/queue/stream?timeout=0", headers=customer), 401)


def test_the_dashboard_has_the_numbers_charts_policy_and_a_whatif(client: TestClient) -> None:
    conversation_id, customer = open_conversation(client)
    say(client, conversation_id, customer, "where is my order? it is two weeks late, I'm furious")
    sue = add_agent(client, "sue", role="supervisor")
    data = client.get("/api/v1/dashboard?days=7", headers=sue).json()
    assert data["numbers"]["conversations"] == 1
    assert data["policy"]["label"].startswith("default@")
    assert set(data["charts"]) == {
        "escalations_by_reason",
        "frustration_start_end",
        "csat_trend",
        "queue_wait",
    }
    chart = client.get("/api/v1/dashboard/charts/csat_trend.svg?days=14", headers=sue)
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert chart.text.lstrip().startswith("<?xml") and "<svg" in chart.text
    assert_problem(client.get("/api/v1/dashboard/charts/pie.svg", headers=sue), 404)
    assert_problem(client.get("/api/v1/dashboard?days=0", headers=sue), 422)
    whatif = client.get("/api/v1/dashboard/whatif?limit=5", headers=sue).json()
    assert whatif["in_force"]["label"] == whatif["candidate"]["label"]
    summary = whatif["comparison"]["summary"]
    assert summary["in_force"]["conversations"] == 1 == summary["candidate"]["conversations"]
    assert whatif["comparison"]["changed"] == []


def test_the_whatif_names_an_invalid_policy_file(
    database_url: str, tmp_path: Path, services: Services
) -> None:
    from helpers import make_test_settings

    broken = tmp_path / "policy.yaml"
    broken.write_text("name: broken\ntriggers: 12\n")
    settings = make_test_settings(database_url, tmp_path, policy_file=broken)
    services.settings = settings
    with TestClient(create_app(settings, services)) as client:
        sue = add_agent(client, "sue", role="supervisor")
        refused = client.get("/api/v1/dashboard/whatif", headers=sue)
    body = assert_problem(refused, 422)
    assert "policy.yaml" in body["detail"]


def test_the_widget_weighs_under_50_kb_compressed(client: TestClient) -> None:
    loader = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert loader.status_code == 200 and loader.headers["content-encoding"] == "gzip"
    assert loader.headers["content-type"].startswith("text/javascript")
    frame = client.get("/widget").text
    assets = [STATIC / "widget.js"] + [
        STATIC / Path(src).name for src in re.findall(r'(?:src|href)="/static/([^"]+)"', frame)
    ]
    assert len(assets) >= 3, "the frame loads its script and stylesheet from /static"
    compressed = sum(len(gzip.compress(path.read_bytes(), 9)) for path in assets)
    assert compressed <= 50 * 1024, f"the widget weighs {compressed} bytes compressed"
    served = client.get("/static/chat.js", headers={"Accept-Encoding": "gzip"})
    assert served.status_code == 200 and served.headers.get("content-encoding") == "gzip"
