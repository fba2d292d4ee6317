"""Recently active conversations, kept per process so that reading one costs an indexed read
of its sequence number plus the events it gained since, not its whole history.

Events are immutable and numbered without gaps, so a cached prefix is always right; whatever
another process (or an agent action here) appended since is read and added. Each caller gets
its own `Conversation`, rebuilt from the shared events, and may change it freely.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy.orm import Session

from warmline.domain.conversation import Conversation
from warmline.domain.events import AnyEvent
from warmline.storage import conversations as store

DEFAULT_CAPACITY = 256


class ConversationStates:
    """A bounded LRU of conversations' events, read through to the database."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._events: OrderedDict[str, tuple[AnyEvent, ...]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def current(self, session: Session, *, conversation_id: str) -> Conversation | None:
        """The conversation as stored now, or None if it does not exist."""
        head = store.head(session, conversation_id=conversation_id)
        if head is None:
            return None
        with self._lock:
            events = self._events.get(conversation_id, ())
        if len(events) != head.seq:
            if len(events) > head.seq:  # cannot happen unless the database was replaced
                events = ()
            newer = store.load_events(
                session, conversation_id=conversation_id, after_seq=len(events)
            )
            events = (*events, *newer)
            self._keep(conversation_id, events)
        return Conversation.replay(
            conversation_id, events, customer_id=head.customer_id, channel=head.channel
        )

    def remember(self, conversation: Conversation) -> None:
        """Keep a conversation's events as they were just committed."""
        self._keep(conversation.id, tuple(conversation.events))

    def forget(self, conversation_id: str) -> None:
        """Drop one conversation (its next read loads it from the database)."""
        with self._lock:
            self._events.pop(conversation_id, None)

    def __len__(self) -> int:
        return len(self._events)

    def _keep(self, conversation_id: str, events: tuple[AnyEvent, ...]) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            known = self._events.get(conversation_id, ())
            if len(known) > len(events):  # a newer state is already here
                return
            self._events[conversation_id] = events
            self._events.move_to_end(conversation_id)
            while len(self._events) > self._capacity:
                self._events.popitem(last=False)
