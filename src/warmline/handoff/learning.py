"""Learning from agents: corrections recorded as events, and read back for training.

An agent who handled a conversation (or a supervisor) may correct the intent of a customer
message, mark a bot answer as wrong (naming the section that answers it), and mark the handoff
as unnecessary or late. Each is one event, checked like the other agent actions: the message or
answer must exist, the caller must be allowed to see the conversation, and the same correction
twice is a conflict. `storage.corrections` reads them back for `warmline train intents
--include-corrections` and for the knowledge base's ranking (a flagged answer bumps the
knowledge base's version, so every process reloads its index with the correction).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from warmline.domain.conversation import Conversation
from warmline.domain.events import (
    AgentAssigned,
    AnalysisRecorded,
    AnswerFlagged,
    BotReply,
    CustomerMessage,
    EscalationMarked,
    HandedOff,
    IntentCorrected,
)
from warmline.handoff.service import NotYours, StateConflict, _append, _locked
from warmline.storage import knowledge as kb_store
from warmline.storage.models import KbSectionRow


class NotFound(LookupError):
    """The message, answer or section a correction names does not exist."""


class Invalid(ValueError):
    """The correction itself is not acceptable (an intent the model does not know)."""


def correct_intent(
    session: Session,
    *,
    conversation_id: str,
    seq: int,
    intent: str,
    by: str,
    oversees: bool,
    known_intents: Iterable[str],
) -> Conversation:
    """Record that the customer message at `seq` meant `intent`."""
    conversation = _visible(session, conversation_id, by, oversees)
    message = _event_at(conversation, seq)
    if not isinstance(message, CustomerMessage):
        raise NotFound(f"no customer message at seq {seq}")
    known = set(known_intents)
    if intent not in known:
        raise Invalid(f"unknown intent {intent!r}; the model knows {len(known)} intents")
    for earlier in conversation.of_type(IntentCorrected):
        if earlier.message_seq == seq:
            raise StateConflict(
                f"message {seq} was already corrected to {earlier.intent} by {earlier.by}"
            )
    previous = _analysed_intent(conversation, seq)
    event = IntentCorrected(message_seq=seq, intent=intent, previous=previous, by=by)
    return _append(session, conversation, event)


def flag_answer(
    session: Session,
    *,
    conversation_id: str,
    seq: int,
    right: str | None,
    by: str,
    oversees: bool,
) -> Conversation:
    """Record that the bot reply at `seq` answered wrongly (and which section was right)."""
    conversation = _visible(session, conversation_id, by, oversees)
    reply = _event_at(conversation, seq)
    if not isinstance(reply, BotReply) or reply.answer is None:
        raise NotFound(f"no knowledge-base answer at seq {seq}")
    if right is not None and not _section_exists(session, right):
        raise NotFound(f"no knowledge-base section {right!r}")
    if right == reply.answer:
        raise Invalid("the right section is the one the bot quoted")
    if any(e.reply_seq == seq for e in conversation.of_type(AnswerFlagged)):
        raise StateConflict(f"the answer at seq {seq} was already flagged")
    question = _question_before(conversation, seq)
    event = AnswerFlagged(reply_seq=seq, question=question, wrong=reply.answer, right=right, by=by)
    kb_store.bump_version(session)  # every process reloads its index with the correction
    return _append(session, conversation, event)


def mark_escalation(
    session: Session,
    *,
    conversation_id: str,
    verdict: Literal["unnecessary", "late"],
    note: str,
    by: str,
    oversees: bool,
) -> Conversation:
    """Record that the handoff was unnecessary or late."""
    conversation = _visible(session, conversation_id, by, oversees)
    if not conversation.of_type(HandedOff):
        raise StateConflict("the conversation was never handed over")
    if any(e.verdict == verdict for e in conversation.of_type(EscalationMarked)):
        raise StateConflict(f"the handoff was already marked {verdict}")
    event = EscalationMarked(verdict=verdict, note=note, by=by)
    return _append(session, conversation, event)


def _visible(session: Session, conversation_id: str, agent: str, oversees: bool) -> Conversation:
    """The conversation, locked, if the caller handled it or oversees agents."""
    conversation = _locked(session, conversation_id)
    handled = {e.agent for e in conversation.of_type(AgentAssigned)}
    if not oversees and agent not in handled:
        raise NotYours(f"{agent} did not handle this conversation")
    return conversation


def _event_at(conversation: Conversation, seq: int) -> object:
    if not 1 <= seq <= len(conversation.events):
        raise NotFound(f"the conversation has no event {seq}")
    return conversation.events[seq - 1]


def _analysed_intent(conversation: Conversation, seq: int) -> str | None:
    """What the model said about the message at `seq` (its analysis follows it)."""
    for event in conversation.events[seq:]:
        if isinstance(event, AnalysisRecorded):
            intent = event.analysis.get("intent", {}).get("intent")
            return str(intent) if intent else None
        if isinstance(event, CustomerMessage):
            break
    return None


def _question_before(conversation: Conversation, seq: int) -> str:
    for event in reversed(conversation.events[: seq - 1]):
        if isinstance(event, CustomerMessage):
            return event.text
    return ""


def _section_exists(session: Session, key: str) -> bool:
    return (
        session.scalar(select(KbSectionRow.id).where(KbSectionRow.key == key).limit(1)) is not None
    )
