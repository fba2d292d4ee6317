"""Long-polls waiting for a conversation's next events, woken by the deployment's notices.

A request registers before it reads, so an event stored between its read and its wait still
wakes it. Notices arrive on other threads (the commit's, or PostgreSQL's listener) and are
handed to the event loop.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class ConversationWatchers:
    """Who waits for which conversation, in this process."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the waiters live on (set when the app starts)."""
        self._loop = loop

    def notice(self, payload: str) -> None:
        """A broadcast notice "conversation_id:seq", from any thread."""
        conversation_id = payload.partition(":")[0]
        if self._loop is not None and conversation_id in self._waiting:
            self._loop.call_soon_threadsafe(self._wake, conversation_id)

    def register(self, conversation_id: str) -> asyncio.Event:
        """Start watching a conversation; call `unregister` when done."""
        woken = asyncio.Event()
        self._waiting[conversation_id].add(woken)
        return woken

    def unregister(self, conversation_id: str, woken: asyncio.Event) -> None:
        """Stop watching."""
        waiting = self._waiting.get(conversation_id)
        if waiting is not None:
            waiting.discard(woken)
            if not waiting:
                del self._waiting[conversation_id]

    def _wake(self, conversation_id: str) -> None:
        for woken in self._waiting.get(conversation_id, ()):
            woken.set()

    def __len__(self) -> int:
        return sum(len(waiting) for waiting in self._waiting.values())
