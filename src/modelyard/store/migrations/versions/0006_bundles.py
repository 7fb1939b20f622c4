"""trusted keys, bundle imports, the installation's identity, locked versions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("installation_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_installation_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.create_table(
        "trusted_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_trusted_keys_key_id")),
        sa.UniqueConstraint("name", name=op.f("uq_trusted_keys_name")),
    )
    op.create_table(
        "bundle_imports",
        sa.Column("bundle_digest", sa.String(length=80), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=400), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_bundle_imports_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bundle_digest", name=op.f("pk_bundle_imports")),
    )
    op.create_index(
        op.f("ix_bundle_imports_version_id"), "bundle_imports", ["version_id"], unique=False
    )
    op.add_column(
        "model_versions",
        sa.Column("locked", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    installation = sa.table(
        "installation",
        sa.column("id", sa.Integer()),
        sa.column("installation_id", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        installation,
        [{"id": 1, "installation_id": uuid.uuid4().hex, "created_at": datetime.now(UTC)}],
    )


def downgrade() -> None:

    op.drop_column("model_versions", "locked")
    op.drop_index(op.f("ix_bundle_imports_version_id"), table_name="bundle_imports")
    op.drop_table("bundle_imports")
    op.drop_table("trusted_keys")
    op.drop_table("installation")
