"""Durability under kill -9 (issue 11): a server killed in the middle of a load, and on
PostgreSQL one of two workers, loses nothing it answered and stores nothing by halves; a retry
with the same Idempotency-Key after the restart gets the stored answer."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import TEST_ENVIRONMENT
from servers import free_port, server_environment, start_server
from warmline.storage.migrate import upgrade

KEY = {"X-API-Key": TEST_ENVIRONMENT["WARMLINE_API_KEY"]}


@dataclass
class Sent:
    """One message and what became of it."""

    conversation_id: str
    key: str
    text: str
    status: int | None = None  # None: no answer (the connection broke)
    answer: dict[str, Any] = field(default_factory=dict)


def _load(base: str, conversations: list[tuple[str, dict[str, str]]], seconds: float) -> list[Sent]:
    """Post messages on every conversation for `seconds`, the next when the previous returns."""
    sent: list[Sent] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def talk(conversation_id: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=20) as http:
            while time.monotonic() < stop:
                item = Sent(
                    conversation_id, uuid.uuid4().hex, f"where is order {uuid.uuid4().int % 10**7}?"
                )
                with lock:
                    sent.append(item)
                try:
                    response = http.post(
                        f"{base}/api/v1/conversations/{conversation_id}/messages",
                        json={"text": item.text},
                        headers={**headers, "Idempotency-Key": item.key},
                    )
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                item.status = response.status_code
                if response.status_code == 200:
                    item.answer = response.json()
                else:
                    time.sleep(0.2)

    with ThreadPoolExecutor(len(conversations)) as pool:
        for future in [pool.submit(talk, c, h) for c, h in conversations]:
            future.result()
    return sent


def _open(base: str, count: int) -> list[tuple[str, dict[str, str]]]:
    opened = []
    for _ in range(count):
        data = httpx.post(f"{base}/api/v1/conversations", json={}, timeout=20).json()
        opened.append((data["id"], {"Authorization": f"Bearer {data['token']}"}))
    return opened


def _check(base: str, conversations: list[tuple[str, dict[str, str]]], sent: list[Sent]) -> None:
    """Retry what got no answer; then every answered message is stored once, whole."""
    headers = dict(conversations)
    for item in sent:
        if item.status == 200:
            continue
        retried = httpx.post(
            f"{base}/api/v1/conversations/{item.conversation_id}/messages",
            json={"text": item.text},
            headers={**headers[item.conversation_id], "Idempotency-Key": item.key},
            timeout=30,
        )
        assert retried.status_code == 200, retried.text
        item.status, item.answer = 200, retried.json()
    for item in sent:  # a retry of an answered message returns that same answer
        again = httpx.post(
            f"{base}/api/v1/conversations/{item.conversation_id}/messages",
            json={"text": item.text},
            headers={**headers[item.conversation_id], "Idempotency-Key": item.key},
            timeout=30,
        ).json()
        assert again["replayed"] and again["reply"] == item.answer["reply"]
    for conversation_id, _ in conversations:
        events = httpx.get(
            f"{base}/api/v1/conversations/{conversation_id}", headers=KEY, timeout=30
        ).json()["events"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        stored = [e["text"] for e in events if e["type"] == "customer_message"]
        expected = [i.text for i in sent if i.conversation_id == conversation_id]
        assert sorted(stored) == sorted(expected)  # every one, exactly once
        for index, event in enumerate(events):
            if event["type"] == "customer_message":
                following = [e["type"] for e in events[index + 1 : index + 3]]
                assert following == ["analysis", "decision"], following


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_server_killed_during_a_load_loses_nothing_it_answered(
    database_url: str, backend: str, tmp_path: Path
) -> None:
    url = None if backend == "sqlite" else database_url
    env = server_environment(tmp_path, url)
    if url is None:
        upgrade(f"sqlite:///{tmp_path / 'warmline.db'}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "server.log").open("wb") as log:
        server = start_server(env, port, log)
        try:
            conversations = _open(base, 6)
            killer = threading.Timer(2.0, lambda: os.kill(server.pid, signal.SIGKILL))
            killer.start()
            sent = _load(base, conversations, 4.0)
            killer.join()
            server.wait(10)
            assert any(item.status is None for item in sent), "the kill hit no request"
            server = start_server(env, port, log)
            _check(base, conversations, sent)
        finally:
            server.kill()
            server.wait(10)


@pytest.mark.parametrize("backend", ["postgres"])
def test_one_of_two_workers_killed_loses_nothing_and_the_other_keeps_serving(
    database_url: str, backend: str, tmp_path: Path
) -> None:
    import psutil

    env = server_environment(tmp_path, database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "server.log").open("wb") as log:
        server = start_server(env, port, log, workers=2)
        try:
            conversations = _open(base, 6)
            # The server answers as soon as one worker is up; wait (at most 30 s) for both.
            deadline = time.monotonic() + 30
            while True:
                workers = [  # uvicorn's workers (not multiprocessing's resource tracker)
                    child
                    for child in psutil.Process(server.pid).children()
                    if "spawn_main" in _command_line(child)
                ]
                if len(workers) == 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert len(workers) == 2
            killer = threading.Timer(2.0, lambda: os.kill(workers[0].pid, signal.SIGKILL))
            killer.start()
            sent = _load(base, conversations, 5.0)
            killer.join()
            answered_after = [i for i in sent[len(sent) // 2 :] if i.status == 200]
            assert answered_after, "the other worker stopped serving"
            _check(base, conversations, sent)
        finally:
            server.terminate()
            server.wait(20)


def _command_line(process: Any) -> str:
    """A child's command line, or "" for one that has just exited (a zombie until reaped):
    a short-lived helper process must not fail the listing."""
    import psutil

    try:
        return " ".join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess, psutil.AccessDenied):
        return ""
