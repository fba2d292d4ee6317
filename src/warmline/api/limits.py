"""Limits at the edge: bounded and timely request bodies, and rate limits per client.

The body is read here, up to the limit and within `WARMLINE_BODY_TIMEOUT_SECONDS`, whether the
client declared its length or sent it in chunks: one byte over is 413 and a body that does not
arrive in time is 408, both problem+json, never a parse error; the view then receives the
buffered body as usual. Every request (but the health check) takes a token from its client's
bucket first: 429 with `Retry-After` when it is empty.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warmline.api.problems import PROBLEM_JSON, DatabaseUnavailable
from warmline.storage.ratelimits import Buckets, Limit, Verdict

UNLIMITED_PATHS = frozenset({"/healthz"})
log = logging.getLogger(__name__)


class BodySizeLimit:
    """ASGI middleware answering 413 when a body exceeds `max_bytes` and 408 when it does not
    arrive within `timeout` seconds."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout: float = 30.0,
        larger: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.larger = larger or {}  # paths with their own limit (a call's recording)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, "request-too-large", f"larger than {limit} bytes")
            return
        try:
            body = await asyncio.wait_for(self._read(receive, limit), self.timeout)
        except TimeoutError:
            await _refuse(send, 408, "request-timeout", f"not sent within {self.timeout:g} s")
            return
        if body is None:
            return  # the client went away
        if isinstance(body, BodyTooLarge):
            await _refuse(send, 413, "request-too-large", f"larger than {limit} bytes")
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive, limit: int) -> bytes | BodyTooLarge | None:
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                return BodyTooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class BodyTooLarge:
    """The client sent more than the limit."""


class ClientRateLimit:
    """ASGI middleware: one token per request from the client's bucket (by address), taken
    from the app's services (their buckets and limits)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        services = scope["app"].state.services
        client = scope.get("client")
        key = f"client:{client[0] if client else 'unknown'}"
        verdict = await take(
            services.buckets, key, services.client_limit(), blocking=services.shared_buckets
        )
        if not verdict.allowed:
            await _refuse(
                send,
                429,
                "too-many-requests",
                "sent too fast by this client; retry later",
                retry_after=verdict.retry_after,
            )
            return
        await self.app(scope, receive, send)


async def take(buckets: Buckets, key: str, limit: Limit, *, blocking: bool) -> Verdict:
    """Take a token, off the event loop when the buckets are in the database. If the database
    does not answer, the request goes ahead (it will meet the database, and its 503, anyway):
    a rate limit must not turn an outage into a different error."""
    if not blocking:
        return buckets.take(key, limit)
    try:
        return await to_thread.run_sync(buckets.take, key, limit)
    except DatabaseUnavailable:
        log.warning("rate limit skipped: the database is not answering")
        return Verdict(True)


_TITLES = {408: "Request timeout", 413: "Request too large", 429: "Too many requests"}


async def _refuse(
    send: Send, status: int, kind: str, why: str, retry_after: int | None = None
) -> None:
    body: dict[str, Any] = {
        "type": f"https://warmline.dev/problems/{kind}",
        "title": _TITLES[status],
        "status": status,
        "detail": f"The request was {why}." if status != 429 else f"Too many requests {why}.",
    }
    payload = json.dumps(body).encode("utf-8")
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if status in (408, 413):
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
