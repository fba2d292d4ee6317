"""one customer across channels: how and when each identity was verified, merged customers,
the customers' audit log, and the address an email conversation writes back to

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    # Every identity stored before this revision came from a trusted source (staff, the API
    # key, a site's signature, an import): the unverified details were kept elsewhere.
    op.add_column(
        "identities",
        sa.Column("source", sa.String(length=30), server_default="trusted", nullable=False),
    )
    op.add_column("identities", sa.Column("verified_at", sa.DateTime(timezone=True)))
    op.add_column("customers", sa.Column("merged_into", sa.String(length=36)))
    op.create_index("ix_customers_merged_into", "customers", ["merged_into"])
    op.add_column("conversations", sa.Column("reply_to", sa.String(length=320)))
    op.create_table(
        "customer_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("detail", _JSON, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_events_customer_id", "customer_events", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_events_customer_id", table_name="customer_events")
    op.drop_table("customer_events")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("reply_to")
    op.drop_index("ix_customers_merged_into", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("merged_into")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("verified_at")
        batch.drop_column("source")
