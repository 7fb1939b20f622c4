"""Alert rules and their firings."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class AlertRuleRow(Base):
    """A rule the server's scheduler evaluates every ``every_seconds`` over the last
    ``window_seconds``; ``next_run_at`` is claimed with a guarded UPDATE, so one worker runs it."""

    __tablename__ = "alert_rules"
    __table_args__ = (sa.UniqueConstraint("deployment_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(sa.ForeignKey("deployments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(128))
    signal: Mapped[str] = mapped_column(sa.String(64))
    feature: Mapped[str | None] = mapped_column(sa.String(250), nullable=True)
    op: Mapped[str] = mapped_column(sa.String(2))
    threshold: Mapped[float] = mapped_column(sa.Float)
    window_seconds: Mapped[int] = mapped_column()
    # the window ends this long before the evaluation (labels that arrive late)
    offset_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    # only the rows whose input or key column ``segment_column`` is ``segment_value``
    segment_column: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    segment_value: Mapped[str | None] = mapped_column(sa.String(250), nullable=True)
    every_seconds: Mapped[int] = mapped_column()
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRow(Base):
    """One firing of a rule: open while it fires, resolved when the signal clears."""

    __tablename__ = "alerts"
    __table_args__ = (sa.Index("ix_alerts_rule_id_state", "rule_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("alert_rules.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    last_value: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
