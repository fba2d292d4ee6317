"""an index for the bot's idle close: the conversations of one status untouched since a time

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_quiet", "conversations", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_quiet", table_name="conversations")
