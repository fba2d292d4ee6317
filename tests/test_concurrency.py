"""Concurrency through a real HTTP server on loopback, on every storage backend."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from helpers import API_KEY_HEADERS
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.config import Settings


@pytest.fixture
def server_url(settings: Settings, services: Services) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port for the duration of one test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, services), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):  # wait up to 10 s for the server to accept connections
        if server.started:
            break
        thread.join(0.01)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _conversation(url: str) -> tuple[str, dict[str, str]]:
    data = httpx.post(f"{url}/api/v1/conversations", json={}).json()
    return data["id"], {"Authorization": f"Bearer {data['token']}"}


def test_twenty_concurrent_claims_have_exactly_one_winner(server_url: str) -> None:
    conversation_id, headers = _conversation(server_url)
    escalated = httpx.post(
        f"{server_url}/api/v1/conversations/{conversation_id}/messages",
        json={"text": "I want to talk to a human"},
        headers=headers,
        timeout=30,
    )
    assert escalated.json()["escalated"]

    def claim(i: int) -> int:
        response = httpx.post(
            f"{server_url}/api/v1/conversations/{conversation_id}/claim",
            headers={**API_KEY_HEADERS, "X-Agent-Id": f"agent{i}"},
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(claim, range(20)))
    assert sorted(statuses) == [200] + [409] * 19
    state = httpx.get(
        f"{server_url}/api/v1/conversations/{conversation_id}", headers=headers
    ).json()
    assigned = [e for e in state["events"] if e["type"] == "agent_assigned"]
    assert len(assigned) == 1 and state["agent"] == assigned[0]["agent"]


def test_fifty_concurrent_messages_are_all_stored_in_order(server_url: str) -> None:
    conversation_id, headers = _conversation(server_url)
    texts = [f"where is my order number {1000 + i}?" for i in range(50)]

    def post(text: str) -> int:
        with httpx.Client(timeout=120) as http:
            return http.post(
                f"{server_url}/api/v1/conversations/{conversation_id}/messages",
                json={"text": text},
                headers=headers,
            ).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(post, texts))
    assert statuses == [200] * 50
    events = httpx.get(
        f"{server_url}/api/v1/conversations/{conversation_id}", headers=headers
    ).json()["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    stored = [e["text"] for e in events if e["type"] == "customer_message"]
    assert sorted(stored) == sorted(texts)  # all of them, no duplicates
    # Each message's pipeline events follow it directly: no interleaving between requests.
    for index, event in enumerate(events):
        if event["type"] == "customer_message":
            assert [e["type"] for e in events[index + 1 : index + 3]] == ["analysis", "decision"]
