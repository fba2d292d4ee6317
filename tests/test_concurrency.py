"""Concurrency through a real HTTP server on loopback, on every storage backend."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from helpers import API_KEY_HEADERS


def _conversation(url: str) -> tuple[str, dict[str, str]]:
    data = httpx.post(f"{url}/api/v1/conversations", json={}).json()
    return data["id"], {"Authorization": f"Bearer {data['token']}"}


def _escalated_conversation(url: str) -> str:
    """A new conversation whose customer asked for a person (it waits in the queue)."""
    conversation_id, headers = _conversation(url)
    escalated = httpx.post(
        f"{url}/api/v1/conversations/{conversation_id}/messages",
        json={"text": "I want to talk to a human"},
        headers=headers,
        timeout=30,
    )
    assert escalated.json()["escalated"]
    return conversation_id


def test_twenty_concurrent_claims_have_exactly_one_winner(server_url: str) -> None:
    conversation_id = _escalated_conversation(server_url)
    for i in range(20):  # the API key may act only as agents that exist
        created = httpx.post(
            f"{server_url}/api/v1/agents",
            json={"id": f"agent{i}", "name": f"Agent {i}"},
            headers=API_KEY_HEADERS,
        )
        assert created.status_code == 201, created.text

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
        f"{server_url}/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS
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
        f"{server_url}/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS
    ).json()["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    stored = [e["text"] for e in events if e["type"] == "customer_message"]
    assert sorted(stored) == sorted(texts)  # all of them, no duplicates
    # Each message's pipeline events follow it directly: no interleaving between requests.
    for index, event in enumerate(events):
        if event["type"] == "customer_message":
            assert [e["type"] for e in events[index + 1 : index + 3]] == ["analysis", "decision"]


def test_two_agents_claiming_at_the_same_moment_one_wins_fifty_times_in_a_row(
    server_url: str,
) -> None:
    tokens = []
    for name in ("ana", "ben"):
        created = httpx.post(
            f"{server_url}/api/v1/agents",
            json={"id": name, "name": name.title()},
            headers=API_KEY_HEADERS,
        )
        tokens.append({"Authorization": f"Bearer {created.json()['token']}"})
    conversations = []
    for _ in range(50):
        conversations.append(_escalated_conversation(server_url))
    with httpx.Client(timeout=30) as first, httpx.Client(timeout=30) as second:
        for conversation_id in conversations:
            barrier = threading.Barrier(2)

            def claim(
                http: httpx.Client,
                headers: dict[str, str],
                cid: str = conversation_id,
                start: threading.Barrier = barrier,
            ) -> int:
                start.wait()
                return http.post(
                    f"{server_url}/api/v1/conversations/{cid}/claim", headers=headers
                ).status_code

            with ThreadPoolExecutor(2) as pool:
                outcomes = list(pool.map(claim, (first, second), tokens))
            assert sorted(outcomes) == [200, 409], (conversation_id, outcomes)
            state = httpx.get(
                f"{server_url}/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS
            ).json()
            assert sum(e["type"] == "agent_assigned" for e in state["events"]) == 1


def test_a_long_import_never_holds_up_live_messages(server_url: str) -> None:
    """An import runs its turns through the pipeline in memory and writes once at the end, so
    a customer writing meanwhile is answered at once (it used to wait for the whole import)."""
    turns = [
        {
            "speaker": "customer" if i % 2 == 0 else "agent",
            "text": f"message number {i} about my order {10_000 + i}",
            "ts": f"2026-01-01T10:{i // 60:02d}:{i % 60:02d}Z",
        }
        for i in range(500)
    ]
    result: dict[str, float] = {}

    def run_import() -> None:
        started = time.monotonic()
        answer = httpx.post(
            f"{server_url}/api/v1/admin/conversations/import",
            json={"turns": turns},
            headers=API_KEY_HEADERS,
            timeout=120,
        )
        assert answer.status_code == 201, answer.text
        result["import"] = time.monotonic() - started

    conversation_id, headers = _conversation(server_url)
    importer = threading.Thread(target=run_import)
    importer.start()
    time.sleep(0.3)
    started = time.monotonic()
    answer = httpx.post(
        f"{server_url}/api/v1/conversations/{conversation_id}/messages",
        json={"text": "where is my parcel?"},
        headers=headers,
        timeout=60,
    )
    live = time.monotonic() - started
    importer.join(120)
    assert answer.status_code == 200
    assert result["import"] > 0.5  # the import really was long (about 1 s)...
    assert live < result["import"] / 2  # ...and the live message did not wait for it
