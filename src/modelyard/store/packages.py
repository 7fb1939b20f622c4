"""Packages: one row per manifest, by digest, ``pending`` while a remote upload's files
arrive and ``ready`` once a version names it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from modelyard.store.tables import ModelVersionRow, PackageRow, core, utcnow


@dataclass(frozen=True, slots=True)
class StoredPackage:
    """A package's row: its manifest's exact text and whether a version made it ready."""

    digest: str
    manifest: str
    state: str  # pending | ready
    created_at: datetime


_PACKAGE_READY = (
    sa.update(core(PackageRow))
    .where(core(PackageRow).c.digest == sa.bindparam("b_digest"))
    .values(state="ready")
)


def _record(dialect: Any, ready: bool) -> Any:
    insert = dialect.insert(core(PackageRow))
    if ready:  # a version names it in this transaction: ready, also if it was pending
        return insert.on_conflict_do_update(index_elements=["digest"], set_={"state": "ready"})
    return insert.on_conflict_do_nothing(index_elements=["digest"])


# (pending, ready), built once
_RECORD_SQLITE = (_record(sqlite, False), _record(sqlite, True))
_RECORD_POSTGRES = (_record(postgresql, False), _record(postgresql, True))


class Packages:
    """The packages table, inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self, digest: str, manifest: str, size_bytes: int, file_count: int, *, ready: bool = False
    ) -> None:
        """The package's row: ``pending`` (its files still arriving), or ``ready`` (a version
        names it in this transaction), which also readies a pending row of the same digest."""
        postgres = self.session.get_bind().dialect.name == "postgresql"
        statement = (_RECORD_POSTGRES if postgres else _RECORD_SQLITE)[ready]
        self.session.execute(
            statement,
            {
                "digest": digest,
                "manifest": manifest,
                "size_bytes": size_bytes,
                "file_count": file_count,
                "state": "ready" if ready else "pending",
                "created_at": utcnow(),
            },
        )

    def mark_ready(self, digest: str) -> None:
        self.session.execute(_PACKAGE_READY, {"b_digest": digest})

    def manifest(self, digest: str) -> str | None:
        return self.session.scalar(
            sa.select(PackageRow.manifest).where(PackageRow.digest == digest)
        )

    def all(self) -> list[StoredPackage]:
        return [
            StoredPackage(r.digest, r.manifest, r.state, r.created_at)
            for r in self.session.scalars(sa.select(PackageRow))
        ]

    def use_counts(self) -> dict[str, int]:
        return dict(
            self.session.execute(
                sa.select(ModelVersionRow.package_digest, sa.func.count()).group_by(
                    ModelVersionRow.package_digest
                )
            ).all()
        )

    def delete(self, digest: str) -> None:
        self.session.execute(sa.delete(PackageRow).where(PackageRow.digest == digest))
