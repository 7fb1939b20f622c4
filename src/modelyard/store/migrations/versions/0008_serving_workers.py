"""what each server worker serves

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serving_workers",
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("served", sa.JSON(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_serving_workers")),
    )
    op.create_index(
        op.f("ix_serving_workers_seen_at"), "serving_workers", ["seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_serving_workers_seen_at"), table_name="serving_workers")
    op.drop_table("serving_workers")
