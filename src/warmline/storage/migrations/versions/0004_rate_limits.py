"""rate limits shared by the workers (an UNLOGGED table on PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED: no write-ahead log for counters that may be lost in a crash.
    prefixes = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        prefixes=prefixes,
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
