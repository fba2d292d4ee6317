"""Token buckets for rate limits: in memory for one process (SQLite), in a PostgreSQL table
when several workers must share them.

A bucket holds up to `burst` tokens and gains `rate` tokens a second; each request takes one.
An empty bucket refuses, and says how long until the next token. The PostgreSQL bucket is one
atomic upsert per request on an UNLOGGED table (rate limits need no crash safety), so every
worker sees the same count.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, text

# The bucket refilled up to now; a request takes a token only if a whole one is there (a
# refused request costs nothing, so waiting `Retry-After` is always enough).
_REFILLED = (
    "LEAST(:burst, rate_limits.tokens"
    " + EXTRACT(EPOCH FROM statement_timestamp() - rate_limits.updated_at) * :rate)"
)
_UPSERT = text(
    f"""
    INSERT INTO rate_limits (key, tokens, allowed, updated_at)
    VALUES (:key, :burst - 1, true, statement_timestamp())
    ON CONFLICT (key) DO UPDATE SET
        tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
        allowed = {_REFILLED} >= 1,
        updated_at = statement_timestamp()
    RETURNING tokens, allowed
    """
)
_FORGET = text(
    "DELETE FROM rate_limits WHERE updated_at < statement_timestamp() - interval '1 hour'"
)


@dataclass(frozen=True)
class Limit:
    """`burst` requests at once, then `rate` a second."""

    burst: int
    rate: float


@dataclass(frozen=True)
class Verdict:
    """Whether one request may go ahead, and if not, in how many seconds to retry."""

    allowed: bool
    retry_after: int = 0


class Buckets(Protocol):
    """Where the buckets live."""

    def take(self, key: str, limit: Limit) -> Verdict:
        """Take one token from the key's bucket."""
        ...


def _verdict(allowed: bool, tokens: float, limit: Limit) -> Verdict:
    if allowed:
        return Verdict(True)
    return Verdict(False, max(1, math.ceil((1 - tokens) / limit.rate)))


class MemoryBuckets:
    """The buckets of one process (the embedded SQLite deployment has only one).

    A bucket that has refilled to its burst says nothing a new bucket would not, so buckets
    are dropped once full: memory follows the clients active in the last few seconds, not
    every client ever seen.
    """

    def __init__(self, sweep_every: int = 10_000) -> None:
        # key -> (tokens, when, when it will be full again)
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._sweep_every = sweep_every
        self._taken = 0
        self._lock = threading.Lock()

    def take(self, key: str, limit: Limit) -> Verdict:
        now = time.monotonic()
        with self._lock:
            tokens, then, _ = self._buckets.get(key, (float(limit.burst), now, now))
            tokens = min(float(limit.burst), tokens + (now - then) * limit.rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            full_at = now + (limit.burst - tokens) / limit.rate
            self._buckets[key] = (tokens, now, full_at)
            self._taken += 1
            if self._taken % self._sweep_every == 0:
                self._forget(now)
        return _verdict(allowed, tokens, limit)

    def _forget(self, now: float) -> None:
        """Drop buckets that are full again (they hold no information)."""
        for key in [k for k, (_, _, full_at) in self._buckets.items() if full_at <= now]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


class PostgresBuckets:
    """The buckets of every worker, in the `rate_limits` table."""

    def __init__(self, engine: Engine) -> None:
        # One statement per request, its own transaction: no BEGIN/COMMIT round trips.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._taken = 0

    def take(self, key: str, limit: Limit) -> Verdict:
        with self._engine.connect() as connection:
            tokens, allowed = connection.execute(
                _UPSERT, {"key": key, "burst": limit.burst, "rate": limit.rate}
            ).one()
            self._taken += 1
            if self._taken % 10_000 == 0:
                connection.execute(_FORGET)
        return _verdict(bool(allowed), float(tokens), limit)
