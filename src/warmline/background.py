"""A round of work repeated in a daemon thread of each server process: webhook delivery, the
email outbox, service level checks, closing quiet conversations. One loop so that each job says
only what a round does."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from warmline.domain.events import utc_now

log = logging.getLogger(__name__)
Config = TypeVar("Config")


class BackgroundLoop(ABC):
    """Runs `run_once` every `interval` seconds, or at once when woken (`wake`, any thread).
    A failing round is logged and the loop goes on: a database outage must not end it."""

    interval = 1.0  # seconds between rounds when nothing wakes the loop
    pause = 0.0  # the least time between two rounds, however often it is woken
    drain = False  # run rounds back to back while they find work
    join_seconds = 15.0  # how long `stop` waits for the round in progress

    def __init__(self, name: str) -> None:
        self.name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def run_once(self) -> int:
        """One round; how much it did (0: nothing to do)."""

    def start(self) -> None:
        """Start the rounds in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self, _payload: str = "") -> None:
        """Something is due now: look at once rather than at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the current round."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.join_seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.run_once() and self.drain and not self._stop.is_set():
                    pass
            except Exception:  # logged with its traceback; the next round retries
                log.exception("%s: round failed; retrying", self.name)
            self._wake.wait(self.interval)
            self._wake.clear()
            if self.pause:
                self._stop.wait(self.pause)  # a stop does not wait out the pause


class ReadThenWrite(BackgroundLoop, Generic[Config]):
    """A round that looks with a read-only session first and takes the write lock only when
    there is something to write (SQLite has one writer; most rounds find nothing). `config`
    gives the settings the round works to, read once per round so a reload applies at the
    next one. A subclass names its thread (`thread_name`) and says what is due and how to
    write it."""

    thread_name = "warmline-round"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        readers: sessionmaker[Session],
        config: Callable[[], Config],
        *,
        interval: float,
    ) -> None:
        super().__init__(self.thread_name)
        self.sessions = sessions
        self.readers = readers
        self.config = config
        self.interval = interval

    @abstractmethod
    def due(self, session: Session, config: Config, now: datetime) -> bool:
        """Whether the round has something to write (reads only)."""

    @abstractmethod
    def write(self, session: Session, config: Config, now: datetime) -> int:
        """Write what is due, in the session's transaction; how much was written."""

    def run_once(self, now: datetime | None = None) -> int:
        """One round: how much was written."""
        now = now or utc_now()
        config = self.config()
        with self.readers() as session:
            if not self.due(session, config, now):
                return 0
        with self.sessions() as session, session.begin():
            return self.write(session, config, now)
