"""Deployments, their immutable revisions and the versions each revision pins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class DeploymentRow(Base):
    """A named web service. ``current_revision`` is what serves; scoring keys are hashed."""

    __tablename__ = "deployments"
    __table_args__ = (sa.UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    description: Mapped[str] = mapped_column(sa.Text, default="")
    current_revision: Mapped[int] = mapped_column(default=0)
    last_revision: Mapped[int] = mapped_column(default=0)
    primary_key_hash: Mapped[str] = mapped_column(sa.String(64))
    primary_key_prefix: Mapped[str] = mapped_column(sa.String(16))
    primary_key_created_at: Mapped[datetime] = mapped_column(default=utcnow)
    secondary_key_hash: Mapped[str] = mapped_column(sa.String(64))
    secondary_key_prefix: Mapped[str] = mapped_column(sa.String(16))
    secondary_key_created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServingChangeRow(Base):
    """One row counting the changes to what serves (a deployment made, changed, re-keyed
    or deleted): a server worker polls it, and reads the deployments only when it moved."""

    __tablename__ = "serving_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    changes: Mapped[int] = mapped_column(sa.BigInteger)


class RevisionRow(Base):
    """An immutable revision: its variants and serving options as JSON."""

    __tablename__ = "deployment_revisions"
    __table_args__ = (
        sa.UniqueConstraint("deployment_id", "number"),
        sa.CheckConstraint("action in ('create', 'update', 'rollback')", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(sa.ForeignKey("deployments.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    variants: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    options: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    action: Mapped[str] = mapped_column(sa.String(16))
    rolled_back_to: Mapped[int | None] = mapped_column(nullable=True)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RevisionVariantRow(Base):
    """Which model versions a revision pins: lets the registry refuse to delete or archive a
    version that a deployment's current revision serves."""

    __tablename__ = "revision_variants"

    revision_id: Mapped[int] = mapped_column(
        sa.ForeignKey("deployment_revisions.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ServingWorkerRow(Base):
    """What one server worker serves, as it last reported: ``served`` maps each deployment
    to ``{"revision": n, "failed": m | None, "failure": text | None}``. A worker reports
    when that changes and at least every few seconds (``seen_at``); one that stops deletes
    its row, one that was killed is ignored once its ``seen_at`` is old."""

    __tablename__ = "serving_workers"

    worker: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    served: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    seen_at: Mapped[datetime] = mapped_column(index=True)
