"""The one way a version becomes visible: from a staged package, a remote upload, a bundle
import or a promotion copy.

Order of a registration, so a crash at any point leaves nothing half-visible:
  1. stage the package and copy what the store lacks under temporary names, each file
     hashed and checked against the manifest as it is copied (corrupt: refused here);
     the disk starts writing them back at once;
  2. in one transaction: record the package, create the model if new, take the next
     version number (``UPDATE ... RETURNING`` on the model row), insert the version and
     append the audit event; then
  3. make the objects durable and give them their final names, files first, the manifest
     last (the writeback ran during 2, so little is left to wait for); and commit. Only
     this commit makes the version visible.
(A version naming a training dataset publishes its objects before 2: its baseline is
built by loading the stored package.) A crash between 3 and the commit leaves objects no
row names: ``doctor`` counts such an object as an interrupted registration's while it is
younger than an hour (it may be one in flight) and ``doctor --gc`` removes it after that.
A remote upload in several requests records its package as ``pending`` first
(``begin_upload``), since its files arrive over minutes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from modelyard.artifacts.digests import digest_bytes
from modelyard.artifacts.store import PendingObject
from modelyard.domain.auth import Permission, Principal
from modelyard.domain.clock import utcnow
from modelyard.domain.entities import Lineage, ModelVersion
from modelyard.domain.errors import (
    IntegrityFailure,
    InvalidInput,
    InvalidPackage,
    NotFound,
)
from modelyard.domain.names import check_name, parse_model_name, parse_ref
from modelyard.domain.reports import Baseline
from modelyard.flavors.package import Manifest
from modelyard.flavors.registry import Flavors
from modelyard.flavors.staging import Packager, PackageSource, StagedPackage
from modelyard.runtimes.host import ModelHost
from modelyard.services import lookup
from modelyard.services.auth import require
from modelyard.services.ensembles import record_members
from modelyard.services.metadata import Draft, draft
from modelyard.services.packages import PackageStore
from modelyard.store.unit import Store, Tx
from modelyard.wire import archive

if TYPE_CHECKING:
    from modelyard.services.datasets import DatasetService

MANIFEST_CACHE = 256  # parsed manifests of recent uploads, by digest
#: What a client may say about a version it uploads (``promoted_from`` is the server's).
UPLOADED = frozenset(
    {
        "tags",
        "metrics",
        "params",
        "datasets",
        "eval_datasets",
        "description",
        "source",
        "git_commit",
    }
)


class ManifestCache:
    """Parsed manifests by digest, shared by every request of a process: content-addressed,
    so an upload's file PUTs and its commit never parse the YAML again."""

    def __init__(self, size: int = MANIFEST_CACHE) -> None:
        self.size = size
        self._found: dict[str, tuple[bytes, Manifest]] = {}

    def get(self, digest: str) -> tuple[bytes, Manifest] | None:
        return self._found.get(digest)

    def put(self, digest: str, data: bytes, manifest: Manifest) -> None:
        if len(self._found) >= self.size:
            self._found.pop(next(iter(self._found)))
        self._found[digest] = (data, manifest)


@dataclass(frozen=True, slots=True)
class Imported:
    """What a bundle import adds to the version's transaction."""

    lineage: list[tuple[str, str]]
    record: Callable[[Tx, int], None]


class VersionWriter:
    def __init__(
        self,
        store: Store,
        packages: PackageStore,
        packager: Packager,
        manifests: ManifestCache,
        datasets: DatasetService,
        models: ModelHost,
        default_environment: str,
        principal: Principal,
    ) -> None:
        self.models = models
        self.store = store
        self.packages = packages
        self.packager = packager
        self.manifests = manifests
        self.datasets = datasets
        self.default_environment = default_environment
        self.principal = principal

    @property
    def flavors(self) -> Flavors:
        return self.packager.flavors

    # -- from a staged package ------------------------------------------------------------
    def add(
        self, name: str, staged: StagedPackage, found: Draft, environment: str | None
    ) -> ModelVersion:
        env, name = self._target(name, environment)
        self.flavors.check(staged.manifest.flavor)
        with self.store.read() as tx:  # a missing environment is said before any write
            lookup.check_environment(tx, env)
        return self._commit(
            env,
            name,
            staged.digest,
            staged.manifest,
            found,
            data=staged.manifest_bytes,
            pending=self.packages.prepare(staged),
        )

    # -- from a remote upload -------------------------------------------------------------
    def begin_upload(
        self, manifest_text: str, *, environment: str | None = None
    ) -> tuple[str, list[str]]:
        """First step of a remote registration: record the package as pending and say which
        of its files the store still lacks (identical content is never sent twice)."""
        env = environment or self.default_environment
        require(self.principal, Permission.REGISTER, env)
        data = manifest_text.encode()
        manifest = Manifest.from_bytes(data, "uploaded manifest")
        self.flavors.check(manifest.flavor)
        digest = digest_bytes(data)
        with self.store.write() as tx:
            lookup.check_environment(tx, env)
            self._record(tx, digest, data, manifest)
        self.manifests.put(digest, data, manifest)
        artifacts = self.packages.artifacts
        missing = sorted(
            {info.digest for info in manifest.files.values() if not artifacts.exists(info.digest)}
        )
        return digest, missing

    def upload_file(self, package_digest: str, file_digest: str, stream: IO[bytes]) -> None:
        """Store one file of a pending package, checked against its digest as it streams."""
        with self.store.read() as tx:
            environments = [e.name for e in tx.registry.list_environments()]
        if not any(self.principal.can(Permission.REGISTER, e) for e in environments):
            require(self.principal, Permission.REGISTER, self.default_environment)
        _, manifest = self.package_manifest(package_digest)
        sizes = {i.digest: i.size for i in manifest.files.values()}
        if file_digest not in sizes:
            raise NotFound(f"package {package_digest} has no file {file_digest}")
        try:  # never more bytes than the manifest says the file has
            pending = self.packages.artifacts.write_pending(
                stream, file_digest, size_limit=sizes[file_digest]
            )
        except IntegrityFailure:
            raise InvalidPackage(
                f"uploaded bytes do not match {file_digest} (corrupt or truncated upload)"
            ) from None
        self.packages.artifacts.publish(pending)

    def commit_upload(
        self, name: str, package_digest: str, found: Draft, *, environment: str | None = None
    ) -> ModelVersion:
        """Last step of a remote registration: every file present, the version made visible."""
        env, name = self._target(name, environment)
        data, manifest = self.package_manifest(package_digest)
        absent = sorted(
            path
            for path, info in manifest.files.items()
            if not self.packages.artifacts.exists(info.digest)
        )
        if absent:
            raise InvalidPackage(
                f"package {package_digest} is incomplete: {len(absent)} file(s) not uploaded, "
                f"first {absent[0]!r}",
                missing=absent,
            )
        # The uploaded bytes, not a re-serialisation: the digest names these exact bytes.
        self.packages.artifacts.put_bytes(data)
        return self._commit(env, name, package_digest, manifest, found)

    def add_archive(
        self, name: str, body: bytes, *, environment: str | None = None
    ) -> ModelVersion:
        """A small package and its metadata in one request (``wire.archive``): checked,
        stored, and the version made visible, in the order of a local registration."""
        env, name = self._target(name, environment)
        found = archive.read(body)
        extra = sorted(set(found.metadata) - UPLOADED)
        if extra:
            raise InvalidInput(f"{archive.METADATA}: unknown field {extra[0]!r}")
        try:
            metadata = draft(**found.metadata)
        except (TypeError, AttributeError, ValueError) as e:
            raise InvalidInput(f"{archive.METADATA}: {e}") from None
        manifest = Manifest.from_bytes(found.manifest, "uploaded manifest")
        self.flavors.check(manifest.flavor)
        digest = digest_bytes(found.manifest)
        listed = {info.digest for info in manifest.files.values()}
        stray = sorted(set(found.files) - listed)
        if stray:
            raise InvalidPackage(f"the archive holds {stray[0]}, which the manifest does not list")
        with self.store.read() as tx:  # a missing environment is said before any write
            lookup.check_environment(tx, env)
        artifacts = self.packages.artifacts
        pending = []
        try:
            for path, info in sorted(manifest.files.items()):
                if artifacts.exists(info.digest):
                    continue
                data = found.files.get(info.digest)
                if data is None:
                    raise InvalidPackage(f"the archive lacks {path!r} ({info.digest})")
                try:
                    pending.append(artifacts.write_pending(io.BytesIO(data), info.digest))
                except IntegrityFailure:
                    raise InvalidPackage(f"{path!r} does not match its digest") from None
            if not artifacts.exists(digest):
                pending.append(artifacts.write_pending(io.BytesIO(found.manifest), digest))
        except BaseException:
            self.packages.discard(pending)
            raise
        self.manifests.put(digest, found.manifest, manifest)
        return self._commit(
            env, name, digest, manifest, metadata, data=found.manifest, pending=pending
        )

    def package_manifest(self, digest: str) -> tuple[bytes, Manifest]:
        """A recorded package's manifest bytes and their parse (cached by digest)."""
        cached = self.manifests.get(digest)
        if cached is not None:
            return cached
        with self.store.read() as tx:
            text = tx.packages.manifest(digest)
        if text is None:
            raise NotFound(f"package {digest} was not started (POST the manifest first)")
        data = text.encode()
        manifest = Manifest.from_bytes(data, digest)
        self.manifests.put(digest, data, manifest)
        return data, manifest

    # -- from a bundle or a promotion -----------------------------------------------------
    def import_version(
        self,
        env: str,
        name: str,
        manifest_bytes: bytes,
        metadata: dict[str, Any],
        baseline: Baseline | None,
        imported: Imported,
    ) -> ModelVersion:
        """A version from a verified bundle whose objects are already stored: the package
        recorded, then one transaction makes the version visible, locked."""
        check_name(name)
        manifest = Manifest.from_bytes(manifest_bytes, "bundle manifest")
        digest = digest_bytes(manifest_bytes)
        return self._commit(
            env,
            name,
            digest,
            manifest,
            draft(**metadata),
            baseline,
            data=manifest_bytes,
            imported=imported,
        )

    def copy_version(self, source: ModelVersion, environment: str) -> ModelVersion:
        """``source`` as the next version of the same name in ``environment``: the same
        package (shared by digest), metadata, lineage and baseline, ``promoted_from`` the
        source. The caller (a promotion) has checked who may do this."""
        with self.store.read() as tx:
            lookup.check_environment(tx, environment)
            version_id = lookup.version(tx, parse_ref(source.ref)).version_id
            roles = tx.registry.lineage_roles(version_id)
            baseline = tx.datasets.baseline(version_id)
        _, manifest = self.package_manifest(source.package_digest)
        copied = draft(
            tags=source.tags,
            metrics=source.metrics,
            params=source.params,
            datasets=[d for d, role in roles.items() if role == "training"],
            eval_datasets=[d for d, role in roles.items() if role != "training"],
            description=source.description,
            source=source.lineage.source,
            git_commit=source.lineage.git_commit,
            promoted_from=source.ref,
            compiled_from=source.lineage.compiled_from,
        )
        return self._commit(
            environment, source.name, source.package_digest, manifest, copied, baseline
        )

    # -- the transaction ------------------------------------------------------------------
    def _target(self, name: str, environment: str | None) -> tuple[str, str]:
        target = parse_model_name(name, environment, default=self.default_environment)
        require(self.principal, Permission.REGISTER, target.environment)
        return target.environment, target.name

    def _record(
        self, tx: Tx, digest: str, data: bytes, manifest: Manifest, *, ready: bool = False
    ) -> None:
        tx.packages.record(
            digest, data.decode(), manifest.size_bytes, len(manifest.files), ready=ready
        )

    def _commit(
        self,
        env: str,
        name: str,
        digest: str,
        manifest: Manifest,
        found: Draft,
        baseline: Baseline | None = None,
        *,
        data: bytes | None = None,
        imported: Imported | None = None,
        pending: list[PendingObject] | None = None,
    ) -> ModelVersion:
        """The one transaction that makes a version visible. ``data``: the manifest's
        bytes, recorded as the package in this transaction (None: recorded already).
        ``pending``: the package's objects, written but not yet named: published last in
        the transaction, just before it commits (their writeback runs meanwhile), and
        discarded if anything before fails.
        ``baseline``: one already built (a promoted copy keeps its source's), else built
        here from the datasets. ``imported``: a bundle's version: its lineage as given (the
        datasets are another installation's), locked, and the bundle's own rows written in
        the same transaction."""
        pending = pending or []
        with self.packages.discarded_on_error(pending):
            if imported is not None:
                lineage, built = imported.lineage, None
            else:
                if baseline is None and found.datasets and pending:
                    self.packages.publish(pending)  # the baseline loads the stored package
                    pending = []
                lineage, built = self._lineage(
                    env, digest, manifest, found, data, build=baseline is None
                )
            baseline = baseline or built
            actor = self.principal.name
            with self.store.write() as tx:
                lookup.check_environment(tx, env)
                if data is not None:  # recorded ready at once: this version names it
                    self._record(tx, digest, data, manifest, ready=True)
                model_id, created = tx.registry.get_or_create_model(env, name)
                if created:
                    tx.audit.append(
                        actor=actor, action="model.created", subject=f"model:{env}/{name}"
                    )
                number = tx.registry.allocate_version(model_id)
                created_at = utcnow()
                version_id = tx.registry.insert_version(
                    model_id=model_id,
                    version=number,
                    values={
                        "package_digest": digest,
                        "flavor": manifest.flavor,
                        "signature": manifest.signature,
                        "requirements": list(manifest.requirements),
                        "size_bytes": manifest.size_bytes,
                        "status": "ready",
                        "description": found.description,
                        "source": found.source,
                        "git_commit": found.git_commit,
                        "promoted_from": found.promoted_from,
                        "compiled_from": found.compiled_from,
                        "locked": imported is not None,
                        "created_by": actor,
                        "created_at": created_at,
                    },
                    tags=found.tags,
                    metrics=found.metrics,
                    params=found.params,
                    datasets=lineage,
                )
                if baseline is not None:
                    tx.datasets.insert_baseline(
                        version_id, baseline["dataset"], baseline["rows"], baseline
                    )
                if data is None:  # recorded pending by begin_upload (or ready already)
                    tx.packages.mark_ready(digest)
                if imported is not None:
                    imported.record(tx, version_id)
                elif manifest.flavor == "ensemble":  # a bundle's members are another's
                    record_members(tx, version_id, manifest)
                tx.audit.append(
                    actor=actor,
                    action="version.created",
                    subject=f"model_version:{env}/{name}:{number}",
                    after={
                        "digest": digest,
                        "flavor": manifest.flavor,
                        "tags": found.tags,
                        "metrics": found.metrics,
                    },
                )
                # durable and named before the row that points at them commits
                self.packages.publish(pending)
        return ModelVersion(
            environment=env,
            name=name,
            version=number,
            package_digest=digest,
            flavor=manifest.flavor,
            signature=manifest.signature,
            requirements=manifest.requirements,
            size_bytes=manifest.size_bytes,
            status="ready",
            description=found.description,
            tags=found.tags,
            metrics=found.metrics,
            params=found.params,
            aliases=(),
            lineage=Lineage(
                tuple(sorted({ref for ref, _ in lineage})),
                found.source,
                found.git_commit,
                found.promoted_from,
                found.compiled_from,
            ),
            created_by=actor,
            created_at=created_at,
            locked=imported is not None,
        )

    def _lineage(
        self,
        env: str,
        digest: str,
        manifest: Manifest,
        found: Draft,
        data: bytes | None,
        *,
        build: bool = True,
    ) -> tuple[list[tuple[str, str]], Baseline | None]:
        """The exact dataset versions named, with their role (``env/name:version``; one
        that does not exist is refused), and the baseline built on the first training
        dataset."""
        named = [(d, "training") for d in found.datasets] + [
            (d, "evaluation") for d in found.eval_datasets
        ]
        if not named:
            return named, None
        exact: dict[str, str] = {}  # a dataset named twice keeps its first role
        with self.store.read() as tx:
            for d, role in named:
                exact.setdefault(self.datasets.resolve(tx, d, env), role)
        lineage = list(exact.items())
        training = [ref for ref, role in lineage if role == "training"]
        if not training or not build:
            return lineage, None
        text = (data if data is not None else self.package_manifest(digest)[0]).decode()
        folder, _ = self.packager.materialize(PackageSource(digest, text, self.packages.artifacts))
        with self.models.job(folder, manifest) as model:  # the model's code runs there
            _, baseline = self.datasets.baseline(training[0], model, manifest.signature)
        return lineage, baseline
