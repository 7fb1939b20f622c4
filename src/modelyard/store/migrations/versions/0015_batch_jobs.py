"""scheduled batch jobs and their runs

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("input_uri", sa.String(length=2000), nullable=False),
        sa.Column("output_uri", sa.String(length=2000), nullable=False),
        sa.Column("table_name", sa.String(length=300), nullable=True),
        sa.Column("max_error_rate", sa.Float(), nullable=False),
        sa.Column("explain", sa.Integer(), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_batch_jobs_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_jobs")),
        sa.UniqueConstraint("name", name=op.f("uq_batch_jobs_name")),
    )
    op.create_index("ix_batch_jobs_next_run_at", "batch_jobs", ["next_run_at"], unique=False)
    op.create_table(
        "batch_job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("output_uri", sa.String(length=2000), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=400), nullable=True),
        sa.Column("table_rows", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_jobs.id"],
            name=op.f("fk_batch_job_runs_job_id_batch_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_job_runs")),
        sa.UniqueConstraint("job_id", "number", name=op.f("uq_batch_job_runs_job_id_number")),
    )


def downgrade() -> None:
    op.drop_table("batch_job_runs")
    op.drop_index("ix_batch_jobs_next_run_at", table_name="batch_jobs")
    op.drop_table("batch_jobs")
