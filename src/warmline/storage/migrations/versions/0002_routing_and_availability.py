"""routing and availability: agent team/status/last_seen, conversation senior/frustration,
agent_assignments (burnout cap)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="offline")
        )
        batch_op.add_column(sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("senior", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("frustration", sa.Float(), nullable=False, server_default="0")
        )

    op.create_table(
        "agent_assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(length=100), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frustration", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agent_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_assignments_agent_time", ["agent_id", "assigned_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agent_assignments_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("agent_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_assignments_conversation_id"))
        batch_op.drop_index("ix_agent_assignments_agent_time")
    op.drop_table("agent_assignments")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("frustration")
        batch_op.drop_column("senior")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("last_seen")
        batch_op.drop_column("status")
        batch_op.drop_column("team")
