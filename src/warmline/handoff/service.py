"""What agents do to a conversation: claim, write, note, hand back, resolve.

Each function takes the session of a transaction the caller owns, locks the conversation,
checks the state rebuilt from events, and appends one event. Nothing here commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from warmline.domain.conversation import Conversation, Status
from warmline.domain.events import (
    AgentAssigned,
    AgentMessage,
    AnyEvent,
    HandedBack,
    NoteAdded,
    Reopened,
    Resolved,
)
from warmline.storage import conversations as store


class ConversationMissing(LookupError):
    """No conversation with that id."""


class StateConflict(Exception):
    """The action does not fit the conversation's current state (e.g. already claimed)."""


def claim(session: Session, *, conversation_id: str, agent: str) -> Conversation:
    """Assign a queued conversation to `agent`; under concurrent claims exactly one wins."""
    conversation = _locked(session, conversation_id)
    if conversation.status is not Status.QUEUED:
        holder = f" by {conversation.agent}" if conversation.agent else ""
        raise StateConflict(f"conversation is {conversation.status.value}{holder}, not queued")
    return _append(session, conversation, AgentAssigned(agent=agent))


def claim_next(session: Session, *, agent: str) -> Conversation | None:
    """Claim the most urgent queued conversation nobody else is claiming right now."""
    conversation_id = store.next_queued_id(session)
    if conversation_id is None:
        return None
    return claim(session, conversation_id=conversation_id, agent=agent)


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


def hand_back(session: Session, *, conversation_id: str, agent: str) -> Conversation:
    """Return the conversation to the bot."""
    conversation = _owned(session, conversation_id, agent)
    return _append(session, conversation, HandedBack(agent=agent))


def resolve(session: Session, *, conversation_id: str, by: str) -> Conversation:
    """Mark the conversation resolved."""
    conversation = _locked(session, conversation_id)
    if conversation.status is Status.RESOLVED:
        raise StateConflict("conversation is already resolved")
    return _append(session, conversation, Resolved(by=by))


def reopen(session: Session, *, conversation_id: str, by: str) -> Conversation:
    """Make a resolved conversation active again."""
    conversation = _locked(session, conversation_id)
    if conversation.status is not Status.RESOLVED:
        raise StateConflict("only a resolved conversation can be reopened")
    return _append(session, conversation, Reopened(by=by))


def _locked(session: Session, conversation_id: str) -> Conversation:
    conversation = store.load_conversation(
        session, conversation_id=conversation_id, for_update=True
    )
    if conversation is None:
        raise ConversationMissing(conversation_id)
    return conversation


def _owned(session: Session, conversation_id: str, agent: str) -> Conversation:
    conversation = _locked(session, conversation_id)
    if conversation.status is not Status.ASSIGNED or conversation.agent != agent:
        raise StateConflict(f"conversation is not assigned to {agent}")
    return conversation


def _append(session: Session, conversation: Conversation, event: AnyEvent) -> Conversation:
    store.append_events(session, conversation=conversation, events=[event])
    return conversation
