"""This installation's identity, the keys it trusts and the bundles it imported."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.domain.clock import utcnow
from modelyard.store.tables.base import Base


class InstallationRow(Base):
    """One row: this installation's identity, named in the bundles it exports."""

    __tablename__ = "installation"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    installation_id: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrustedKeyRow(Base):
    """A public Ed25519 key whose bundles this installation imports."""

    __tablename__ = "trusted_keys"
    __table_args__ = (sa.UniqueConstraint("name"), sa.UniqueConstraint("key_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    key_id: Mapped[str] = mapped_column(sa.String(64))
    public_key: Mapped[str] = mapped_column(sa.String(128))  # base64 of the 32 raw bytes
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BundleImportRow(Base):
    """A bundle imported here (by the sha256 of its signed metadata): importing it again
    reports this version and writes nothing."""

    __tablename__ = "bundle_imports"

    bundle_digest: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(sa.String(400))
    key_id: Mapped[str] = mapped_column(sa.String(64))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
