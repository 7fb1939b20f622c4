"""the scorer role: a scoring-only credential

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BEFORE = "role in ('viewer', 'developer', 'deployer', 'approver', 'admin')"
_AFTER = "role in ('viewer', 'developer', 'deployer', 'approver', 'scorer', 'admin')"


def upgrade() -> None:
    with op.batch_alter_table("role_bindings") as batch:
        batch.drop_constraint(op.f("ck_role_bindings_role"), type_="check")
        batch.create_check_constraint(op.f("ck_role_bindings_role"), _AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM role_bindings WHERE role = 'scorer'")
    with op.batch_alter_table("role_bindings") as batch:
        batch.drop_constraint(op.f("ck_role_bindings_role"), type_="check")
        batch.create_check_constraint(op.f("ck_role_bindings_role"), _BEFORE)
