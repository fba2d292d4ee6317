"""Importing past conversations (administrators only): the one path where a client's
timestamps are trusted, because the conversation really happened at those times.

The whole conversation is stored in one transaction: the customer turns run through the
engine at their own times, agent turns are kept as what the agent said, and the conversation
is resolved afterwards unless asked otherwise; one left waiting for a person joins the live
queue at the time of the import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warmline.channels.service import CustomerDetails, start_conversation
from warmline.domain.conversation import Conversation, Status
from warmline.domain.events import AgentMessage, HandedOff, Resolved, utc_now
from warmline.engine import Engine, InboundMessage
from warmline.storage import conversations as store
from warmline.storage import customers as customer_store

IMPORTED_BY = "import"
CLOCK_SKEW = timedelta(minutes=5)


class ImportRefused(ValueError):
    """The turns cannot be imported as given (order or times)."""


@dataclass(frozen=True)
class PastTurn:
    """One turn of a past conversation."""

    speaker: str
    text: str
    ts: datetime
    meta: dict[str, Any] | None = None  # what the channel knows (a call's speech cues)


def check_times(turns: list[PastTurn], *, now: datetime | None = None) -> None:
    """Turns must be in time order and not in the future."""
    latest = (now or utc_now()) + CLOCK_SKEW
    previous: datetime | None = None
    for number, turn in enumerate(turns, start=1):
        if turn.ts > latest:
            raise ImportRefused(f"turn {number} is dated in the future ({turn.ts.isoformat()})")
        if previous is not None and turn.ts < previous:
            raise ImportRefused(f"turn {number} is dated before turn {number - 1}")
        previous = turn.ts


def import_conversation(
    engine: Engine,
    *,
    channel: str,
    details: CustomerDetails | None,
    turns: list[PastTurn],
    resolved: bool = True,
) -> Conversation:
    """Store a past conversation; return its state.

    The conversation is new, so nobody else can write to it: every turn runs through the
    pipeline in memory, and all its events are written at the end in one short transaction
    (the import never holds the database's write lock while messages are understood)."""
    check_times(turns)
    with engine.sessions() as session, session.begin():
        created = start_conversation(session, channel=channel, details=details)
        customer = (
            customer_store.get_customer(session, customer_id=created.customer_id)
            if created.customer_id
            else None
        )
    state = Conversation(id=created.id, customer_id=created.customer_id, channel=channel)
    for turn in turns:
        if turn.speaker == "agent":
            state.apply(AgentMessage(agent=IMPORTED_BY, text=turn.text, ts=turn.ts))
            continue
        message = InboundMessage(created.id, turn.text, channel=channel, ts=turn.ts, meta=turn.meta)
        outcome = engine.pipeline.process(state, message, customer, staffing=engine.staffing)
        for event in outcome.events:
            state.apply(event)
    if resolved:
        state.apply(Resolved(by=IMPORTED_BY, ts=max(turns[-1].ts, state.events[-1].ts)))
    elif state.status is Status.QUEUED:
        # It joins the live queue now: waiting time and service levels count from today,
        # not from when it happened (a conversation from 2019 must not jump the queue).
        state.apply(state.of_type(HandedOff)[-1].model_copy(update={"ts": utc_now()}))
    with engine.sessions() as session, session.begin():
        stored = store.load_conversation(session, conversation_id=created.id, for_update=True)
        assert stored is not None  # created above; nobody else knows its id yet
        store.append_events(session, conversation=stored, events=state.events)
    return stored
