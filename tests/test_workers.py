"""What several workers share through PostgreSQL (issue 11): new events wake long-polls held
by another worker, and a policy reload reaches every worker. Two apps on one database stand
for two worker processes; with SQLite, the one process notices itself."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, open_conversation, say, wait_until
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.bootstrap import build_services
from warmline.config import Settings
from warmline.policy.loader import DEFAULT_POLICY_FILE
from warmline.storage.broadcast import PostgresBroadcast


def _events_url(conversation_id: str) -> str:
    return f"/api/v1/conversations/{conversation_id}/events"


def _poll_in_background(
    client: TestClient, conversation_id: str, headers: dict[str, str], waiting: Services
) -> tuple[threading.Thread, dict[str, Any]]:
    """A long-poll (up to 10 s) for the events after the ones there now, held by `client`'s
    worker; returns once that worker has it waiting. The result holds the answer and the wait."""
    last = client.get(_events_url(conversation_id), headers=headers).json()["last_seq"]
    result: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        answer = client.get(
            _events_url(conversation_id), params={"after": last, "wait": 10}, headers=headers
        ).json()
        result["answer"] = (answer, time.monotonic() - started)

    poller = threading.Thread(target=poll)
    poller.start()
    assert wait_until(lambda: len(waiting.watchers) > 0, 10)
    return poller, result


def test_a_long_poll_wakes_when_the_conversation_moves(
    client: TestClient, services: Services
) -> None:
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "hello")
    poller, result = _poll_in_background(client, conversation_id, headers, services)
    say(client, conversation_id, headers, "where is my order 12345?")
    poller.join(15)
    answer, waited = result["answer"]
    assert waited < 5
    types = [e["type"] for e in answer["events"]]
    assert types == ["customer_message", "bot_reply"]  # what a customer may see
    assert answer["last_seq"] >= answer["events"][-1]["seq"]  # hidden events count too
    idle = client.get(
        _events_url(conversation_id),
        params={"after": answer["last_seq"], "wait": 0.3},
        headers=headers,
    ).json()
    assert idle["events"] == [] and idle["last_seq"] == answer["last_seq"]


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_workers_share_event_notices_and_policy_reloads(
    settings: Settings, backend: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEFAULT_POLICY_FILE.read_text())
    shared = settings.model_copy(update={"policy_file": policy})
    first, second = build_services(shared), build_services(shared)
    with (
        TestClient(create_app(shared, first)) as one,
        TestClient(create_app(shared, second)) as two,
    ):
        for services in (first, second):
            assert isinstance(services.broadcast, PostgresBroadcast)
            assert wait_until(services.broadcast.listening.is_set, 10)
        conversation_id, headers = open_conversation(one)
        say(one, conversation_id, headers, "hi")
        poller, result = _poll_in_background(two, conversation_id, headers, second)
        say(one, conversation_id, headers, "can you check order 4455?")  # stored by worker one
        poller.join(15)
        answer, waited = result["answer"]
        assert waited < 5 and answer["events"][0]["type"] == "customer_message"
        # A reload on one worker reaches the other.
        before = two.get("/api/v1/admin/policy", headers=API_KEY_HEADERS).json()["label"]
        policy.write_text(policy.read_text().replace("name: default", "name: reloaded", 1))
        reloaded = one.post("/api/v1/admin/policy/reload", headers=API_KEY_HEADERS).json()
        assert reloaded["label"] != before and reloaded["name"] == "reloaded"
        assert wait_until(
            lambda: (
                two.get("/api/v1/admin/policy", headers=API_KEY_HEADERS).json()["label"]
                == reloaded["label"]
            ),
            5,
        )
    for services in (first, second):
        services.sessions.kw["bind"].dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_worker_started_later_runs_the_policy_in_force_not_the_edited_file(
    settings: Settings, backend: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEFAULT_POLICY_FILE.read_text().replace("name: default", "name: ours", 1))
    shared = settings.model_copy(update={"policy_file": policy})
    first = build_services(shared)
    with TestClient(create_app(shared, first)) as one:  # a single process: its file rules
        in_force = one.get("/api/v1/admin/policy", headers=API_KEY_HEADERS).json()["label"]
        assert in_force.startswith("ours@")
        # Someone edits the file (badly, even) without reloading; a worker (re)starts.
        policy.write_text("name: broken\ntriggers: [this is not valid\n")
        restarted = build_services(settings)  # the shipped policy file, but...
        with TestClient(create_app(settings, restarted, worker=True)) as two:
            label = two.get("/api/v1/admin/policy", headers=API_KEY_HEADERS).json()["label"]
            assert label == in_force  # ...it runs the policy in force
            refused = one.post("/api/v1/admin/policy/reload", headers=API_KEY_HEADERS)
            assert refused.status_code == 422  # the broken file is refused everywhere
            assert two.get("/api/v1/admin/policy", headers=API_KEY_HEADERS).json()["label"] == (
                in_force
            )
    for services in (first, restarted):
        services.sessions.kw["bind"].dispose()
