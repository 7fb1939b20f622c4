"""Scheduled batch jobs and their runs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class BatchJobRow(Base):
    """A job the server's scheduler runs at ``next_run_at`` (claimed with a guarded UPDATE,
    so one worker runs it), then every ``every_seconds``; no schedule: runs when asked."""

    __tablename__ = "batch_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    deployment_id: Mapped[int] = mapped_column(sa.ForeignKey("deployments.id", ondelete="CASCADE"))
    input_uri: Mapped[str] = mapped_column(sa.String(2000))
    output_uri: Mapped[str] = mapped_column(sa.String(2000))
    table_name: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    max_error_rate: Mapped[float] = mapped_column(sa.Float, default=0.0)
    explain: Mapped[int] = mapped_column(default=0)  # top factors per row in the output
    every_seconds: Mapped[int | None] = mapped_column(nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchJobRunRow(Base):
    """One run of a job: running until it succeeds or fails."""

    __tablename__ = "batch_job_runs"
    __table_args__ = (sa.UniqueConstraint("job_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("batch_jobs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    trigger: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    output_uri: Mapped[str | None] = mapped_column(sa.String(2000), nullable=True)
    rows: Mapped[int] = mapped_column(default=0)
    scored: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    dataset: Mapped[str | None] = mapped_column(sa.String(400), nullable=True)
    table_rows: Mapped[int | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
