"""Telling every process of the deployment that something changed: new events in a
conversation (so a waiting browser or long-poll wakes), a reloaded policy.

With SQLite there is one process and the notice is delivered in it. With PostgreSQL each
process LISTENs on its own connection (a background thread) and notices go out with NOTIFY,
so a message stored by one worker wakes the long-polls held by another. Notices are sent only
after the transaction that caused them commits (`storage.db` hands them over then), and carry
no personal data: a conversation id and a sequence number, or a policy label. On PostgreSQL
the notice of new events is sent inside the transaction that stored them (NOTIFY is delivered
at commit, and never on rollback), at the cost of one statement.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from warmline.storage.db import on_commit

log = logging.getLogger(__name__)
EVENTS = "warmline_events"
POLICY = "warmline_policy"
TYPING = "warmline_typing"
EMAIL = "warmline_email"  # the email outbox has work due now
Listener = Callable[[str], None]
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class Broadcast(Protocol):
    """Publish a notice to every process; subscribe to a channel's notices."""

    def publish(self, channel: str, payload: str) -> None:
        """Send a notice now (callers send only what is committed)."""
        ...

    def publish_in(self, session: Session, channel: str, payload: str) -> None:
        """Send a notice when the session's transaction commits (never if it rolls back)."""
        ...

    def subscribe(self, channel: str, listener: Listener) -> None:
        """Call `listener(payload)` for every notice on `channel` (from any thread)."""
        ...

    def close(self) -> None:
        """Stop listening."""
        ...


class _Subscribers:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._lock = threading.Lock()

    def add(self, channel: str, listener: Listener) -> None:
        with self._lock:
            self._listeners[channel].append(listener)

    def deliver(self, channel: str, payload: str) -> None:
        with self._lock:
            listeners = list(self._listeners.get(channel, ()))
        for listener in listeners:
            try:
                listener(payload)
            except Exception:  # one broken listener must not silence the others
                log.exception("a listener of %s failed", channel)


class LocalBroadcast:
    """One process: a notice is delivered to this process's subscribers at once."""

    def __init__(self) -> None:
        self._subscribers = _Subscribers()

    def publish(self, channel: str, payload: str) -> None:
        self._subscribers.deliver(channel, payload)

    def publish_in(self, session: Session, channel: str, payload: str) -> None:
        on_commit(session, lambda: self._subscribers.deliver(channel, payload))

    def subscribe(self, channel: str, listener: Listener) -> None:
        self._subscribers.add(channel, listener)

    def close(self) -> None:
        """Nothing to stop."""


class PostgresBroadcast:
    """Every process: NOTIFY out, and a LISTEN connection in a background thread that
    reconnects by itself when the database comes back."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._subscribers = _Subscribers()
        self._channels: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.listening = threading.Event()  # set while a LISTEN connection is up

    def publish(self, channel: str, payload: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(_NOTIFY, {"channel": channel, "payload": payload})

    def publish_in(self, session: Session, channel: str, payload: str) -> None:
        # NOTIFY is transactional: PostgreSQL delivers it at commit, in commit order.
        session.execute(_NOTIFY, {"channel": channel, "payload": payload})

    def subscribe(self, channel: str, listener: Listener) -> None:
        self._subscribers.add(channel, listener)
        with self._lock:
            self._channels.add(channel)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="warmline-listen", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _listen(self) -> None:
        import psycopg

        url = make_url(self._engine.url).set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    listening: set[str] = set()
                    while not self._stop.is_set():
                        self._listen_to_new(connection, listening)
                        self.listening.set()
                        for notice in connection.notifies(timeout=0.5):
                            self._subscribers.deliver(notice.channel, notice.payload)
            except psycopg.Error as error:
                self.listening.clear()
                log.warning("listening for notices failed (%s); retrying", type(error).__name__)
                self._stop.wait(1.0)

    def _listen_to_new(self, connection: Any, listening: set[str]) -> None:
        with self._lock:
            new = self._channels - listening
        for channel in sorted(new):
            connection.execute(f'LISTEN "{channel}"')
            listening.add(channel)


def make_broadcast(engine: Engine) -> Broadcast:
    """PostgreSQL's NOTIFY for PostgreSQL, in-process delivery for SQLite (one process)."""
    if engine.dialect.name == "postgresql":
        return PostgresBroadcast(engine)
    return LocalBroadcast()
