"""Personal data never reaches the disk or the logs: a real server on loopback is fed planted
card numbers, emails and phones; then the database file, its WAL and the server's log are
scanned byte by byte. Only the customer profile (identities) may hold an email or phone."""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from helpers import TEST_ENVIRONMENT
from servers import free_port, server_environment, start_server
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.bootstrap import configure_logging, uvicorn_config
from warmline.config import Settings
from warmline.storage.migrate import upgrade

CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"]
EMAILS = ["planted.person@example.net", "second.one@example.org"]
PHONES = ["+44 20 7946 0958", "(415) 555-0132"]
PROFILE_EMAIL = "profile.owner@example.com"
PROFILE_PHONE = "+34 600 111 222"


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _forms(values: list[str]) -> list[bytes]:
    """Every way a value could be written down: as given, and as bare digits."""
    forms = {value.encode() for value in values}
    forms |= {_digits(value).encode() for value in values if _digits(value)}
    return sorted(forms)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """`warmline serve` as a separate process on SQLite, logging at DEBUG into a file."""
    env = server_environment(tmp_path, WARMLINE_LOG_LEVEL="DEBUG")
    upgrade(f"sqlite:///{tmp_path / 'warmline.db'}")
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = start_server(env, port, log)
        url = f"http://127.0.0.1:{port}"
        try:
            yield url, tmp_path / "warmline.db", log_path
        finally:
            process.kill()  # kill -9: the WAL stays as it was, nothing is checkpointed
            process.wait(10)


def test_planted_personal_data_is_found_nowhere_on_disk_or_in_the_log(
    served: tuple[str, Path, Path],
) -> None:
    url, database, log_path = served
    key = {"X-API-Key": TEST_ENVIRONMENT["WARMLINE_API_KEY"]}
    profile = {
        "name": f"Pat {CARDS[1]}",
        "email": PROFILE_EMAIL,
        "phone": PROFILE_PHONE,
        "tier": f"gold {CARDS[2]}",
        "plan": f"plan {EMAILS[1]}",
    }
    created = httpx.post(  # the business's systems open it, and say who the customer is
        f"{url}/api/v1/conversations", json={"customer": profile}, headers=key
    ).json()
    anonymous = httpx.post(  # a visitor types someone else's details
        f"{url}/api/v1/conversations",
        json={"customer": {"name": f"Visitor {CARDS[0]}", "email": EMAILS[0]}},
    )
    assert anonymous.status_code == 201
    conversation = f"{url}/api/v1/conversations/{created['id']}"
    customer = {"Authorization": f"Bearer {created['token']}"}
    texts = [
        f"my card {CARDS[0]} was declined, email me at {EMAILS[0]}",
        f"try {CARDS[1]} instead or call {PHONES[0]}",
        f"also amex {CARDS[2]}, reach {EMAILS[1]} / {PHONES[1]}, or {PROFILE_EMAIL}",
        "this is useless, get me a human NOW",
    ]
    for number, text in enumerate(texts):
        answer = httpx.post(
            f"{conversation}/messages",
            json={"text": text},
            headers={**customer, "Idempotency-Key": f"{_digits(CARDS[0])}:{EMAILS[0]}:{number}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    agent = httpx.post(
        f"{url}/api/v1/agents", json={"id": "alex", "name": "Alex"}, headers=key
    ).json()
    alex = {"Authorization": f"Bearer {agent['token']}"}
    assert httpx.post(f"{conversation}/claim", headers=alex).status_code == 200
    note = f"card on file {CARDS[0]}, callback {PHONES[1]}"
    assert httpx.post(f"{conversation}/notes", json={"text": note}, headers=alex).is_success
    reply = f"I have noted {EMAILS[0]}"
    assert httpx.post(
        f"{conversation}/agent-messages", json={"text": reply}, headers=alex
    ).is_success
    # Error paths log too: a refused body and bad credentials.
    httpx.post(f"{conversation}/messages", content=f'{{"text": "{CARDS[0]}"', headers=customer)
    httpx.get(f"{url}/api/v1/queue", headers={"Authorization": f"Bearer {CARDS[0]}"})

    planted = [form for form in _forms(CARDS + EMAILS + PHONES) if form != EMAILS[0].encode()]
    # EMAILS[0] may stay in one place only: the anonymous visitor's own unverified contact.
    files = [database, Path(f"{database}-wal"), log_path]
    assert Path(f"{database}-wal").exists()
    for path in files:
        content = path.read_bytes()
        found = [form for form in planted if form in content]
        assert found == [], f"{path.name} holds {found}"
    # The profile's own email and phone live in the identities table and nowhere else.
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        elsewhere = "\n".join(
            repr(row)
            for table in tables
            if table != "identities"
            for row in db.execute(f"SELECT * FROM {table}")
        )
        identities = repr(db.execute("SELECT value FROM identities").fetchall())
    for form in _forms([PROFILE_EMAIL, PROFILE_PHONE]):
        assert form.decode() not in elsewhere
    assert PROFILE_EMAIL in identities
    # The visitor's typed email is kept once, as their own unverified contact, nowhere else.
    assert elsewhere.count(EMAILS[0]) == 1 and "unverified_contact" in elsewhere
    assert EMAILS[0].encode() not in log_path.read_bytes()


def test_uvicorn_tracebacks_are_redacted(settings: Settings, services: Services) -> None:
    """An exception that escapes to uvicorn ("Exception in ASGI application") is logged through
    the redacting handler, with the customer's data masked in the traceback."""
    app = create_app(settings, services)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(f"database said: value {CARDS[0]} and {EMAILS[0]} rejected")

    stream = io.StringIO()
    configure_logging("INFO", stream)
    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, settings=settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(1000):
            if server.started:
                break
            thread.join(0.01)
        response = httpx.get(f"http://127.0.0.1:{port}/boom")
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
    finally:
        server.should_exit = True
        thread.join(10)
        logging.getLogger().handlers.clear()
    logged = stream.getvalue()
    assert "Exception in ASGI application" in logged and "RuntimeError" in logged
    assert CARDS[0] not in logged and EMAILS[0] not in logged
    assert "[CARD]" in logged and "[EMAIL]" in logged
