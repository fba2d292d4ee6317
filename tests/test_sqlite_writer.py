"""SQLite's writer lock (storage/db.py): it is released after COMMIT or ROLLBACK has run,
and never leaks, whatever happens to the connection (found by a review of issue 11; each of
these failed before the fix)."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from warmline.storage.db import make_engine, make_session_factory


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    return engine


def _writer_free(engine: Engine, timeout: float = 2.0) -> bool:
    done = threading.Event()

    def write() -> None:
        with make_session_factory(engine)() as session, session.begin():
            session.execute(text("INSERT INTO t VALUES (1)"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done.wait(timeout)


def test_writer_lock_survives_an_exit_exception_mid_statement(tmp_path: Path) -> None:
    engine = _engine(tmp_path)

    @event.listens_for(engine, "before_cursor_execute")
    def interrupt(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if "interrupt" in statement:
            raise KeyboardInterrupt  # SQLAlchemy invalidates the connection on exit exceptions

    with (
        pytest.raises(BaseException) as raised,
        make_session_factory(engine)() as session,
        session.begin(),
    ):
        session.execute(text("SELECT 'interrupt'"))
    assert raised.type is KeyboardInterrupt  # not replaced by PendingRollbackError
    assert _writer_free(engine), "the SQLite writer lock leaked: every later write hangs"


def test_writer_lock_survives_an_abandoned_session(tmp_path: Path) -> None:
    engine = _engine(tmp_path)

    def abandon() -> None:
        session = make_session_factory(engine)()
        session.begin()
        session.execute(text("INSERT INTO t VALUES (1)"))

    abandon()
    gc.collect()
    assert _writer_free(engine), "the SQLite writer lock leaked: every later write hangs"


def test_writer_lock_is_released_after_commit_not_before(tmp_path: Path) -> None:
    """Released in the `commit` event, i.e. before COMMIT runs, the next writer's BEGIN
    IMMEDIATE meets SQLITE_BUSY and sleeps in SQLite's busy handler (>= 1 ms)."""
    engine = _engine(tmp_path)
    sessions = make_session_factory(engine)
    slow: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def start(connection: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if statement == "BEGIN IMMEDIATE":
            connection.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def end(connection: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if statement == "BEGIN IMMEDIATE" and time.perf_counter() - connection.info["t0"] > 0.001:
            slow.append(1)

    def work() -> None:
        for i in range(200):
            with sessions() as session, session.begin():
                session.execute(text("INSERT INTO t VALUES (:i)"), {"i": i})

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slow) < 5, f"{len(slow)} of 1200 BEGIN IMMEDIATE waited in the busy handler"
