"""Live updates as server-sent events: a conversation's new events and who is typing (the
chat widget and the console), and the queue (the console and the dashboard).

Each stream sends what is there at once, then whatever the deployment's notices say changed
(from any worker: on PostgreSQL they travel by LISTEN/NOTIFY, so a message stored by one
process reaches a browser held by another). Every conversation event carries its `seq` as the
SSE id: a client that reconnects with `Last-Event-ID` (or `?after=`) gets exactly what it
missed, never twice. A stream ends after `timeout` seconds (clients reconnect), so no
connection is held forever; a comment line every 15 s keeps proxies from closing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from warmline.api.access import CUSTOMER_OR_STAFF, STAFF, Caller, Role, allow
from warmline.api.agents import agents_now, mine_now, queue_now
from warmline.api.conversations import events_after
from warmline.api.deps import ConversationId, ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import TypingIn
from warmline.api.services import Services
from warmline.api.watch import ANY, Typing
from warmline.storage.agents import agent_names
from warmline.storage.broadcast import TYPING

router = APIRouter(prefix="/api/v1", tags=["live"])
HEARTBEAT_SECONDS = 15.0
QUEUE_SETTLE_SECONDS = 0.2  # a burst of events (one message stores several) refreshes once
EVENT_STREAM = "text/event-stream"
Timeout = Annotated[
    float,
    Query(ge=0, le=300, description="Seconds before the stream ends (the client reconnects)."),
]
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {EVENT_STREAM: {}}, "description": "A stream of server-sent events."}
}


def _sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _streaming(lines: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/conversations/{conversation_id}/stream",
    response_class=StreamingResponse,
    responses={**STREAM_RESPONSES, **problems(404)},
)
async def conversation_stream(
    conversation_id: ConversationId,
    request: Request,
    services: ServicesDep,
    caller: Annotated[Caller, allow(CUSTOMER_OR_STAFF)],
    after: Annotated[int, Query(ge=0, le=10_000_000, description="Last seq already seen.")] = 0,
    timeout: Timeout = 55.0,
    last_event_id: Annotated[
        str | None, Header(pattern=r"^[0-9]{1,8}$", description="Set by EventSource on reconnect.")
    ] = None,
) -> StreamingResponse:
    """The conversation's events after `after` (or `Last-Event-ID`) as `message` events, then
    each new one as it is stored; `typing` events say when the other side types. Customers
    see what was said and who joined; staff see every event."""
    seen = max(after, int(last_event_id)) if last_event_id else after
    first = await run_in_threadpool(events_after, services, conversation_id, seen, caller)
    if first is None:
        raise Problem(404, f"No conversation {conversation_id}.")
    return _streaming(
        _conversation_lines(request, services, conversation_id, caller, seen, timeout)
    )


async def _conversation_lines(
    request: Request,
    services: Services,
    conversation_id: str,
    caller: Caller,
    seen: int,
    timeout: float,
) -> AsyncIterator[str]:
    watchers = services.watchers
    woken = watchers.register(conversation_id)
    typing = watchers.listen_typing(conversation_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        yield "retry: 1000\n\n"
        while True:
            woken.clear()
            found = await run_in_threadpool(events_after, services, conversation_id, seen, caller)
            for event in found.events if found else ():
                yield _sse("message", event, event["seq"])
                seen = event["seq"]
            if found is not None:
                seen = max(seen, found.last_seq)
            left = deadline - loop.time()
            if left <= 0 or await request.is_disconnected():
                return
            notice = await _next_notice(woken, typing, min(left, HEARTBEAT_SECONDS))
            if isinstance(notice, Typing):
                if _for_caller(notice, caller):
                    yield _sse("typing", await _typing_json(services, notice))
                woken.set()  # look for events too; nothing new is a cheap read
            elif notice is None:
                yield ": ping\n\n"
    finally:
        watchers.unregister(conversation_id, woken)
        watchers.stop_typing(conversation_id, typing)


async def _next_notice(
    woken: asyncio.Event, typing: asyncio.Queue[Typing], wait: float
) -> Typing | bool | None:
    """A typing notice, True when events arrived, None after `wait` seconds of quiet."""
    if not typing.empty():
        return typing.get_nowait()
    got_typing = asyncio.ensure_future(typing.get())
    got_events = asyncio.ensure_future(woken.wait())
    try:
        done, _ = await asyncio.wait(
            {got_typing, got_events}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (got_typing, got_events):
            task.cancel()
    if got_typing in done:
        return got_typing.result()
    return True if got_events in done else None


def _for_caller(notice: Typing, caller: Caller) -> bool:
    """Customers hear about agents typing; staff about the customer (not themselves)."""
    if caller.role is Role.CUSTOMER:
        return notice.role == "agent"
    return notice.role == "customer" or notice.agent != caller.agent_id


async def _typing_json(services: Services, notice: Typing) -> dict[str, Any]:
    name = None
    if notice.agent:
        agent = notice.agent

        def lookup() -> str | None:
            with services.reading() as session:
                return agent_names(session, agent_ids={agent}).get(agent)

        name = await run_in_threadpool(lookup)
    return {"role": notice.role, "name": name, "typing": notice.typing}


@router.post(
    "/conversations/{conversation_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(),
)
async def typing(
    conversation_id: ConversationId,
    body: TypingIn,
    services: ServicesDep,
    caller: Annotated[Caller, allow(CUSTOMER_OR_STAFF)],
) -> Response:
    """Say that the caller is typing (or stopped); the other side's stream shows it. Nothing
    is stored: it is a passing notice."""
    role = "customer" if caller.role is Role.CUSTOMER else "agent"
    notice = Typing(role, caller.agent_id if role == "agent" else None, body.typing)
    await run_in_threadpool(services.broadcast.publish, TYPING, notice.payload(conversation_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/queue/stream",
    response_class=StreamingResponse,
    responses={**STREAM_RESPONSES, **problems()},
)
async def queue_stream(
    request: Request,
    services: ServicesDep,
    caller: Annotated[Caller, allow(STAFF)],
    timeout: Timeout = 55.0,
) -> StreamingResponse:
    """`queue` events: the queue by effective priority, the caller's own open conversations,
    and (for supervisors and admins) every agent with their status and load; sent at once
    and again whenever any conversation or agent changes."""
    first = await run_in_threadpool(_queue_view, services, caller)
    return _streaming(_queue_lines(request, services, caller, first, timeout))


async def _queue_lines(
    request: Request, services: Services, caller: Caller, first: str, timeout: float
) -> AsyncIterator[str]:
    woken = services.watchers.register(ANY)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = first
    try:
        yield "retry: 1000\n\n"
        yield f"event: queue\ndata: {first}\n\n"
        while (left := deadline - loop.time()) > 0 and not await request.is_disconnected():
            woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), min(left, HEARTBEAT_SECONDS))
            if not woken.is_set():
                yield ": ping\n\n"
                continue
            await asyncio.sleep(QUEUE_SETTLE_SECONDS)
            now = await run_in_threadpool(_queue_view, services, caller)
            if now != last:
                last = now
                yield f"event: queue\ndata: {now}\n\n"
    finally:
        services.watchers.unregister(ANY, woken)


def _queue_view(services: Services, caller: Caller) -> str:
    """The queue event's data as compact JSON (compared to skip unchanged refreshes)."""
    view = {
        "queue": [item.model_dump(mode="json") for item in queue_now(services)],
        "mine": [item.model_dump(mode="json") for item in mine_now(services, caller.agent_id)]
        if caller.agent_id
        else [],
        "agents": [agent.model_dump(mode="json") for agent in agents_now(services)]
        if caller.oversees
        else [],
    }
    return json.dumps(view, separators=(",", ":"))
