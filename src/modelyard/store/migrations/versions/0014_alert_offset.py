"""alert rules may read a window that ends in the past (labels that arrive late), and
watch one segment of the traffic

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_rules") as batch:
        batch.add_column(
            sa.Column("offset_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("segment_column", sa.String(128), nullable=True))
        batch.add_column(sa.Column("segment_value", sa.String(250), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_rules") as batch:
        batch.drop_column("segment_value")
        batch.drop_column("segment_column")
        batch.drop_column("offset_seconds")
