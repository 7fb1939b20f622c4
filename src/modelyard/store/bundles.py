"""What signed bundles keep here: the trusted public keys, the bundles imported (by the
digest of their signed metadata) and this installation's id. ``Bundles`` answers with
``TrustedKey`` entities and ``BundleImport`` records."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.bundles import TrustedKey
from modelyard.store.tables import BundleImportRow, InstallationRow, TrustedKeyRow


@dataclass(frozen=True, slots=True)
class BundleImport:
    """A bundle imported before: the version it made, where it came from, who signed it."""

    version_id: int
    source: str
    key_id: str


def _key(row: TrustedKeyRow) -> TrustedKey:
    return TrustedKey(row.name, row.key_id, row.public_key, row.created_by)


class Bundles:
    """Trusted keys, bundle imports and the installation id, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def installation_id(self) -> str | None:
        row = self.session.get(InstallationRow, 1)
        return None if row is None else row.installation_id

    # -- trusted keys -----------------------------------------------------------------------
    def trust(self, name: str, key_id: str, public_key: str, created_by: str) -> TrustedKey:
        row = TrustedKeyRow(name=name, key_id=key_id, public_key=public_key, created_by=created_by)
        self.session.add(row)
        self.session.flush()
        return _key(row)

    def find_key(self, *, name: str | None = None, key_id: str | None = None) -> TrustedKey | None:
        """The trusted key with this name or this key id."""
        named = [
            column == value
            for column, value in ((TrustedKeyRow.name, name), (TrustedKeyRow.key_id, key_id))
            if value is not None
        ]
        if not named:
            return None
        row = self.session.scalar(
            sa.select(TrustedKeyRow).where(sa.or_(*named)).order_by(TrustedKeyRow.id).limit(1)
        )
        return None if row is None else _key(row)

    def trusted_keys(self) -> list[TrustedKey]:
        """Every trusted key, by name."""
        return [
            _key(r)
            for r in self.session.scalars(sa.select(TrustedKeyRow).order_by(TrustedKeyRow.name))
        ]

    # -- imports ----------------------------------------------------------------------------
    def imported(self, bundle_digest: str) -> BundleImport | None:
        row = self.session.get(BundleImportRow, bundle_digest)
        return None if row is None else BundleImport(row.version_id, row.source, row.key_id)

    def record_import(
        self, bundle_digest: str, *, version_id: int, source: str, key_id: str, created_by: str
    ) -> None:
        self.session.add(
            BundleImportRow(
                bundle_digest=bundle_digest,
                version_id=version_id,
                source=source,
                key_id=key_id,
                created_by=created_by,
            )
        )
        self.session.flush()
