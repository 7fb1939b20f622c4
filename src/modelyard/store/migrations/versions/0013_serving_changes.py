"""a counter of changes to what serves, so that server workers poll one row

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "serving_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serving_changes")),
    )
    op.bulk_insert(table, [{"id": 1, "changes": 0}])


def downgrade() -> None:
    op.drop_table("serving_changes")
