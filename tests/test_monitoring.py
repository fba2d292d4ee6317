"""Prometheus metrics at /metrics: latency by route template, decisions, escalations and the
queue; summed over the workers when the server runs several."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, add_agent, assert_problem, open_conversation, say
from servers import free_port, server_environment, start_server


def _value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels}` of an exposition text (0 if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        metric, _, rest = sample.partition("{")
        found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if metric == name and found == wanted:
            return float(value)
    return 0.0


def test_metrics_count_decisions_escalations_latency_and_the_queue(client: TestClient) -> None:
    sue = add_agent(client, "sue", role="supervisor")
    before = client.get("/metrics", headers=sue).text
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "How do I reset my password?")
    say(client, conversation_id, headers, "I want to talk to a person")
    response = client.get("/metrics", headers=sue)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _value(text, "warmline_decisions_total", action="escalate") == (
        _value(before, "warmline_decisions_total", action="escalate") + 1
    )
    assert _value(text, "warmline_escalations_total", reason="escape_hatch") == (
        _value(before, "warmline_escalations_total", reason="escape_hatch") + 1
    )
    assert _value(text, "warmline_queue_length") == 1
    assert _value(text, "warmline_queue_oldest_wait_seconds") >= 0
    route = "/api/v1/conversations/{conversation_id}/messages"
    count = _value(text, "warmline_request_seconds_count", method="POST", route=route, status="2xx")
    assert count >= 2
    assert conversation_id not in text  # ids never become label values
    agent = add_agent(client, "al")
    assert_problem(client.get("/metrics", headers=agent), 403)
    assert_problem(client.get("/metrics"), 401)
    assert client.get("/metrics", headers=API_KEY_HEADERS).status_code == 200


def _converse(base: str) -> None:
    """Open a conversation and send one message, on a fresh connection."""
    with httpx.Client(base_url=base, timeout=30) as one:
        made = one.post("/api/v1/conversations", json={})
        token = {"Authorization": f"Bearer {made.json()['token']}"}
        answered = one.post(
            f"/api/v1/conversations/{made.json()['id']}/messages",
            json={"text": "where is my order?"},
            headers=token,
        )
        assert answered.status_code == 200, answered.text


@pytest.mark.parametrize("backend", ["postgres"])
def test_metrics_are_summed_over_the_workers(
    database_url: str, backend: str, tmp_path: Path
) -> None:
    env = server_environment(tmp_path, database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    folder = tmp_path / "prometheus"
    sent = 0
    with (tmp_path / "server.log").open("wb") as log:
        server = start_server(env, port, log, workers=2)
        try:
            # Concurrent rounds until both workers have counted some: the kernel spreads new
            # connections, but not evenly, and the second worker may still be loading its
            # models when the first answers. At most 90 s.
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(lambda _: _converse(base), range(8)))
                sent += 8
                if len(_workers_counted(folder)) == 2:
                    break
                time.sleep(0.5)
            key = {"X-API-Key": env["WARMLINE_API_KEY"]}
            totals = set()
            for _ in range(6):  # each scrape may land on either worker: all must agree
                text = httpx.get(f"{base}/metrics", headers=key, timeout=30).text
                totals.add(
                    sum(
                        float(m.group(1))
                        for m in re.finditer(
                            r"^warmline_decisions_total\{[^}]*\} (\S+)$", text, re.M
                        )
                    )
                )
        finally:
            server.terminate()
            server.wait(15)
    assert len(_workers_counted(folder)) == 2  # both workers answered some messages
    assert totals == {float(sent)}


def _workers_counted(folder: Path) -> set[str]:
    """The process ids with a counter file in the multiprocess folder."""
    return {path.stem.split("_")[1] for path in folder.glob("counter_*.db")}
