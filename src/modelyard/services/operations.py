"""``modelyard doctor``: prove that rows and stored objects agree, and optionally tidy up.

Errors (exit non-zero): a version whose package is missing, incomplete or corrupt; an
object in the artifact store that no package row accounts for and older than an hour; a
broken audit chain. Warnings: what an interrupted registration left (a ``pending``
package, or objects no row names yet: a registration stores its objects just before the
transaction that records them, so a younger one may be in flight). Info: packages no
version uses any more. ``gc`` removes unused packages, and what an interruption left once
it is an hour old.
"""

from __future__ import annotations

from datetime import timedelta

from modelyard.artifacts.store import ArtifactStore
from modelyard.domain.auth import Principal
from modelyard.domain.clock import utcnow
from modelyard.domain.entities import AuditEvent, DoctorFinding, DoctorReport
from modelyard.domain.errors import IntegrityFailure, InvalidPackage, NotFound
from modelyard.flavors.package import Manifest
from modelyard.services.auth import require_admin
from modelyard.store.unit import Store

GC_GRACE = timedelta(hours=1)


class OperationsService:
    """The doctor and the audit log (installation admins)."""

    def __init__(self, store: Store, artifacts: ArtifactStore, principal: Principal) -> None:
        self.principal = principal
        self.store = store
        self.artifacts = artifacts

    def audit(
        self,
        *,
        subject: str | None = None,
        action: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        require_admin(self.principal, "read the audit log")
        with self.store.read() as tx:
            return tx.audit.list_events(
                subject_prefix=subject, action=action, after_seq=after, limit=limit
            )

    def doctor(self, *, deep: bool = True, gc: bool = False) -> DoctorReport:
        require_admin(self.principal, "run doctor")
        findings: list[DoctorFinding] = []
        with self.store.read() as tx:
            packages = {p.digest: p for p in tx.packages.all()}
            uses = tx.packages.use_counts()
            versions = tx.registry.all_version_digests()
            dataset_files = tx.datasets.all_digests()
            _, bad_seq = tx.audit.verify_chain()
        if bad_seq is not None:
            findings.append(
                DoctorFinding(
                    "error",
                    "audit_chain",
                    f"audit:{bad_seq}",
                    f"audit event {bad_seq} does not match the hash chain",
                )
            )
        manifests: dict[str, Manifest] = {}
        for digest, row in packages.items():
            try:
                manifests[digest] = Manifest.from_bytes(row.manifest.encode(), digest)
            except InvalidPackage as e:
                findings.append(DoctorFinding("error", "bad_manifest", digest, e.message))
        verified: dict[str, str | None] = {}

        def problem(digest: str) -> str | None:
            if digest not in verified:
                try:
                    if deep:
                        self.artifacts.verify(digest)
                    elif not self.artifacts.exists(digest):
                        raise NotFound("missing")
                    verified[digest] = None
                except NotFound:
                    verified[digest] = "missing"
                except IntegrityFailure:
                    verified[digest] = "corrupt"
            return verified[digest]

        for env, name, number, digest in versions:
            subject = f"{env}/{name}:{number}"
            manifest = manifests.get(digest)
            if manifest is None:
                findings.append(
                    DoctorFinding(
                        "error",
                        "version_without_package",
                        subject,
                        f"{subject}: package {digest} has no readable row",
                    )
                )
                continue
            if packages[digest].state != "ready":
                findings.append(
                    DoctorFinding(
                        "error",
                        "package_not_ready",
                        subject,
                        f"{subject}: package {digest} is still pending",
                    )
                )
            if (p := problem(digest)) is not None:
                findings.append(
                    DoctorFinding(
                        "error",
                        f"package_{p}",
                        subject,
                        f"{subject}: manifest object {digest} is {p}",
                    )
                )
            for file, info in sorted(manifest.files.items()):
                if (p := problem(info.digest)) is not None:
                    findings.append(
                        DoctorFinding(
                            "error",
                            f"package_{p}",
                            subject,
                            f"{subject}: file {file!r} ({info.digest}) is {p}",
                        )
                    )
        for digest in sorted(dataset_files):
            if (p := problem(digest)) is not None:
                findings.append(
                    DoctorFinding("error", f"dataset_{p}", digest, f"dataset file {digest} is {p}")
                )

        reachable = set(packages) | dataset_files
        for manifest in manifests.values():
            reachable.update(info.digest for info in manifest.files.values())
        objects = 0
        stray: list[str] = []
        now = utcnow()
        for digest in self.artifacts.iter_digests():
            objects += 1
            if digest in reachable:
                continue
            written = self.artifacts.modified(digest)
            if written is not None and now - written <= GC_GRACE:
                findings.append(
                    DoctorFinding(
                        "warning",
                        "interrupted_registration",
                        digest,
                        f"object {digest} belongs to no package row yet (a registration in "
                        "flight, or an interrupted one: `doctor --gc` removes it after an hour)",
                    )
                )
            else:
                stray.append(digest)
        removable: list[str] = []
        for digest, row in packages.items():
            if uses.get(digest):
                continue
            if row.state == "pending":
                findings.append(
                    DoctorFinding(
                        "warning",
                        "interrupted_registration",
                        digest,
                        f"package {digest} was left pending by an interrupted registration "
                        "(no version uses it; `doctor --gc` removes it after an hour)",
                    )
                )
                if now - row.created_at > GC_GRACE:
                    removable.append(digest)
            else:
                findings.append(
                    DoctorFinding(
                        "info",
                        "unused_package",
                        digest,
                        f"package {digest} is no longer used by any version",
                    )
                )
                removable.append(digest)
        if gc:
            stray = self._collect(removable, manifests, stray, findings)
        for digest in stray:
            findings.append(
                DoctorFinding(
                    "error",
                    "object_without_row",
                    digest,
                    f"object {digest} belongs to no package row",
                )
            )
        return DoctorReport(findings, versions_checked=len(versions), objects_checked=objects)

    def _collect(
        self,
        removable: list[str],
        manifests: dict[str, Manifest],
        stray: list[str],
        findings: list[DoctorFinding],
    ) -> list[str]:
        """Delete unused package rows, then objects nothing reaches any more."""
        removed: list[str] = []
        with self.store.write() as tx:
            uses = tx.packages.use_counts()
            for digest in removable:
                if not uses.get(digest):
                    tx.packages.delete(digest)
                    removed.append(digest)
        with self.store.read() as tx:
            keep: set[str] = tx.datasets.all_digests()
            for row in tx.packages.all():
                keep.add(row.digest)
                try:
                    manifest = Manifest.from_bytes(row.manifest.encode(), row.digest)
                except InvalidPackage:
                    continue
                keep.update(info.digest for info in manifest.files.values())
        candidates = set(stray) | set(removed)
        for digest in removed:
            if digest in manifests:
                candidates.update(info.digest for info in manifests[digest].files.values())
        deleted = 0
        for digest in sorted(candidates - keep):
            self.artifacts.delete(digest)
            deleted += 1
        findings[:] = [f for f in findings if f.subject not in removed]
        findings.append(
            DoctorFinding(
                "info",
                "gc",
                "artifacts",
                f"removed {len(removed)} unused packages and {deleted} objects",
            )
        )
        return []
