"""deployments, revisions, revision variants

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("environment", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("current_revision", sa.Integer(), nullable=False),
        sa.Column("last_revision", sa.Integer(), nullable=False),
        sa.Column("primary_key_hash", sa.String(length=64), nullable=False),
        sa.Column("primary_key_prefix", sa.String(length=16), nullable=False),
        sa.Column("primary_key_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secondary_key_hash", sa.String(length=64), nullable=False),
        sa.Column("secondary_key_prefix", sa.String(length=16), nullable=False),
        sa.Column("secondary_key_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment"],
            ["environments.name"],
            name=op.f("fk_deployments_environment_environments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint("name", name=op.f("uq_deployments_name")),
    )
    op.create_table(
        "deployment_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("rolled_back_to", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action in ('create', 'update', 'rollback')",
            name=op.f("ck_deployment_revisions_action"),
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_revisions_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_revisions")),
        sa.UniqueConstraint(
            "deployment_id", "number", name=op.f("uq_deployment_revisions_deployment_id_number")
        ),
    )
    op.create_table(
        "revision_variants",
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["deployment_revisions.id"],
            name=op.f("fk_revision_variants_revision_id_deployment_revisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_revision_variants_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("revision_id", "version_id", name=op.f("pk_revision_variants")),
    )
    op.create_index(
        op.f("ix_revision_variants_version_id"), "revision_variants", ["version_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_revision_variants_version_id"), table_name="revision_variants")
    op.drop_table("revision_variants")
    op.drop_table("deployment_revisions")
    op.drop_table("deployments")
