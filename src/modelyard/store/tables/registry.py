"""Environments, models, packages, versions (with their tags, metrics, parameters and
lineage) and aliases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class EnvironmentRow(Base):
    __tablename__ = "environments"

    name: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # what a promotion into this environment must pass (see domain/promotions.py)
    gates: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (sa.UniqueConstraint("environment", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(sa.String(128))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # The last version number handed out; bumped by an UPDATE ... RETURNING in the same
    # transaction that inserts the version, so numbers are gap-free under concurrency.
    last_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelTagRow(Base):
    __tablename__ = "model_tags"

    model_id: Mapped[int] = mapped_column(
        sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class PackageRow(Base):
    """A package known to the store. ``pending`` until a version that uses it commits."""

    __tablename__ = "packages"
    __table_args__ = (sa.CheckConstraint("state in ('pending', 'ready')", name="state"),)

    digest: Mapped[str] = mapped_column(sa.String(71), primary_key=True)  # "sha256:<64 hex>"
    manifest: Mapped[str] = mapped_column(sa.Text)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    file_count: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        sa.UniqueConstraint("model_id", "version"),
        sa.CheckConstraint("status in ('ready', 'archived')", name="status"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_model_versions_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("models.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column()
    package_digest: Mapped[str] = mapped_column(
        sa.String(71), sa.ForeignKey("packages.digest", ondelete="RESTRICT"), index=True
    )
    flavor: Mapped[str] = mapped_column(sa.String(64))
    signature: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    requirements: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default="ready")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    git_commit: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    promoted_from: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    # the version this one is a compiled (ONNX) copy of (``models compile``)
    compiled_from: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    # imported from a signed bundle: its package and metadata cannot be edited here
    locked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VersionTagRow(Base):
    __tablename__ = "version_tags"
    __table_args__ = (sa.Index("ix_version_tags_key_value", "key", "value"),)

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(5000))


class VersionMetricRow(Base):
    __tablename__ = "version_metrics"
    __table_args__ = (sa.Index("ix_version_metrics_key_value", "key", "value"),)

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[float] = mapped_column(sa.Float)


class VersionParamRow(Base):
    __tablename__ = "version_params"
    __table_args__ = (sa.Index("ix_version_params_key_value", "key", "value"),)

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(5000))


class VersionDatasetRow(Base):
    """Lineage: the dataset versions a model version was trained or evaluated on."""

    __tablename__ = "version_datasets"

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    dataset: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), default="training")


class EnsembleMemberRow(Base):
    """Which versions an ensemble version combines: a member cannot be deleted or archived
    while an ensemble uses it (a promoted copy of the ensemble keeps using the members of
    its source)."""

    __tablename__ = "ensemble_members"

    ensemble_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class AliasRow(Base):
    __tablename__ = "aliases"
    __table_args__ = (sa.Index("ix_aliases_alias", "alias"),)

    model_id: Mapped[int] = mapped_column(
        sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="RESTRICT"), index=True
    )
    previous_version: Mapped[int | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(200))
