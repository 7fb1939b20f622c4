"""Promotion requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class PromotionRequestRow(Base):
    """A request to copy a version into another environment, with its gates' results and
    approvals; ``state``: pending, blocked (a gate failed), rejected, promoted."""

    __tablename__ = "promotion_requests"
    __table_args__ = (sa.Index("ix_promotion_requests_state", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(300))  # env/name:version
    source_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True
    )
    target_environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    state: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    gates: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    required_approvals: Mapped[int] = mapped_column(default=0)
    requested_by: Mapped[str] = mapped_column(sa.String(200))
    decided_by: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    decision_comment: Mapped[str] = mapped_column(sa.Text, default="")
    result: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
