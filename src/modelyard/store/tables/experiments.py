"""Experiment runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class ExperimentRunRow(Base):
    """One training run of an experiment: its parameters, the fingerprint of the data it
    saw, and its metrics on the holdout."""

    __tablename__ = "experiment_runs"
    __table_args__ = (sa.Index("ix_experiment_runs_experiment", "environment", "experiment", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    experiment: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(300))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    data_fingerprint: Mapped[str] = mapped_column(sa.String(80))
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
