"""What agents do to a conversation: claim, write, note, hand back, resolve, reassign; and
the packet they read when they pick it up.

Each action takes the session of a transaction the caller owns, locks the conversation,
checks the state rebuilt from events, and appends one event. Nothing here commits.

Ownership: an agent writes to, hands back and resolves only conversations assigned to them;
with `override` (supervisors and admins) hand back and resolve work on any conversation, and
only they reassign.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from warmline.domain.conversation import Conversation, Status
from warmline.domain.customer import Customer
from warmline.domain.events import (
    AgentAssigned,
    AgentMessage,
    AnyEvent,
    BotReply,
    HandedBack,
    NoteAdded,
    Reopened,
    Resolved,
    utc_now,
)
from warmline.handoff.packet import build_packet, customer_history
from warmline.handoff.queue import agent_load, agent_profile, entry_of
from warmline.handoff.routing import rank_for_agent
from warmline.policy.config import PolicyConfig
from warmline.policy.loader import default_config
from warmline.storage import agents as agent_store
from warmline.storage import conversations as store
from warmline.storage.customers import get_customer
from warmline.storage.models import ConversationRow


class ConversationMissing(LookupError):
    """No conversation with that id."""


class StateConflict(Exception):
    """The action does not fit the conversation's current state (e.g. already claimed)."""


class NotYours(Exception):
    """The conversation belongs to another agent (or to nobody yet) and the caller may not
    override that."""


def claim(
    session: Session, *, conversation_id: str, agent: str, now: datetime | None = None
) -> Conversation:
    """Assign a queued conversation to `agent`; under concurrent claims exactly one wins. The
    assignment is remembered with the customer's frustration, for the burnout cap."""
    conversation = _locked(session, conversation_id)
    if conversation.status is not Status.QUEUED:
        holder = f" by {conversation.agent}" if conversation.agent else ""
        raise StateConflict(f"conversation is {conversation.status.value}{holder}, not queued")
    now = now or utc_now()
    _remember_assignment(session, conversation_id, agent, now)
    agent_store.touch(session, agent_id=agent, now=now)
    return _append(session, conversation, AgentAssigned(agent=agent, ts=now))


def assign(
    session: Session, *, conversation_id: str, agent: str, by: str, now: datetime | None = None
) -> Conversation:
    """A supervisor gives a queued or assigned conversation to `agent` (who must exist)."""
    conversation = _locked(session, conversation_id)
    if conversation.status not in (Status.QUEUED, Status.ASSIGNED):
        raise StateConflict(
            f"conversation is {conversation.status.value}; only queued or assigned ones move"
        )
    if conversation.agent == agent:
        raise StateConflict(f"conversation is already assigned to {agent}")
    now = now or utc_now()
    _remember_assignment(session, conversation_id, agent, now)
    return _append(session, conversation, AgentAssigned(agent=agent, by=by, ts=now))


def _remember_assignment(session: Session, conversation_id: str, agent: str, now: datetime) -> None:
    """Who got the conversation and how upset its customer was (for the burnout cap)."""
    row = session.get(ConversationRow, conversation_id)
    agent_store.record_assignment(
        session,
        agent_id=agent,
        conversation_id=conversation_id,
        frustration=float(row.frustration) if row is not None else 0.0,
        at=now,
    )


def claim_next(
    session: Session,
    *,
    agent: str,
    policy: PolicyConfig | None = None,
    now: datetime | None = None,
) -> Conversation | None:
    """Claim the best conversation for this agent that nobody else is claiming right now.

    Candidates are ranked for the agent (team and skills, seniority, burnout cap, waiting
    time; see `routing.py`), then locked one at a time with FOR UPDATE SKIP LOCKED, so two
    agents never get the same conversation and neither waits for the other.
    """
    config = policy or default_config()
    now = now or utc_now()
    profile = agent_profile(session, agent_id=agent)
    load = agent_load(session, agent_id=agent, config=config, now=now)
    entries = [entry_of(row) for row in store.queued_rows(session)]
    for _score, entry, _kind in rank_for_agent(entries, profile, config, now, load):
        if store.lock_if_queued(session, conversation_id=entry.id):
            return claim(session, conversation_id=entry.id, agent=agent, now=now)
    return None


def send_agent_message(
    session: Session, *, conversation_id: str, agent: str, text: str
) -> Conversation:
    """Record what the assigned agent wrote to the customer."""
    conversation = _owned(session, conversation_id, agent)
    return _append(session, conversation, AgentMessage(agent=agent, text=text))


def add_note(session: Session, *, conversation_id: str, author: str, text: str) -> Conversation:
    """An internal note; allowed in any state."""
    conversation = _locked(session, conversation_id)
    return _append(session, conversation, NoteAdded(author=author, text=text))


def hand_back(
    session: Session, *, conversation_id: str, agent: str, override: bool = False
) -> Conversation:
    """Return the conversation to the bot (its agent, or a supervisor with `override`)."""
    conversation = _locked(session, conversation_id)
    if conversation.status is not Status.ASSIGNED:
        raise StateConflict(f"conversation is {conversation.status.value}, not assigned")
    if not override:
        _check_owner(conversation, agent)
    return _append(session, conversation, HandedBack(agent=agent))


def resolve(
    session: Session,
    *,
    conversation_id: str,
    by: str,
    override: bool = False,
    survey: Callable[[str], str | None] | None = None,
    disposition: str | None = None,
    note: str | None = None,
) -> Conversation:
    """Mark the conversation resolved: by its agent, or by a supervisor with `override`,
    with how it ended (`disposition`, one of DISPOSITIONS) and an internal note.
    `survey` gives the survey text for the conversation's channel (None: no survey); it is
    sent as a bot reply in the same transaction."""
    conversation = _locked(session, conversation_id)
    if conversation.status is Status.RESOLVED:
        raise StateConflict("conversation is already resolved")
    if not override:
        _check_owner(conversation, by)
    events: list[AnyEvent] = [Resolved(by=by, disposition=disposition, note=note)]
    text = survey(conversation.channel) if survey else None
    if text:
        events.append(BotReply(text=text, kind="survey"))
    store.append_events(session, conversation=conversation, events=events)
    return conversation


def reopen(session: Session, *, conversation_id: str, by: str) -> Conversation:
    """Make a resolved conversation active again."""
    conversation = _locked(session, conversation_id)
    if conversation.status is not Status.RESOLVED:
        raise StateConflict("only a resolved conversation can be reopened")
    return _append(session, conversation, Reopened(by=by))


def current_packet(
    session: Session, *, conversation_id: str
) -> tuple[Conversation, dict[str, Any]]:
    """The conversation and its handoff packet as they stand now, with the customer's
    profile and other recent conversations when the customer is known. Reads only."""
    conversation, customer = read_conversation(session, conversation_id=conversation_id)
    history = (
        customer_history(session, customer_id=customer.id, exclude=conversation.id)
        if customer
        else []
    )
    return conversation, build_packet(conversation, customer=customer, history=history)


def read_conversation(
    session: Session, *, conversation_id: str
) -> tuple[Conversation, Customer | None]:
    """The conversation and its customer (if known), for views that only read."""
    conversation = store.load_conversation(session, conversation_id=conversation_id)
    if conversation is None:
        raise ConversationMissing(conversation_id)
    customer = (
        get_customer(session, customer_id=conversation.customer_id)
        if conversation.customer_id
        else None
    )
    return conversation, customer


def _locked(session: Session, conversation_id: str) -> Conversation:
    conversation = store.load_conversation(
        session, conversation_id=conversation_id, for_update=True
    )
    if conversation is None:
        raise ConversationMissing(conversation_id)
    return conversation


def _owned(session: Session, conversation_id: str, agent: str) -> Conversation:
    conversation = _locked(session, conversation_id)
    if conversation.status is not Status.ASSIGNED:
        raise StateConflict(f"conversation is {conversation.status.value}, not assigned")
    _check_owner(conversation, agent)
    return conversation


def _check_owner(conversation: Conversation, agent: str) -> None:
    if conversation.status is not Status.ASSIGNED:
        raise NotYours(f"conversation is {conversation.status.value}: claim it first")
    if conversation.agent != agent:
        raise NotYours(f"conversation is assigned to {conversation.agent}, not {agent}")


def _append(session: Session, conversation: Conversation, event: AnyEvent) -> Conversation:
    store.append_events(session, conversation=conversation, events=[event])
    return conversation
