"""Conversation state, rebuilt by replaying events in order.

Nothing else mutates a conversation: the engine and the API append events and read the state
that `Conversation.replay` derives from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from warmline.domain.events import (
    ActionStep,
    AgentAssigned,
    AgentMessage,
    AnalysisRecorded,
    AnyEvent,
    BotReply,
    CustomerMessage,
    DecisionMade,
    Event,
    HandedBack,
    HandedOff,
    IdentityVerified,
    Reopened,
    Resolved,
)

E = TypeVar("E", bound=Event)


class Status(StrEnum):
    """Who holds the conversation now."""

    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


@dataclass
class Conversation:
    """The state of one conversation, derived from its events."""

    id: str
    customer_id: str | None = None
    channel: str = "web"
    status: Status = Status.BOT
    agent: str | None = None
    events: list[AnyEvent] = field(default_factory=list)
    customer_turns: int = 0
    clarifications_in_a_row: int = 0
    escalated_in_episode: bool = False
    last_intent: str | None = None
    last_analysis: dict[str, Any] | None = None
    tracker_state: dict[str, Any] = field(default_factory=dict)
    handoff_reasons: list[str] = field(default_factory=list)
    priority: float = 0.0
    route: str | None = None
    started_at: datetime | None = None
    action: ActionStep | None = None
    verified_reference: str | None = None
    identity_verified: bool = False

    @classmethod
    def replay(cls, conversation_id: str, events: Iterable[AnyEvent], **attrs: Any) -> Conversation:
        """Rebuild the state from the full ordered event list."""
        conversation = cls(id=conversation_id, **attrs)
        for event in events:
            conversation.apply(event)
        return conversation

    def apply(self, event: AnyEvent) -> None:
        """Fold one event into the state (the only mutation path)."""
        self.events.append(event)
        if self.started_at is None:
            self.started_at = event.ts
        match event:
            case CustomerMessage():
                self.customer_turns += 1
                if self.status is Status.RESOLVED:
                    self.status = Status.BOT
            case AnalysisRecorded(analysis=analysis, tracker_state=state):
                self.last_analysis = analysis
                self.tracker_state = state
            case DecisionMade(action=action, intent=intent):
                self.clarifications_in_a_row = (
                    self.clarifications_in_a_row + 1 if action == "clarify" else 0
                )
                self.last_intent = intent
            case HandedOff(reasons=reasons, priority=priority, route=route):
                self.status = Status.QUEUED
                self.escalated_in_episode = True
                self.handoff_reasons = list(reasons)
                self.priority = priority
                self.route = route
            case AgentAssigned(agent=agent):
                self.status = Status.ASSIGNED
                self.agent = agent
            case HandedBack():
                self.status = Status.BOT
                self.agent = None
                self.escalated_in_episode = False
                self.clarifications_in_a_row = 0
            case Resolved():
                self.status = Status.RESOLVED
                self.escalated_in_episode = False
            case Reopened():
                self.status = Status.BOT
            case ActionStep():
                self.action = event
            case IdentityVerified(reference=reference):
                self.identity_verified = True
                self.verified_reference = reference or self.verified_reference
            case _:
                pass

    @property
    def seq(self) -> int:
        """The sequence number of the last event (events are numbered from 1, no gaps)."""
        return len(self.events)

    @property
    def with_human(self) -> bool:
        """True while a person owns the conversation (queued or assigned): the bot stays quiet."""
        return self.status in (Status.QUEUED, Status.ASSIGNED)

    def transcript(self) -> list[tuple[str, str]]:
        """(speaker, text) pairs of what was said, for packets and summaries."""
        lines: list[tuple[str, str]] = []
        for event in self.events:
            if isinstance(event, CustomerMessage):
                lines.append(("customer", event.text))
            elif isinstance(event, BotReply):
                lines.append(("bot", event.text))
            elif isinstance(event, AgentMessage):
                lines.append(("agent", event.text))
        return lines

    def of_type(self, kind: type[E]) -> list[E]:
        """Every event of one class, in order."""
        return [event for event in self.events if isinstance(event, kind)]
