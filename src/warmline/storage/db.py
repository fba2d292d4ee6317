"""Engine and session factories: SQLite (WAL, busy timeout, serialised writers) or PostgreSQL.

The transaction opens at the boundary (API view, engine, CLI); services receive the session
and never commit. Callbacks registered with `on_commit` run only after a successful commit,
so channels never announce something that was rolled back.

Two kinds of session: writers (`make_session_factory`; on SQLite they take the write lock at
BEGIN, so a read-then-append transaction never deadlocks) and readers (`make_reader_factory`;
a deferred BEGIN on SQLite, so reading never waits for a writer nor holds one up). Write
transactions are kept short: the message pipeline runs between a read and a write.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
_AFTER_COMMIT_KEY = "warmline_after_commit"
KEEP_CONTACTS_KEY = "warmline_keep_contact_details"
READER_OPTION = "warmline_reader"
_APPENDED_KEY = "warmline_appended"


def is_sqlite(url: str) -> bool:
    """Whether a database URL names SQLite (the embedded, single-process store)."""
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, tuned for its backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(False))
    # hide_parameters: a database error must never carry a customer's words into a log line.
    # No pre-ping (a round trip per checkout): a connection found dead fails its request with
    # 503 and SQLAlchemy replaces the whole pool, so service resumes by itself.
    return create_engine(url, pool_size=10, max_overflow=20, hide_parameters=True)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # SQLite has one writer at a time. Writers of this process queue on a lock here, woken the
    # moment it is free, instead of in SQLite's busy handler, which sleeps in growing steps
    # (up to 100 ms) and turns a queue of short transactions into a long tail.
    writer = threading.Lock()
    # Who holds it: the Connection object itself (not `connection.info`, which lives on the
    # pool record, is cleared by invalidation and cannot be read on an invalidated connection).
    holders: dict[int, Any] = {}

    def _release_once(key: int) -> None:
        if holders.pop(key, None) is not None:
            writer.release()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READER_OPTION, False):
            connection.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            # As SQLite itself would say after its busy timeout: the request is answered 503.
            raise OperationalError(
                "BEGIN IMMEDIATE", None, TimeoutError("the SQLite write lock stayed busy")
            )
        key = id(connection)
        # A connection dropped without commit or rollback (never closed, garbage collected)
        # still gives the lock back.
        holders[key] = weakref.finalize(connection, _release_once, key)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release_once(key)
            raise

    def _end(connection: Any, finish: str) -> None:
        key = id(connection)
        if key not in holders:
            return
        try:
            # Finish the transaction here, then let the next writer in: released before the
            # COMMIT ran, the next BEGIN IMMEDIATE would meet SQLITE_BUSY and SQLite's
            # sleeping busy handler. (SQLAlchemy's own COMMIT/ROLLBACK then finds no
            # transaction and does nothing.)
            if not connection.invalidated:
                getattr(connection.connection.dbapi_connection, finish)()
        finally:
            finalizer = holders.get(key)
            if finalizer is not None:
                finalizer.detach()
            _release_once(key)

    event.listen(engine, "commit", lambda connection: _end(connection, "commit"))
    event.listen(engine, "rollback", lambda connection: _end(connection, "rollback"))

    return engine


def make_session_factory(
    engine: Engine,
    *,
    keep_contact_details: bool = False,
    announce: Callable[[Session, str, int], None] | None = None,
) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit.

    `keep_contact_details` (the deployment's `WARMLINE_KEEP_CONTACT_DETAILS`) travels in each
    session's `info`, where the repositories read it when they mask what they write.
    `announce(session, conversation_id, seq)` is called as the transaction commits, for every
    conversation that gained events in it (see `appended`), to tell the deployment
    (`storage.broadcast`: in the transaction on PostgreSQL, after it otherwise).
    """
    factory = sessionmaker(
        bind=engine,
        expire_on_commit=False,
        info={KEEP_CONTACTS_KEY: keep_contact_details},
    )

    @event.listens_for(factory, "before_commit")
    def _announce(session: Session) -> None:
        notices = session.info.pop(_APPENDED_KEY, {})
        if announce is not None:
            for conversation_id, seq in notices.items():
                announce(session, conversation_id, seq)

    @event.listens_for(factory, "after_commit")
    def _run_after_commit(session: Session) -> None:
        callbacks = session.info.pop(_AFTER_COMMIT_KEY, [])
        for callback in callbacks:
            try:
                callback()
            except Exception:  # committed already: a failed notice only delays a wake-up
                logging.getLogger(__name__).warning("an after-commit callback failed")

    @event.listens_for(factory, "after_rollback")
    def _drop_after_commit(session: Session) -> None:
        session.info.pop(_AFTER_COMMIT_KEY, None)
        session.info.pop(_APPENDED_KEY, None)

    return factory


def appended(session: Session, *, conversation_id: str, seq: int) -> None:
    """Note that a conversation reached `seq` in this transaction (announced after commit)."""
    notices = session.info.setdefault(_APPENDED_KEY, {})
    notices[conversation_id] = max(seq, notices.get(conversation_id, 0))


def make_reader_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only (do not write in them): on SQLite a deferred transaction,
    which never takes the write lock; on PostgreSQL autocommit, each read its own statement
    (no BEGIN and COMMIT round trips)."""
    options: dict[str, Any] = {READER_OPTION: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return sessionmaker(bind=engine.execution_options(**options), expire_on_commit=False)


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction commits (dropped on rollback)."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


def keeps_contact_details(session: Session | sessionmaker[Session]) -> bool:
    """Whether this deployment stores emails and phone numbers in message text as written
    (asked of a session, or of the factory that makes them)."""
    info = session.info if isinstance(session, Session) else session.kw.get("info", {})
    return bool(info.get(KEEP_CONTACTS_KEY, False))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
