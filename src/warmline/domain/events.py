"""Typed conversation events: the only way conversation state changes.

A conversation is the ordered list of its events; `Conversation.replay` rebuilds its state.
That gives an audit trail, replay and what-if for free (the habit of Rasa's tracker).
Each event is a pydantic model tagged by `type`, so the store keeps it as JSON and reads it
back into the same class.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def utc_now() -> datetime:
    """The current time, timezone-aware, for event timestamps."""
    return datetime.now(UTC)


class Event(BaseModel):
    """Fields every event has. `seq` is assigned by the store when the event is appended."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ts: datetime = Field(default_factory=utc_now)


class CustomerMessage(Event):
    """Something the customer wrote (or said, on a transcribed call).

    `ts` is the server's clock (it orders the queue and measures service levels); `client_ts`
    is the time the customer's device claimed, kept for display and never trusted.
    """

    type: Literal["customer_message"] = "customer_message"
    text: str
    channel: str = "web"
    message_id: str | None = None  # the channel's own id (an email's Message-ID)
    client_ts: datetime | None = None
    # What the channel knows about the message beyond its text (an email's subject and its
    # attachments' names, types and sizes); masked like the text.
    meta: dict[str, Any] | None = None


class BotReply(Event):
    """What the AI front line answered; `answer` is the knowledge-base section it quoted."""

    type: Literal["bot_reply"] = "bot_reply"
    text: str
    kind: str = "answer"
    answer: str | None = None


class AnalysisRecorded(Event):
    """The understanding of one customer message: intent, emotion, entities, trajectory."""

    type: Literal["analysis"] = "analysis"
    analysis: dict[str, Any]
    tracker_state: dict[str, Any] = Field(default_factory=dict)


class DecisionMade(Event):
    """The policy's decision for one customer message, with every rule that fired."""

    type: Literal["decision"] = "decision"
    action: str
    reasons: list[dict[str, Any]] = Field(default_factory=list)
    priority: float = 0.0
    route: str | None = None
    intent: str | None = None
    senior: bool = False
    policy: str | None = None


class HandedOff(Event):
    """The conversation was put in the human queue, with the packet the agent will read."""

    type: Literal["handoff"] = "handoff"
    reasons: list[str]
    priority: float = 0.0
    route: str | None = None
    packet: dict[str, Any] = Field(default_factory=dict)
    senior: bool = False
    frustration: float = 0.0
    staffing: dict[str, Any] = Field(default_factory=dict)


class AgentAssigned(Event):
    """An agent claimed the conversation from the queue, or a supervisor (`by`) gave it to
    them."""

    type: Literal["agent_assigned"] = "agent_assigned"
    agent: str
    by: str | None = None


class AgentMessage(Event):
    """Something a human agent wrote to the customer."""

    type: Literal["agent_message"] = "agent_message"
    agent: str
    text: str


class NoteAdded(Event):
    """An internal note, never shown to the customer."""

    type: Literal["note"] = "note"
    author: str
    text: str


class HandedBack(Event):
    """The agent returned the conversation to the bot."""

    type: Literal["handed_back"] = "handed_back"
    agent: str


class Resolved(Event):
    """The conversation's problem is solved."""

    type: Literal["resolved"] = "resolved"
    by: str
    disposition: str | None = None
    note: str | None = None


class Reopened(Event):
    """A resolved conversation became active again (usually the customer wrote back)."""

    type: Literal["reopened"] = "reopened"
    by: str


class ActionRecorded(Event):
    """A routine action ran for the customer: `ok`, `error`, or `empty` (nothing useful)."""

    type: Literal["action"] = "action"
    action: str
    status: Literal["ok", "error", "empty"] = "ok"
    detail: str = ""


class ActionStep(Event):
    """Where a routine action stands after a customer turn: the action, its status
    (proposed, collecting, verifying, confirming, done, failed, cancelled) and the dialogue
    state the next turn continues from (slots filled and asked, questions, values offered)."""

    type: Literal["action_step"] = "action_step"
    action: str
    reason: str = ""  # why the message went to this action ("intent order_status (0.97)")
    status: Literal[
        "proposed", "collecting", "verifying", "confirming", "done", "failed", "cancelled"
    ]
    state: dict[str, Any] = Field(default_factory=dict)


class IdentityVerified(Event):
    """The customer proved who they are (`method`: a code sent to the email on file, or the
    site's signed identity); `reference` is their id in the business's systems (None
    until an action first looks it up, for a signed identity)."""

    type: Literal["identity_verified"] = "identity_verified"
    method: Literal["email_code", "signed"]
    reference: str | None = None


class SlaBreached(Event):
    """A service level target was missed: no first response, or no resolution, in time."""

    type: Literal["sla_breached"] = "sla_breached"
    target: Literal["first_response", "resolution"]
    target_seconds: int = 0
    elapsed_seconds: float = 0.0
    priority: float = 0.0


class FeedbackGiven(Event):
    """The customer's survey answers after resolution."""

    type: Literal["feedback"] = "feedback"
    csat: int | None = None
    nps: int | None = None
    felt_heard: bool | None = None
    comment: str | None = None


class IntentCorrected(Event):
    """An agent says what a customer message (`message_seq`) really asked for: a training
    example for `warmline train intents --include-corrections`."""

    type: Literal["intent_corrected"] = "intent_corrected"
    message_seq: int
    intent: str
    previous: str | None = None  # what the model said
    by: str


class AnswerFlagged(Event):
    """An agent marks a bot answer (`reply_seq`) as wrong, naming the section that does answer
    the question when there is one; the knowledge base ranks by it from then on."""

    type: Literal["answer_flagged"] = "answer_flagged"
    reply_seq: int
    question: str  # the customer message the answer replied to
    wrong: str | None = None  # the section the bot quoted
    right: str | None = None  # the section that answers it
    by: str


class EscalationMarked(Event):
    """An agent's verdict on the handoff: it was unnecessary (the bot could have done it) or
    late (the customer was upset for too long first)."""

    type: Literal["escalation_marked"] = "escalation_marked"
    verdict: Literal["unnecessary", "late"]
    note: str = ""
    by: str


AnyEvent = Annotated[
    CustomerMessage
    | BotReply
    | AnalysisRecorded
    | DecisionMade
    | HandedOff
    | AgentAssigned
    | AgentMessage
    | NoteAdded
    | HandedBack
    | Resolved
    | Reopened
    | ActionRecorded
    | ActionStep
    | IdentityVerified
    | SlaBreached
    | FeedbackGiven
    | IntentCorrected
    | AnswerFlagged
    | EscalationMarked,
    Field(discriminator="type"),
]

_EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def event_from_dict(data: dict[str, Any]) -> AnyEvent:
    """Rebuild a typed event from its stored JSON form."""
    return _EVENT_ADAPTER.validate_python(data)


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON form of an event, as stored."""
    return event.model_dump(mode="json")
