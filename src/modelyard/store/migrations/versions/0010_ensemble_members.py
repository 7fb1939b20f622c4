"""the versions each ensemble combines

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ensemble_members",
        sa.Column("ensemble_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ensemble_id"],
            ["model_versions.id"],
            name=op.f("fk_ensemble_members_ensemble_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["model_versions.id"],
            name=op.f("fk_ensemble_members_member_id_model_versions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("ensemble_id", "member_id", name=op.f("pk_ensemble_members")),
    )
    op.create_index(
        op.f("ix_ensemble_members_member_id"), "ensemble_members", ["member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ensemble_members_member_id"), table_name="ensemble_members")
    op.drop_table("ensemble_members")
