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

from warmline.channels.service import CustomerDetails, start_conversation
from warmline.domain.conversation import Conversation, Status
from warmline.domain.events import AgentMessage, HandedOff, Resolved, utc_now
from warmline.engine import Engine, InboundMessage
from warmline.storage import conversations as store

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
    """Store a past conversation; return its state."""
    check_times(turns)
    with engine.sessions() as session, session.begin():
        conversation = start_conversation(session, channel=channel, details=details)
        for turn in turns:
            if turn.speaker == "agent":
                state = store.load_conversation(
                    session, conversation_id=conversation.id, for_update=True
                )
                assert state is not None  # created above, in this transaction
                store.append_events(
                    session,
                    conversation=state,
                    events=[AgentMessage(agent=IMPORTED_BY, text=turn.text, ts=turn.ts)],
                )
                continue
            engine.handle_in(
                session,
                InboundMessage(conversation.id, turn.text, channel=channel, ts=turn.ts),
            )
        state = store.load_conversation(session, conversation_id=conversation.id, for_update=True)
        assert state is not None
        if resolved:
            at = max(turns[-1].ts, state.events[-1].ts if state.events else turns[-1].ts)
            store.append_events(
                session, conversation=state, events=[Resolved(by=IMPORTED_BY, ts=at)]
            )
        elif state.status is Status.QUEUED:
            # It joins the live queue now: waiting time and service levels count from today,
            # not from when it happened (a conversation from 2019 must not jump the queue).
            handoff = state.of_type(HandedOff)[-1]
            store.append_events(
                session, conversation=state, events=[handoff.model_copy(update={"ts": utc_now()})]
            )
        return state
