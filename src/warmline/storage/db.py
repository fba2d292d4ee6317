"""Engine and session factory: SQLite (WAL, busy timeout, serialised writers) or PostgreSQL.

The transaction opens at the boundary (API view, engine, CLI); services receive the session
and never commit. Callbacks registered with `on_commit` run only after a successful commit,
so channels never announce something that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
_AFTER_COMMIT_KEY = "warmline_after_commit"
KEEP_CONTACTS_KEY = "warmline_keep_contact_details"


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, tuned for its backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(False))
    # hide_parameters: a database error must never carry a customer's words into a log line.
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )


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

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: read-then-append transactions never deadlock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(
    engine: Engine, *, keep_contact_details: bool = False
) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit.

    `keep_contact_details` (the deployment's `WARMLINE_KEEP_CONTACT_DETAILS`) travels in each
    session's `info`, where the repositories read it when they mask what they write.
    """
    factory = sessionmaker(
        bind=engine,
        expire_on_commit=False,
        info={KEEP_CONTACTS_KEY: keep_contact_details},
    )

    @event.listens_for(factory, "after_commit")
    def _run_after_commit(session: Session) -> None:
        callbacks = session.info.pop(_AFTER_COMMIT_KEY, [])
        for callback in callbacks:
            callback()

    @event.listens_for(factory, "after_rollback")
    def _drop_after_commit(session: Session) -> None:
        session.info.pop(_AFTER_COMMIT_KEY, None)

    return factory


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction commits (dropped on rollback)."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


def keeps_contact_details(session: Session) -> bool:
    """Whether this deployment stores emails and phone numbers in message text as written."""
    return bool(session.info.get(KEEP_CONTACTS_KEY, False))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
