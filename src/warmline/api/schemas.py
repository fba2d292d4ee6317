"""Request and response bodies of the HTTP API (validated, bounded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

MAX_NAME = 200


class CustomerIn(BaseModel):
    """Who is writing in, as far as the channel knows."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=MAX_NAME)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[+0-9 ().-]{5,40}$")
    external_id: str | None = Field(default=None, max_length=200)
    tier: str | None = Field(default=None, max_length=50)
    plan: str | None = Field(default=None, max_length=100)
    lifetime_value: float = Field(default=0.0, ge=0)


class ConversationIn(BaseModel):
    """Open a conversation."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(default="web", pattern=r"^(web|email|voice|sms|api)$")
    customer: CustomerIn | None = None


class ConversationCreated(BaseModel):
    """A new conversation and the customer's token for it."""

    id: str
    token: str
    customer_id: str | None
    status: str


class MessageIn(BaseModel):
    """One customer message. Length is checked against the configured limit in the view."""

    model_config = ConfigDict(extra="forbid")

    text: str
    channel: str | None = Field(default=None, pattern=r"^(web|email|voice|sms|api)$")
    ts: datetime | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the message is empty")
        return text


class MessageOut(BaseModel):
    """What the engine did with the message."""

    conversation_id: str
    decision: str
    reasons: list[dict[str, Any]]
    reply: str | None
    escalated: bool
    priority: float = 0.0
    route: str | None = None
    replayed: bool = False


class AgentTextIn(BaseModel):
    """An agent's message or note."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the text is empty")
        return text


class AgentIn(BaseModel):
    """Create an agent."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    skills: list[str] = Field(default_factory=list, max_length=50)
    seniority: str = Field(default="regular", pattern=r"^(junior|regular|senior|lead)$")
    team: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")


class AgentStatusIn(BaseModel):
    """An agent's availability; sending it again is the heartbeat that keeps them online."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(pattern=r"^(online|away|offline)$")


class AgentOut(BaseModel):
    """An agent as administrators see it (never the token)."""

    id: str
    name: str
    team: str | None
    skills: list[str]
    seniority: str
    status: str
    last_seen: datetime | None


class EventOut(BaseModel):
    """One event of a conversation."""

    seq: int
    type: str
    data: dict[str, Any]


class ConversationOut(BaseModel):
    """A conversation's state and its events."""

    id: str
    status: str
    agent: str | None
    customer_id: str | None
    channel: str
    priority: float
    events: list[dict[str, Any]]


class QueueItem(BaseModel):
    """One conversation waiting for a person: why it was escalated (every reason with its
    numbers), its base and effective priority (base + waiting time), route and seniority."""

    id: str
    priority: float
    route: str | None
    queued_at: datetime | None
    reasons: list[str]
    packet: dict[str, Any]
    effective_priority: float = 0.0
    waiting_seconds: float = 0.0
    senior: bool = False
    frustration: float = 0.0
    reason_details: list[dict[str, Any]] = Field(default_factory=list)
    sla_breaches: list[str] = Field(default_factory=list)
