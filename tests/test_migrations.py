"""Migrations: the data migration of 0003 masks personal data written before masking existed
and repairs text that no longer encodes (SQLite), on both backends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pg import fresh_database
from warmline.storage.db import make_engine
from warmline.storage.migrate import upgrade

CARD = "4111 1111 1111 1111"


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A database with no schema at all, to migrate step by step."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_server")) as url:
        yield url


def _old_rows(url: str, text: str) -> None:
    """What revision 0002 could hold: a message and an idempotent answer in clear."""
    engine = make_engine(url)
    cast = "CAST(:data AS JSONB)" if url.startswith("postgresql") else ":data"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO conversations (id, channel, status, priority, last_seq, created_at,"
                " updated_at, senior, frustration) VALUES ('c1', 'web', 'bot', 0, 1,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, false, 0)"
            )
        )
        data = json.dumps({"type": "customer_message", "text": text, "ts": "2026-01-01T00:00:00Z"})
        connection.execute(
            sa.text(
                "INSERT INTO events (conversation_id, seq, type, ts, data) VALUES"
                f" ('c1', 1, 'customer_message', CURRENT_TIMESTAMP, {cast})"
            ),
            {"data": data},
        )
        connection.execute(
            sa.text(
                "INSERT INTO idempotency_keys (conversation_id, key, request_hash, response,"
                f" created_at) VALUES ('c1', 'k', 'h', {cast}, CURRENT_TIMESTAMP)"
            ),
            {"data": json.dumps({"reply": f"noted {text}"})},
        )
    engine.dispose()


def _stored(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT data FROM events")).fetchall()
        rows += connection.execute(sa.text("SELECT response FROM idempotency_keys")).fetchall()
    engine.dispose()
    return " ".join(str(row[0]) for row in rows)


def test_0003_masks_card_numbers_and_emails_stored_in_clear(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0002")
    _old_rows(empty_database_url, f"card {CARD}, mail me at ana.lopez@example.com")
    upgrade(empty_database_url)
    stored = _stored(empty_database_url)
    assert CARD not in stored and "ana.lopez@example.com" not in stored
    assert "[CARD visa ending 1111]" in stored and "[EMAIL a***@example.com]" in stored
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        keys = connection.execute(sa.text("SELECT key FROM idempotency_keys")).scalars().all()
    engine.dispose()
    assert keys == [hashlib.sha256(b"k").hexdigest()]  # the raw key is gone


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL never accepted these
def test_0003_repairs_lone_surrogates_and_nul(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0002")
    _old_rows(empty_database_url, "broken \ud800 and \x00 here")
    upgrade(empty_database_url)
    stored = _stored(empty_database_url)
    assert "broken \ufffd and \ufffd here" in stored
