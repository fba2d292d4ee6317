"""Limits under abuse (issue 11): rate limits per conversation and per client (shared by the
workers on PostgreSQL), bodies that come slowly or never, connections that never send a
request, and the database going away in the middle of a load."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from helpers import assert_problem, make_test_settings, open_conversation, wait_until
from pg import ThrowawayCluster
from warmline.api.app import create_app
from warmline.api.protocol import protocol_with_timeout
from warmline.bootstrap import build_services, uvicorn_config
from warmline.config import Settings
from warmline.storage.migrate import upgrade


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Tight limits, so that a test can reach them."""
    return make_test_settings(
        database_url,
        tmp_path,
        rate_limit_conversation_burst=3,
        rate_limit_conversation_per_second=0.5,
        rate_limit_client_burst=12,
        rate_limit_client_per_second=2.0,
        header_timeout_seconds=1.0,
        body_timeout_seconds=1.0,
        max_connections=2500,
    )


def _post(client: TestClient, conversation_id: str, headers: dict[str, str], text: str) -> Any:
    return client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=headers
    )


def test_a_flooded_conversation_is_told_to_wait_and_others_are_not(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    answers = [_post(client, conversation_id, headers, f"hello {i}") for i in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    problem = assert_problem(answers[3], 429)
    assert problem["type"].endswith("/too-many-requests")
    assert int(answers[3].headers["retry-after"]) >= 1
    other_id, other_headers = open_conversation(client)
    assert _post(client, other_id, other_headers, "hi").status_code == 200
    time.sleep(int(answers[3].headers["retry-after"]))
    assert _post(client, conversation_id, headers, "hello again").status_code == 200
    events = client.get(f"/api/v1/conversations/{conversation_id}", headers=headers).json()
    said = [e["text"] for e in events["events"] if e["type"] == "customer_message"]
    assert said == ["hello 0", "hello 1", "hello 2", "hello again"]  # the refused one is not


def test_a_flooding_client_is_refused_but_health_checks_are_not(client: TestClient) -> None:
    statuses = [client.get("/api/v1/queue").status_code for _ in range(14)]
    assert statuses[:12] == [401] * 12  # counted even without credentials
    refused = client.get("/api/v1/queue")
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert all(client.get("/healthz").status_code == 200 for _ in range(20))


@pytest.mark.parametrize("backend", ["postgres"])
def test_workers_share_their_rate_limits_through_postgresql(
    settings: Settings, backend: str
) -> None:
    """Two apps on one database (as two worker processes would be) count one client's
    requests together."""
    # A bucket that does not refill during the test: on a loaded machine 13 requests through
    # PostgreSQL can take longer than the half second in which 2 tokens/s gives one back.
    settings = settings.model_copy(update={"rate_limit_client_per_second": 0.01})
    first, second = build_services(settings), build_services(settings)
    with (
        TestClient(create_app(settings, first)) as one,
        TestClient(create_app(settings, second)) as two,
    ):
        statuses = [(one if i % 2 else two).get("/api/v1/queue").status_code for i in range(12)]
        assert statuses == [401] * 12  # 12 = the burst, taken half on each
        assert_problem(one.get("/api/v1/queue"), 429)
        assert_problem(two.get("/api/v1/queue"), 429)


def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def test_a_body_that_never_finishes_is_408_and_headers_that_never_end_are_cut(
    server_url: str,
) -> None:
    with _raw(server_url) as slow:
        slow.sendall(
            b"POST /api/v1/conversations HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"chan'
        )
        answer = slow.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408") and b"application/problem+json" in answer
    for opening in (b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "):
        with _raw(server_url) as idle:
            idle.sendall(opening)
            started = time.monotonic()
            assert idle.recv(1024) == b""  # closed by the server, without an answer
            assert time.monotonic() - started < 4
    assert httpx.get(f"{server_url}/healthz").status_code == 200


def test_thousands_of_idle_connections_neither_block_nor_linger(server_url: str) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4096)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    idle = [_raw(server_url) for _ in range(min(2000, wanted - 200))]
    try:
        started = time.monotonic()
        assert httpx.get(f"{server_url}/healthz", timeout=10).status_code == 200
        assert time.monotonic() - started < 5
        closed = 0  # each read waits for the server to close it at the header deadline
        for sock in idle:
            sock.settimeout(5)
            closed += sock.recv(16) == b""
        assert closed == len(idle)
    finally:
        for sock in idle:
            sock.close()
    assert httpx.get(f"{server_url}/healthz").status_code == 200


# --- the database goes away ---------------------------------------------------------------


@pytest.fixture
def own_cluster() -> Iterator[ThrowawayCluster]:
    """A durable PostgreSQL cluster of this test alone, which it may stop and start."""
    cluster = ThrowawayCluster(durable=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


def _serve(app: Any, settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, settings=settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started:
            break
        thread.join(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


def test_the_database_going_away_is_503_then_service_resumes_with_nothing_half_stored(
    own_cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    admin = sa.create_engine(own_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("CREATE DATABASE away"))
    admin.dispose()
    url = own_cluster.url.rsplit("/", 1)[0] + "/away"
    upgrade(url)
    settings = make_test_settings(url, tmp_path)
    services = build_services(settings)
    server, thread, base = _serve(create_app(settings, services), settings)
    conversations = []
    for _ in range(8):
        created = httpx.post(f"{base}/api/v1/conversations", json={}).json()
        conversations.append((created["id"], {"Authorization": f"Bearer {created['token']}"}))
    results: list[tuple[str, str, str, int, dict[str, str]]] = []
    done = threading.Event()
    give_up = time.monotonic() + 120

    def talk(conversation: tuple[str, dict[str, str]]) -> None:
        conversation_id, headers = conversation
        with httpx.Client(timeout=30) as http:
            while not done.is_set() and time.monotonic() < give_up:
                key, text = uuid.uuid4().hex, f"where is my order {uuid.uuid4().int % 10**6}?"
                response = http.post(
                    f"{base}/api/v1/conversations/{conversation_id}/messages",
                    json={"text": text},
                    headers={**headers, "Idempotency-Key": key},
                )
                results.append(
                    (conversation_id, key, text, response.status_code, dict(response.headers))
                )
                if response.status_code == 503:
                    time.sleep(0.2)

    try:
        with ThreadPoolExecutor(len(conversations)) as pool:
            running = [pool.submit(talk, c) for c in conversations]
            try:
                assert wait_until(lambda: _answered(results) >= 8, 60)  # serving normally
                own_cluster.stop()
                assert wait_until(lambda: any(r[3] == 503 for r in results), 60)  # noticed
                own_cluster.start()
                back = len(results)
                assert wait_until(lambda: _answered(results[back:]) >= 8, 60)  # and back
            finally:
                done.set()  # the talkers stop even when a step above failed
            for future in running:
                future.result()
        statuses = {status for *_, status, _ in results}
        assert statuses <= {200, 503}, statuses
        down = [r for r in results if r[3] == 503]
        assert down and all(r[4]["retry-after"] == "2" for r in down)
        assert results[-1][3] == 200  # it came back without a restart
        # Messages refused while it was down: retried with their keys, stored once.
        headers_of = dict(conversations)
        for conversation_id, key, text, _status, _ in down:
            retried = httpx.post(
                f"{base}/api/v1/conversations/{conversation_id}/messages",
                json={"text": text},
                headers={**headers_of[conversation_id], "Idempotency-Key": key},
                timeout=30,
            )
            assert retried.status_code == 200, retried.text
        sent = {(c, t) for c, _, t, _status, _ in results}
        for conversation_id, _headers in conversations:
            events = httpx.get(
                f"{base}/api/v1/conversations/{conversation_id}",
                headers={"X-API-Key": settings.api_key},
                timeout=30,
            ).json()["events"]
            stored = [e["text"] for e in events if e["type"] == "customer_message"]
            assert len(stored) == len(set(stored))  # each once
            missing = {t for c, t in sent if c == conversation_id} - set(stored)
            assert not missing, [(r[3], r[2], r[1]) for r in results if r[2] in missing]
            assert set(stored) <= {t for c, t in sent if c == conversation_id}
            for index, event in enumerate(events):  # nothing half-stored
                if event["type"] == "customer_message":
                    following = [e["type"] for e in events[index + 1 : index + 3]]
                    assert following == ["analysis", "decision"]
    finally:
        server.should_exit = True
        thread.join(10)
        services.sessions.kw["bind"].dispose()


def test_memory_buckets_forget_clients_that_went_quiet() -> None:
    from warmline.storage.ratelimits import Limit, MemoryBuckets

    buckets = MemoryBuckets(sweep_every=100)
    limit = Limit(burst=2, rate=1000.0)  # full again a few milliseconds after a request
    for number in range(5_000):
        assert buckets.take(f"conversation:{number}", limit).allowed
        if number % 100 == 99:
            time.sleep(0.005)
    assert len(buckets) < 200  # not 5,000: the quiet ones were dropped


def test_header_deadline_does_not_close_a_connection_with_a_request_in_flight() -> None:
    """A pipelined request whose headers straddle two packets is not read while an earlier
    request runs (uvicorn pauses reading), so its header deadline expires and the connection
    is closed under the earlier request (here a 4 s long-poll with a 1 s header deadline)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()  # as BodySizeLimit does (this resumes reading once)
        if scope["path"] == "/poll":
            await asyncio.sleep(4)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, http=protocol_with_timeout(1.0), log_level="error"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        client = socket.create_connection(("127.0.0.1", port))
        client.settimeout(8)
        client.sendall(b"GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        client.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HT")
        time.sleep(0.3)
        client.sendall(b"TP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        try:
            while chunk := client.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        assert received.count(b"HTTP/1.1 200") == 3, received
    finally:
        server.should_exit = True
        thread.join(5)


def _answered(results: list[tuple[str, str, str, int, dict[str, str]]]) -> int:
    return sum(1 for result in results if result[3] == 200)
