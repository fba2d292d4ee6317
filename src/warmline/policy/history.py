"""What the policy reads from a conversation's events: the current episode (since the bot last
got the conversation back), frustration per turn, earlier answers and offers.

An episode starts when a conversation starts, is handed back by an agent, is resolved or is
reopened; escalation counters and offers are per episode, so a customer handed back to the bot
is not escalated again for what already led to a handoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from warmline.domain.conversation import Conversation
from warmline.domain.events import (
    ActionStep,
    AgentMessage,
    AnalysisRecorded,
    AnyEvent,
    DecisionMade,
    HandedBack,
    Reopened,
    Resolved,
)

_EPISODE_STARTS = (HandedBack, Resolved, Reopened)


def episode_events(conversation: Conversation) -> Sequence[AnyEvent]:
    """The events of the current episode, oldest first."""
    events = conversation.events
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], _EPISODE_STARTS):
            return events[index + 1 :]
    return events


def frustration_by_turn(conversation: Conversation) -> list[float]:
    """The frustration of each analysed customer turn of the episode, oldest first: the turn's
    effective score (`trajectory.last`: the message plus conversation cues such as repeating
    themselves), or the message score when no trajectory was recorded."""
    scores: list[float] = []
    for event in episode_events(conversation):
        if isinstance(event, AnalysisRecorded):
            trajectory = event.analysis.get("trajectory") or {}
            if trajectory.get("turns"):
                scores.append(float(trajectory.get("last", 0.0)))
            else:
                emotion = event.analysis.get("emotion") or {}
                scores.append(float(emotion.get("frustration", 0.0)))
    return scores


def turns_at_or_above(scores: Sequence[float], threshold: float) -> int:
    """How many of the latest scores in a row are at or above `threshold`."""
    count = 0
    for score in reversed(scores):
        if score < threshold:
            break
        count += 1
    return count


def clarifications_in_a_row(conversation: Conversation) -> int:
    """Clarifying questions the customer has been answering in a row: consecutive `clarify`
    decisions of this episode, counted back from the latest decision. A message from a human
    agent after the question ends the run: the customer's next words answer the person, not
    the bot (in a live conversation this cannot happen while the bot is in charge; in a replayed
    transcript, agent turns are context and often sit between two customer turns)."""
    count = 0
    for event in reversed(episode_events(conversation)):
        if isinstance(event, AgentMessage):
            break
        if isinstance(event, DecisionMade):
            if event.action != "clarify":
                break
            count += 1
    return count


def pushbacks_in_episode(conversation: Conversation) -> int:
    """Customer messages of this episode that said an answer did not help (the current one
    included, its analysis being in the conversation already)."""
    return sum(
        1
        for event in episode_events(conversation)
        if isinstance(event, AnalysisRecorded) and event.analysis.get("pushback")
    )


def answers_for(conversation: Conversation, intent: str) -> int:
    """How many times the bot already answered (or acted on) `intent` in this episode."""
    return sum(
        1
        for event in episode_events(conversation)
        if isinstance(event, DecisionMade)
        and event.intent == intent
        and event.action in ("answer", "act")
    )


@dataclass(frozen=True)
class OfferState:
    """Offers of a person made in this episode."""

    made: int = 0
    offered: frozenset[str] = field(default_factory=frozenset)
    pending: DecisionMade | None = None


OPEN_ACTION = frozenset({"proposed", "collecting", "verifying", "confirming"})


def offer_state(conversation: Conversation) -> OfferState:
    """How many offers were made, which triggers they were for, and whether the last decision
    was an offer still waiting for the customer's answer (not if a human agent wrote since, nor
    if a routine action asked its own question in the same reply: the offer was then said as a
    statement, and "yes" answers the action)."""
    made = 0
    offered: set[str] = set()
    last: DecisionMade | None = None
    for event in episode_events(conversation):
        if isinstance(event, AgentMessage):
            last = None  # a person spoke since: the customer's reply is theirs to answer
        elif isinstance(event, ActionStep) and event.status in OPEN_ACTION:
            last = None
        elif isinstance(event, DecisionMade):
            last = event
            if event.action == "offer_handoff":
                made += 1
                offered.update(
                    str(reason.get("trigger"))
                    for reason in event.reasons
                    if reason.get("mode") == "offer"
                )
    pending = last if last is not None and last.action == "offer_handoff" else None
    return OfferState(made, frozenset(offered), pending)
