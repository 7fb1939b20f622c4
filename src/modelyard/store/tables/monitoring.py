"""Stored monitoring reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class MonitoringReportRow(Base):
    """A stored monitoring report: its summary numbers (for trends) and the whole report."""

    __tablename__ = "monitoring_reports"
    __table_args__ = (sa.Index("ix_monitoring_reports_deployment_id", "deployment", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment: Mapped[str] = mapped_column(sa.String(128))
    environment: Mapped[str] = mapped_column(sa.String(128))
    since: Mapped[datetime] = mapped_column()
    until: Mapped[datetime] = mapped_column()
    reference: Mapped[str] = mapped_column(sa.String(200))
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    report: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
