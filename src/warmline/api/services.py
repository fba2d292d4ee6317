"""The objects the API views use, built once per app: settings, sessions, the engine."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from anyio import CapacityLimiter
from sqlalchemy.orm import Session, sessionmaker

from warmline.api.ordering import KeyedLocks
from warmline.api.watch import ConversationWatchers
from warmline.config import Settings
from warmline.engine import Engine
from warmline.handoff.coaching import ReplyBook
from warmline.storage.broadcast import Broadcast, LocalBroadcast
from warmline.storage.ratelimits import Buckets, Limit, MemoryBuckets, PostgresBuckets


@dataclass
class Services:
    """Everything a request handler may need, shared across requests."""

    settings: Settings
    sessions: sessionmaker[Session]
    engine: Engine
    readers: sessionmaker[Session] | None = None
    buckets: Buckets = field(default_factory=MemoryBuckets)
    broadcast: Broadcast = field(default_factory=LocalBroadcast)
    watchers: ConversationWatchers = field(default_factory=ConversationWatchers)
    conversation_turns: KeyedLocks = field(default_factory=KeyedLocks)
    pipeline_slots: CapacityLimiter = field(init=False)
    reply_book: ReplyBook = field(init=False)

    def __post_init__(self) -> None:
        # Messages understood at once in this process: enough to keep both cores busy (the
        # encoder runs outside the interpreter lock), few enough that threads waiting for the
        # database are not starved of the lock by a crowd of busy ones.
        self.pipeline_slots = CapacityLimiter(self.settings.pipeline_threads)
        self.reply_book = ReplyBook(self.reading)

    @property
    def shared_buckets(self) -> bool:
        """Whether the rate-limit buckets live in the database (a call that blocks)."""
        return isinstance(self.buckets, PostgresBuckets)

    def conversation_limit(self) -> Limit:
        """How fast one conversation may send messages."""
        return Limit(
            self.settings.rate_limit_conversation_burst,
            self.settings.rate_limit_conversation_per_second,
        )

    def client_limit(self) -> Limit:
        """How fast one client (address) may send requests."""
        return Limit(
            self.settings.rate_limit_client_burst, self.settings.rate_limit_client_per_second
        )

    @property
    def reading(self) -> sessionmaker[Session]:
        """Sessions for views that only read (never the SQLite write lock)."""
        return self.readers or self.sessions

    def conversation_token(self, conversation_id: str) -> str:
        """The customer's bearer token for one conversation (an HMAC, so nothing is stored)."""
        key = self.settings.secret_key.encode("utf-8")
        return hmac.new(key, conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()
