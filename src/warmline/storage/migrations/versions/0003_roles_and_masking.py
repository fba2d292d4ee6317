"""roles for agents; mask personal data and unstorable characters already stored; hash
idempotency keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:00:00

Events and idempotency answers written before masking existed may hold card numbers, emails
and phone numbers in clear, and (on SQLite) lone surrogates that break every read of their
conversation. This pass rewrites them in the form the store now writes: masked
(`warmline.redaction.mask`; emails and phones kept when WARMLINE_KEEP_CONTACT_DETAILS is set)
and with NUL and lone surrogates replaced by U+FFFD.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op
from pydantic_settings import BaseSettings, SettingsConfigDict

from warmline.redaction import mask_value

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_BATCH = 500


def _clean(value: Any, keep_contacts: bool) -> Any:
    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return _UNSTORABLE.sub("\ufffd", item)
        if isinstance(item, list):
            return [walk(x) for x in item]
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        return item

    return mask_value(walk(value), keep_contacts=keep_contacts)


class _Privacy(BaseSettings):
    """The one setting this migration needs, read as warmline reads it (environment, .env)."""

    model_config = SettingsConfigDict(env_prefix="WARMLINE_", env_file=".env", extra="ignore")

    keep_contact_details: bool = False


def _rewrite(table: str, key_columns: tuple[str, ...], column: str) -> None:
    keep = _Privacy().keep_contact_details
    connection = op.get_bind()
    columns = ", ".join((*key_columns, column))
    where = " AND ".join(f"{name} = :{name}" for name in key_columns)
    placeholder = "CAST(:value AS JSONB)" if connection.dialect.name == "postgresql" else ":value"
    rows = connection.execute(sa.text(f"SELECT {columns} FROM {table}")).fetchall()
    for start in range(0, len(rows), _BATCH):
        for row in rows[start : start + _BATCH]:
            *keys, raw = row
            data = json.loads(raw) if isinstance(raw, str) else raw
            cleaned = _clean(data, keep)
            if cleaned != data:
                params = dict(zip(key_columns, keys, strict=True))
                params["value"] = json.dumps(cleaned, ensure_ascii=False)
                connection.execute(
                    sa.text(f"UPDATE {table} SET {column} = {placeholder} WHERE {where}"), params
                )


def _hash_idempotency_keys() -> None:
    """Clients put anything in an Idempotency-Key; only its SHA-256 is kept from now on."""
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT conversation_id, key FROM idempotency_keys"))
    for conversation_id, key in rows.fetchall():
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        connection.execute(
            sa.text(
                "UPDATE idempotency_keys SET key = :digest"
                " WHERE conversation_id = :conversation AND key = :key"
            ),
            {"digest": digest, "conversation": conversation_id, "key": key},
        )


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), nullable=False, server_default="agent")
        )
    _rewrite("events", ("id",), "data")
    _rewrite("idempotency_keys", ("conversation_id", "key"), "response")
    _hash_idempotency_keys()


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("role")
