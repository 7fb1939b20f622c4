"""Evaluations of versions on dataset versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class EvaluationRow(Base):
    """A version scored on a dataset version: its metrics, kept with both."""

    __tablename__ = "evaluations"
    __table_args__ = (sa.Index("ix_evaluations_version_id", "version_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("model_versions.id", ondelete="CASCADE"))
    dataset: Mapped[str] = mapped_column(sa.String(300), index=True)
    label: Mapped[str] = mapped_column(sa.String(250))
    kind: Mapped[str] = mapped_column(sa.String(16))  # classification | regression
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
