"""Idempotency keys: a retried POST with the same key returns the first answer, stores nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from warmline.domain.events import utc_now
from warmline.redaction import mask_value
from warmline.storage.db import keeps_contact_details
from warmline.storage.models import IdempotencyRow


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


def request_fingerprint(body: dict[str, Any]) -> str:
    """A stable hash of a request body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def key_digest(key: str) -> str:
    """What is stored of an Idempotency-Key: its SHA-256 (clients put anything in it, even a
    card number or an email)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def recall(
    session: Session, *, conversation_id: str, key: str, fingerprint: str
) -> dict[str, Any] | None:
    """The stored answer for this key, or None; raise if the key came with another body."""
    row = session.get(IdempotencyRow, (conversation_id, key_digest(key)))
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyConflict(key)
    return dict(row.response)


@dataclass(frozen=True)
class PreparedAnswer:
    """What is stored for an Idempotency-Key, computed before the write transaction."""

    conversation_id: str
    key: str  # its digest
    request_hash: str
    response: dict[str, Any]  # masked


def prepare(
    *,
    conversation_id: str,
    key: str,
    fingerprint: str,
    response: dict[str, Any],
    keep_contacts: bool,
) -> PreparedAnswer:
    """The row to store for a key: its digest, and the answer masked."""
    return PreparedAnswer(
        conversation_id,
        key_digest(key),
        fingerprint,
        mask_value(response, keep_contacts=keep_contacts),
    )


def store(session: Session, answer: PreparedAnswer) -> None:
    """Store a prepared answer."""
    session.add(
        IdempotencyRow(
            conversation_id=answer.conversation_id,
            key=answer.key,
            request_hash=answer.request_hash,
            response=answer.response,
            created_at=utc_now(),
        )
    )
    session.flush()


def remember(
    session: Session, *, conversation_id: str, key: str, fingerprint: str, response: dict[str, Any]
) -> None:
    """Store the answer given for this key."""
    store(
        session,
        prepare(
            conversation_id=conversation_id,
            key=key,
            fingerprint=fingerprint,
            response=response,
            keep_contacts=keeps_contact_details(session),
        ),
    )
