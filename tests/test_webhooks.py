"""Outbound webhooks: signed with Standard Webhooks, delivered from the durable outbox after
commit, each message once and in order per conversation, retried while the receiver is down,
dead-lettered when it stays down, and replayable."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from helpers import (
    API_KEY_HEADERS,
    add_agent,
    assert_problem,
    make_test_settings,
    open_conversation,
    say,
)
from servers import free_port
from warmline.api.services import Services
from warmline.config import Settings
from warmline.outbound.webhooks import WebhookDispatcher


class Receiver:
    """A webhook receiver on loopback that can be up (200) or down (503)."""

    def __init__(self) -> None:
        self.up = True
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if receiver.up:
                    receiver.received.append((dict(self.headers.items()), body))
                    self.send_response(200)
                else:
                    receiver.refused += 1
                    self.send_response(503)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self, secret: str) -> list[dict[str, Any]]:
        """Every message received, its signature verified, with its webhook-id."""
        verifier = Webhook(secret)
        found = []
        for headers, body in self.received:
            lowered = {name.lower(): value for name, value in headers.items()}
            payload = verifier.verify(body, lowered)
            found.append({"id": lowered["webhook-id"], **payload})
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_test_settings(
        database_url, tmp_path, webhook_retry_seconds=0.2, webhook_max_attempts=12
    )


def _until(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not reached in time")
        time.sleep(0.1)


def _register(client: TestClient, url: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/admin/webhooks", json={"url": url, **body}, headers=API_KEY_HEADERS
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["secret"].startswith("whsec_")
    return created


def _a_whole_conversation(client: TestClient) -> str:
    """Opened, a routine question, an upset customer handed over, an agent who claims,
    writes and resolves, and the survey answered."""
    conversation_id, customer = open_conversation(client)
    say(client, conversation_id, customer, "where is my order?")
    say(client, conversation_id, customer, "this is useless, I want a human NOW")
    ada = add_agent(client, "ada")
    for path, body in (
        ("claim", None),
        ("agent-messages", {"text": "Hi, I'm Ada, I'll sort this out."}),
        ("resolve", {"disposition": "solved"}),
    ):
        done = client.post(
            f"/api/v1/conversations/{conversation_id}/{path}", json=body, headers=ada
        )
        assert done.status_code == 200, done.text
    answered = client.post(
        f"/api/v1/conversations/{conversation_id}/feedback", json={"csat": 4}, headers=customer
    )
    assert answered.status_code == 200, answered.text
    return conversation_id


def _delivered(client: TestClient, endpoint: str, state: str) -> list[dict[str, Any]]:
    found = client.get(
        f"/api/v1/admin/webhooks/{endpoint}/deliveries?status={state}&limit=1000",
        headers=API_KEY_HEADERS,
    )
    assert found.status_code == 200, found.text
    rows: list[dict[str, Any]] = found.json()
    return rows


def test_a_receiver_down_for_a_while_gets_every_event_once_in_order_signed(
    client: TestClient, receiver: Receiver
) -> None:
    endpoint = _register(client, receiver.url)
    receiver.up = False
    conversation_id = _a_whole_conversation(client)
    _until(lambda: receiver.refused >= 3)
    time.sleep(3)  # still down for a while: every retry is refused
    receiver.up = True
    _until(lambda: not _delivered(client, endpoint["id"], "pending"))
    messages = receiver.messages(endpoint["secret"])
    ids = [message["id"] for message in messages]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    kinds = [message["type"] for message in messages]
    assert kinds[0] == "conversation.created"
    for kind in (
        "message.created",
        "conversation.escalated",
        "conversation.assigned",
        "conversation.resolved",
        "conversation.feedback",
    ):
        assert kind in kinds, kinds
    seqs = [message["data"]["seq"] for message in messages]
    assert seqs == sorted(seqs), "out of order within the conversation"
    assert {message["data"]["conversation_id"] for message in messages} == {conversation_id}
    escalated = next(m for m in messages if m["type"] == "conversation.escalated")
    assert escalated["data"]["packet"]["bullets"] and escalated["data"]["reasons"]
    authors = [m["data"]["author"] for m in messages if m["type"] == "message.created"]
    assert {"customer", "bot", "agent"} <= set(authors)
    delivered = _delivered(client, endpoint["id"], "delivered")
    assert len(delivered) == len(messages) and all(row["attempts"] >= 1 for row in delivered)
    assert max(row["attempts"] for row in delivered) > 1, "nothing was retried"


def test_a_receiver_down_for_good_fills_the_dead_letters_and_a_replay_delivers_them(
    database_url: str, tmp_path: Path, services: Services, receiver: Receiver
) -> None:
    settings = make_test_settings(
        database_url, tmp_path, webhook_retry_seconds=0.1, webhook_max_attempts=2
    )
    services.settings = settings
    from warmline.api.app import create_app

    with TestClient(create_app(settings, services)) as client:
        endpoint = _register(client, receiver.url, events=["message.created"])
        receiver.up = False
        conversation_id, customer = open_conversation(client)
        say(client, conversation_id, customer, "how do I reset my password?")
        _until(lambda: len(_delivered(client, endpoint["id"], "dead")) == 2)
        dead = _delivered(client, endpoint["id"], "dead")
        assert all(row["attempts"] == 2 and row["last_error"] == "HTTP 503" for row in dead)
        assert receiver.received == []
        receiver.up = True
        replayed = client.post(
            f"/api/v1/admin/webhooks/{endpoint['id']}/replay", headers=API_KEY_HEADERS
        )
        assert replayed.json() == {"replayed": 2}
        _until(lambda: len(receiver.received) == 2)
        messages = receiver.messages(endpoint["secret"])
        assert [m["data"]["author"] for m in messages] == ["customer", "bot"]
        assert _delivered(client, endpoint["id"], "dead") == []


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_several_workers_never_deliver_one_message_twice(
    client: TestClient, services: Services, receiver: Receiver
) -> None:
    endpoint = _register(client, receiver.url)
    workers = [WebhookDispatcher(services.sessions, services.settings) for _ in range(3)]
    stop = threading.Event()

    def work(dispatcher: WebhookDispatcher) -> None:
        while not stop.is_set():
            dispatcher.run_once()

    threads = [threading.Thread(target=work, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            _a_whole_conversation_quick(client)
        _until(
            lambda: not _delivered(client, endpoint["id"], "pending") and bool(receiver.received)
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    ids = [message["id"] for message in receiver.messages(endpoint["secret"])]
    assert len(ids) == len(set(ids)) == len(_delivered(client, endpoint["id"], "delivered"))


def _a_whole_conversation_quick(client: TestClient) -> None:
    conversation_id, customer = open_conversation(client)
    say(client, conversation_id, customer, "where is my order?")
    say(client, conversation_id, customer, "thanks, bye")


def test_bad_webhook_requests_are_refused(client: TestClient, receiver: Receiver) -> None:
    for body, words in (
        ({"url": "ftp://example.com/x"}, '"url"'),
        ({"url": "not a url at all"}, '"url"'),
        ({"url": receiver.url, "events": ["message.craeted"]}, "did you mean 'message.created'"),
    ):
        refused = client.post("/api/v1/admin/webhooks", json=body, headers=API_KEY_HEADERS)
        assert words in json.dumps(assert_problem(refused, 422))
    missing = "0" * 32
    for method, path in (
        ("DELETE", f"/api/v1/admin/webhooks/{missing}"),
        ("GET", f"/api/v1/admin/webhooks/{missing}/deliveries"),
        ("POST", f"/api/v1/admin/webhooks/{missing}/replay"),
    ):
        assert_problem(client.request(method, path, headers=API_KEY_HEADERS), 404)
    agent = add_agent(client, "ada")
    assert_problem(client.get("/api/v1/admin/webhooks", headers=agent), 403)


def test_production_needs_https_except_on_loopback(
    database_url: str, tmp_path: Path, services: Services
) -> None:
    from warmline.api.app import create_app

    settings = make_test_settings(database_url, tmp_path)
    settings = settings.model_copy(update={"env": "production"})
    services.settings = settings
    with TestClient(create_app(settings, services)) as client:
        plain = client.post(
            "/api/v1/admin/webhooks",
            json={"url": "http://hooks.example.com/x"},
            headers=API_KEY_HEADERS,
        )
        assert assert_problem(plain, 422)["type"].endswith("/insecure-url")
        local = client.post(
            "/api/v1/admin/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=API_KEY_HEADERS
        )
        assert local.status_code == 201
