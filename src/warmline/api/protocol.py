"""uvicorn's HTTP protocol with a deadline for each request's headers.

uvicorn closes a keep-alive connection that stays idle after an answer, but a connection that
never sends a request, or sends its headers a byte at a time, is kept forever: enough of them
exhaust the server's file descriptors. Here every request must finish its headers within
`WARMLINE_HEADER_TIMEOUT_SECONDS` of the connection opening (or of its first byte, on a
reused connection), or the connection is closed. Bodies have their own deadline
(`api/limits.BodySizeLimit`).
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@lru_cache(maxsize=1)
def _header_timeout() -> float:
    from warmline.config import get_settings

    return get_settings().header_timeout_seconds


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose requests must send their headers in time."""

    header_timeout: float | None = None  # None: from the settings

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if getattr(self, "_header_deadline", None) is None:
            timeout = self.header_timeout or _header_timeout()
            self._header_deadline: Any = self.loop.call_later(timeout, self._expire)

    def _disarm(self) -> None:
        deadline = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if getattr(self, "_expired_while_busy", False):
            # A pipelined request's headers were stuck behind the one just answered (uvicorn
            # does not read while a request runs): give them a fresh deadline now.
            self._expired_while_busy = False
            self._arm()

    def _expire(self) -> None:
        self._header_deadline = None
        if (self.cycle is not None and not self.cycle.response_complete) or self.pipeline:
            self._expired_while_busy = True  # never close under a request in flight
            return
        if not self.transport.is_closing():
            self.transport.close()


def protocol_with_timeout(seconds: float) -> type[GuardedHttpToolsProtocol]:
    """The protocol with a given header deadline (one process serving given settings; worker
    processes use the class itself, which reads the settings from the environment)."""
    return type(
        "GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"header_timeout": seconds}
    )
