"""A round of work repeated in a daemon thread of each server process: webhook delivery, the
email outbox, service level checks. One loop so that each job says only what a round does."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


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
