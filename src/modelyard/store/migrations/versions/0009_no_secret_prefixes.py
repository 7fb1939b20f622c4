"""listings keep no part of a token's or a scoring key's secret

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the first 12 characters of a secret were kept for listings: keep only its kind
    tokens = sa.table("tokens", sa.column("prefix", sa.String))
    op.execute(
        tokens.update().values(
            prefix=sa.case((tokens.c.prefix.startswith("myd_", autoescape=True), "myd_"), else_="")
        )
    )
    deployments = sa.table(
        "deployments",
        sa.column("primary_key_prefix", sa.String),
        sa.column("secondary_key_prefix", sa.String),
    )
    op.execute(deployments.update().values(primary_key_prefix="myk_", secondary_key_prefix="myk_"))


def downgrade() -> None:
    pass  # the removed characters cannot come back, and nothing needs them
