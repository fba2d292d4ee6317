"""SQLAlchemy tables. `events` is the source of truth; `conversations` is a projection of it
(status, agent, priority) kept in the same transaction so the queue can be queried and locked."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base; its metadata drives Alembic."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JsonType, list[Any]: JsonType}


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str | None] = mapped_column(String(50))
    plan: Mapped[str | None] = mapped_column(String(100))
    lifetime_value: Mapped[float] = mapped_column(Float, default=0.0)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when an administrator merged this customer into another (`customers/`): the record
    # stays, empty, so its id still leads somewhere.
    merged_into: Mapped[str | None] = mapped_column(String(36), index=True)


class IdentityRow(Base):
    """A verified identifier of a customer (unverified contact details are kept in the
    customer's attributes, never here): how it was verified (`source`) and when."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identity_kind_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(30), default="trusted", server_default="trusted")
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomerEventRow(Base):
    """The audit log of a customer record: merges, identifiers verified, conflicts seen."""

    __tablename__ = "customer_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_queue", "status", "priority", "queued_at"),
        Index("ix_conversations_created_at", "created_at"),  # reports select by period
        Index("ix_conversations_quiet", "status", "updated_at"),  # the bot's idle close
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(30), default="web")
    status: Mapped[str] = mapped_column(String(20), default="bot")
    agent: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    route: Mapped[str | None] = mapped_column(String(100))
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    senior: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    frustration: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The address an email conversation writes back to (its first email's sender): its own,
    # so the conversation keeps its thread when its customer is linked to another record.
    reply_to: Mapped[str | None] = mapped_column(String(320))


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("conversation_id", "seq", name="uq_event_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40), index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    data: Mapped[dict[str, Any]] = mapped_column()


class ConversationFactsRow(Base):
    """What a conversation contributes to the metrics (`analytics.metrics.Facts`), kept in
    step with its events on every append, so a report reads one row per conversation."""

    __tablename__ = "conversation_facts"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer)  # the conversation's last event they include
    data: Mapped[dict[str, Any]] = mapped_column()


class IdempotencyRow(Base):
    __tablename__ = "idempotency_keys"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    seniority: Mapped[str] = mapped_column(String(20), default="regular")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    team: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="offline", server_default="offline")
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(String(20), default="agent", server_default="agent")
    password_hash: Mapped[str | None] = mapped_column(String(200))


class AssignmentRow(Base):
    """Who got which conversation when, and how upset the customer was: the burnout cap reads
    an agent's recent rows. No foreign key to agents: API-key callers act as ad-hoc agents."""

    __tablename__ = "agent_assignments"
    __table_args__ = (Index("ix_agent_assignments_agent_time", "agent_id", "assigned_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(100))
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    frustration: Mapped[float] = mapped_column(Float, default=0.0)


class PolicyStateRow(Base):
    """One row: the policy in force (its validated configuration as JSON), so every worker,
    including one started later, runs the same policy."""

    __tablename__ = "policy_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(2000))
    config: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KbSourceRow(Base):
    """A knowledge-base source: a file or folder as imported (or a name given over the API)."""

    __tablename__ = "kb_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(1000), unique=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sections: Mapped[int] = mapped_column(Integer, default=0)


class KbSectionRow(Base):
    """One searchable section, with its two embeddings (float16, heading then body)."""

    __tablename__ = "kb_sections"
    __table_args__ = (UniqueConstraint("source_id", "key", name="uq_kb_section_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("kb_sources.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(500))
    article: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(String(1000))
    heading: Mapped[str] = mapped_column(String(1000))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    question: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    checksum: Mapped[str] = mapped_column(String(64))
    vectors: Mapped[bytes] = mapped_column(LargeBinary)


class KbStateRow(Base):
    """One row: a number that grows with every change to the knowledge base, so every process
    knows when to rebuild its index."""

    __tablename__ = "kb_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class RateLimitRow(Base):
    """A token bucket shared by the workers (PostgreSQL; UNLOGGED there)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    allowed: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = [
    "AgentRow",
    "AssignmentRow",
    "Base",
    "ConversationRow",
    "CustomerRow",
    "EventRow",
    "IdempotencyRow",
    "IdentityRow",
    "KbSectionRow",
    "KbSourceRow",
    "KbStateRow",
    "PolicyStateRow",
    "RateLimitRow",
]


class WebhookEndpointRow(Base):
    """A receiver of outbound webhooks: its URL, the event types it wants (empty: all), and
    how far through the event log its deliveries have been created (`cursor`, an events.id).
    Its signing secret is derived from WARMLINE_SECRET_KEY, never stored."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDeliveryRow(Base):
    """One webhook message for one endpoint: the durable outbox row, retried until delivered
    or dead-lettered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_row_id", "type", name="uq_webhook_delivery"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_row_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    conversation_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailOutboxRow(Base):
    """One email to a customer (event `seq` of an email conversation, with its `postscript`):
    the durable outbox row, retried until the relay takes it (`sent`) or dead-lettered."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_email_outbox_event"),
        Index("ix_email_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    postscript: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Who holds the row while sending: a random token, until `locked_until`.
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
