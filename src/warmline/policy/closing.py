"""When the bot closes a conversation it holds (policy `closing`), and how it ended.

Pure: each function reads a conversation's events and returns the `Resolved` event to append,
or None, so the rules can be tested and replayed without a database. The goodbye rule runs in
the pipeline on the customer's message; the idle rule runs in every server process
(`automation.idle.IdleCloser`) and from `warmline close-idle`. A customer who writes again
reopens the conversation, as with any resolved one, and reports count it as reopened.

Without this, a conversation the bot handled stayed open for ever: reports counted no bot
conversation as resolved and had no resolution time for them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from warmline.domain.conversation import Conversation, Status
from warmline.domain.events import (
    AgentMessage,
    AnalysisRecorded,
    BotReply,
    CustomerMessage,
    Resolved,
)
from warmline.policy.config import ClosingConfig
from warmline.policy.decision import Action, Decision
from warmline.understanding.types import UPSET, Analysis

BOT = "bot"  # `Resolved.by` when the bot closed the conversation


class Ending(StrEnum):
    """How a conversation the bot closed ended (its `Resolved.disposition`)."""

    ANSWERED = "answered"  # the last reply answered, finished an action, or came from an agent
    UNANSWERED = "unanswered"  # the bot had no answer, offered a person, or the action failed
    ABANDONED = "abandoned"  # the customer left while the bot waited for them
    LEFT_UPSET = "left_upset"  # the customer's last message read as upset
    SMALL_TALK = "small_talk"  # nothing was asked: greetings and thanks only
    NO_REPLY = "no_reply"  # the customer never wrote (a conversation the business started)


_ANSWERED_KINDS = frozenset({"answer", "action"})
_UNANSWERED_KINDS = frozenset({"no_answer", "offer_handoff"})
_WAITING_KINDS = frozenset({"clarify"})
# Not an answer to anything: the bot's manners and notices, passed over when judging the end.
_ASIDE_KINDS = frozenset({"small_talk", "survey", "queue_status", "handoff_notice"})
_ACTION_WAITING = frozenset({"proposed", "collecting", "verifying", "confirming"})


def ending(conversation: Conversation) -> Ending:
    """How the conversation stands for a close now: what its last substantive reply was."""
    if not conversation.of_type(CustomerMessage):
        return Ending.NO_REPLY
    analyses = conversation.of_type(AnalysisRecorded)
    if analyses and _frustration(analyses[-1]) >= UPSET:
        return Ending.LEFT_UPSET
    if _waiting_on_action(conversation):
        return Ending.ABANDONED
    action = conversation.action
    kind = _last_reply_kind(conversation)
    if action is not None and action.status == "failed" and kind == "action":
        return Ending.UNANSWERED
    if kind in _WAITING_KINDS:
        return Ending.ABANDONED
    if kind in _UNANSWERED_KINDS:
        return Ending.UNANSWERED
    if kind in _ANSWERED_KINDS or kind == "agent":
        return Ending.ANSWERED
    return Ending.SMALL_TALK


def idle_close(conversation: Conversation, config: ClosingConfig, now: datetime) -> Resolved | None:
    """The close due now for a conversation the bot holds that has been quiet for the
    channel's idle time (`closing.idle_minutes`, `closing.email_idle_minutes`)."""
    minutes = config.idle_minutes_for(conversation.channel)
    if not minutes or conversation.status is not Status.BOT or not conversation.events:
        return None
    last = conversation.events[-1].ts
    if now - last < timedelta(minutes=minutes):
        return None
    return Resolved(
        by=BOT,
        disposition=ending(conversation).value,
        note=f"closed by the bot after {minutes} minutes without a message",
        ts=max(now, last),
    )


def goodbye_close(
    conversation: Conversation,
    analysis: Analysis,
    decision: Decision,
    config: ClosingConfig,
    reply_kind: str | None,
) -> Resolved | None:
    """The close due when the customer says goodbye and the bot answered it in kind.

    `conversation` holds the goodbye and the bot's reply. Not when the policy offers or
    brings in a person, when the goodbye reads as upset or pushes back ("bye, that didn't
    help"), or while an action waits for the customer: those stay open for a person or
    for the idle rule.
    """
    if not config.on_goodbye or conversation.status is not Status.BOT:
        return None
    if analysis.intent.intent != "goodbye" or analysis.pushback or reply_kind != "small_talk":
        return None
    if decision.action is not Action.ANSWER or analysis.emotion.frustration >= UPSET:
        return None
    if _waiting_on_action(conversation):
        return None
    return Resolved(
        by=BOT,
        disposition=ending(conversation).value,
        note="the customer said goodbye",
        ts=conversation.events[-1].ts,
    )


def closed_by_bot(event: Resolved) -> bool:
    """Whether this resolution is one of the bot's closes (not an agent's)."""
    return event.by == BOT


def _waiting_on_action(conversation: Conversation) -> bool:
    """An action waits for the customer: it is not finished and its question is the last
    thing the bot asked (a proposal the customer passed over, or an action a handoff cut
    short, waits for nobody)."""
    action = conversation.action
    if action is None or action.status not in _ACTION_WAITING:
        return False
    return _last_reply_kind(conversation) == "action"


def _last_reply_kind(conversation: Conversation) -> str | None:
    """The kind of the last reply that was more than manners ("agent" for an agent's)."""
    for event in reversed(conversation.events):
        if isinstance(event, AgentMessage):
            return "agent"
        if isinstance(event, BotReply) and event.kind not in _ASIDE_KINDS:
            return event.kind
    return None


def _frustration(recorded: AnalysisRecorded) -> float:
    return float(recorded.analysis.get("emotion", {}).get("frustration", 0.0))
