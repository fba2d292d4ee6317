"""CSV export of conversations: one row per conversation with its metrics, for spreadsheets
and other tools. Personal data in the text columns is redacted unless an admin asks for it
(and even then only what the store keeps: cards are always masked)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from warmline.analytics.metrics import facts_of
from warmline.domain.conversation import Conversation
from warmline.domain.events import CustomerMessage
from warmline.redaction import redact_stored

COLUMNS = (
    "id",
    "started",
    "channel",
    "customer_id",
    "status",
    "customer_turns",
    "first_message",
    "handed_over",
    "reasons",
    "first_response_s",
    "handling_s",
    "resolution_s",
    "resolved",
    "reopened",
    "late_escalation",
    "unnecessary_escalation",
    "frustration_start",
    "frustration_end",
    "satisfaction_estimated",
    "csat",
    "nps",
    "felt_heard",
    "churn_threat",
    "sla_breaches",
)


def conversation_row(conversation: Conversation, *, personal: bool = False) -> list[Any] | None:
    """The export row of one conversation (None without a customer message)."""
    facts = facts_of(conversation)
    if facts is None:
        return None
    messages = conversation.of_type(CustomerMessage)
    first = messages[0].text[:500]
    return [
        facts.id,
        facts.started.isoformat(),
        facts.channel,
        facts.customer_id or "",
        conversation.status.value,
        len(messages),
        first if personal else redact_stored(first),
        facts.handed_over,
        " ".join(facts.reasons),
        _number(facts.first_response_s),
        _number(facts.handling_s),
        _number(facts.resolution_s),
        facts.resolved,
        facts.reopened,
        facts.late,
        facts.unnecessary,
        _number(facts.frustration_start),
        _number(facts.frustration_end),
        _number(facts.satisfaction),
        _blank(facts.csat),
        _blank(facts.nps),
        _blank(facts.felt_heard),
        facts.churn_threat,
        facts.sla_breaches,
    ]


def csv_lines(conversations: Iterable[Conversation], *, personal: bool = False) -> Iterator[str]:
    """The export as CSV text, a line at a time (a header first), for streaming."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flushed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flushed()
    for conversation in conversations:
        row = conversation_row(conversation, personal=personal)
        if row is not None:
            writer.writerow([_safe_cell(cell) for cell in row])
            yield flushed()


def _number(value: float | None) -> str | float:
    return "" if value is None else round(value, 4)


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula ("=HYPERLINK(...)") is quoted as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
