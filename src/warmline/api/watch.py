"""Long-polls waiting for a conversation's next events, woken by the deployment's notices.

A request registers before it reads, so an event stored between its read and its wait still
wakes it. Notices arrive on other threads (the commit's, or PostgreSQL's listener) and are
handed to the event loop. Watching `ANY` wakes on every conversation's events (the console's
queue); typing notices are handed to the streams of that conversation as they come.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

ANY = "*"


@dataclass(frozen=True)
class Typing:
    """Someone is (or stopped) typing in a conversation: a customer, or the agent `agent`."""

    role: str
    agent: str | None
    typing: bool

    @staticmethod
    def parse(payload: str) -> tuple[str, Typing] | None:
        """A notice "conversation_id:role:agent:1|0", or None if it is not one."""
        parts = payload.split(":")
        if len(parts) != 4 or parts[1] not in ("customer", "agent"):
            return None
        return parts[0], Typing(parts[1], parts[2] or None, parts[3] == "1")

    def payload(self, conversation_id: str) -> str:
        """The notice to broadcast (no personal data: ids and a flag)."""
        return f"{conversation_id}:{self.role}:{self.agent or ''}:{int(self.typing)}"


class ConversationWatchers:
    """Who waits for which conversation, in this process."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._typing: dict[str, set[asyncio.Queue[Typing]]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the waiters live on (set when the app starts)."""
        self._loop = loop

    def notice(self, payload: str) -> None:
        """A broadcast notice "conversation_id:seq", from any thread."""
        conversation_id = payload.partition(":")[0]
        if self._loop is None:
            return
        if conversation_id in self._waiting:
            self._loop.call_soon_threadsafe(self._wake, conversation_id)
        if ANY in self._waiting:
            self._loop.call_soon_threadsafe(self._wake, ANY)

    def typing_notice(self, payload: str) -> None:
        """A broadcast typing notice (see `Typing.payload`), from any thread."""
        parsed = Typing.parse(payload)
        if parsed is not None and self._loop is not None and parsed[0] in self._typing:
            self._loop.call_soon_threadsafe(self._hand_typing, *parsed)

    def listen_typing(self, conversation_id: str) -> asyncio.Queue[Typing]:
        """Receive the conversation's typing notices; call `stop_typing` when done."""
        notices: asyncio.Queue[Typing] = asyncio.Queue(maxsize=100)
        self._typing[conversation_id].add(notices)
        return notices

    def stop_typing(self, conversation_id: str, notices: asyncio.Queue[Typing]) -> None:
        """Stop receiving typing notices."""
        listening = self._typing.get(conversation_id)
        if listening is not None:
            listening.discard(notices)
            if not listening:
                del self._typing[conversation_id]

    def _hand_typing(self, conversation_id: str, typing: Typing) -> None:
        for notices in self._typing.get(conversation_id, ()):
            if not notices.full():
                notices.put_nowait(typing)

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
