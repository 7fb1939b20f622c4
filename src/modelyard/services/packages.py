"""Storing a staged package in the artifact store so that a crash never leaves it half
visible: every object is written under a temporary name and checked against its digest
(``prepare``), then published, files first and the manifest last (``publish``)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

from modelyard.artifacts.store import ArtifactStore, PendingObject
from modelyard.domain.errors import IntegrityFailure, InvalidPackage
from modelyard.flavors.package import MANIFEST
from modelyard.flavors.staging import StagedPackage


class PackageStore:
    def __init__(self, artifacts: ArtifactStore) -> None:
        self.artifacts = artifacts

    # -- storing ----------------------------------------------------------------------
    def prepare(self, staged: StagedPackage) -> list[PendingObject]:
        """Copy every file the store lacks, then the manifest, under temporary names,
        checking each against its digest. Nothing is visible yet; a corrupt file is
        ``InvalidPackage`` and leaves nothing behind."""
        pending: list[PendingObject] = []
        try:
            for name, info in sorted(staged.manifest.files.items()):
                if self.artifacts.exists(info.digest):
                    continue
                with open(staged.folder / name, "rb") as fh:
                    try:
                        pending.append(self.artifacts.write_pending(fh, info.digest))
                    except IntegrityFailure:
                        raise InvalidPackage(
                            f"{staged.folder}: file {name!r} does not match its digest in "
                            f"{MANIFEST} (corrupt package)"
                        ) from None
            if not self.artifacts.exists(staged.digest):
                pending.append(
                    self.artifacts.write_pending(io.BytesIO(staged.manifest_bytes), staged.digest)
                )
        except BaseException:
            self.discard(pending)
            raise
        return pending

    def publish(self, pending: list[PendingObject]) -> None:
        """Give prepared objects their final names: files first, the manifest last."""
        for obj in pending:
            self.artifacts.publish(obj)

    def discard(self, pending: list[PendingObject]) -> None:
        for obj in pending:
            self.artifacts.discard(obj)

    @contextlib.contextmanager
    def discarded_on_error(self, pending: list[PendingObject]) -> Iterator[None]:
        """Discard what is still pending when the block fails (a published object has no
        temporary name left, so discarding it does nothing)."""
        try:
            yield
        except BaseException:
            self.discard(pending)
            raise

    def upload(self, staged: StagedPackage) -> None:
        self.publish(self.prepare(staged))
