"""The model registry's rules: registration, lookup, aliases, archive, delete, search.

Order of a registration, so a crash at any point leaves nothing half-visible:
  1. stage the package and copy what the store lacks under temporary names, each file
     hashed and checked against the manifest as it is copied (corrupt: refused here);
  2. record the manifest as a ``pending`` package, so every object is accounted for;
  3. give the objects their final names, files first, the manifest last;
  4. in one transaction: create the model if new, take the next version number
     (``UPDATE ... RETURNING`` on the model row), insert the version, mark the package
     ready and append the audit event. Only this commit makes the version visible.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.artifacts.store import VerifyingReader, digest_bytes
from modelyard.domain.auth import Permission, Principal
from modelyard.domain.entities import AliasChange, Lineage, Model, ModelVersion, Page
from modelyard.domain.errors import (
    Conflict,
    DependencyExists,
    IntegrityFailure,
    InvalidInput,
    InvalidName,
    InvalidPackage,
    NotFound,
)
from modelyard.domain.filters import parse_filter, parse_order_by
from modelyard.domain.names import ModelRef, check_alias, check_key, check_name, parse_ref
from modelyard.flavors.base import LoadedModel
from modelyard.flavors.package import Manifest
from modelyard.flavors.registry import check_flavor
from modelyard.services.auth import require
from modelyard.services.packages import PackageService
from modelyard.store import audit, search
from modelyard.store import datasets as datasets_q
from modelyard.store import registry as q
from modelyard.store.database import Database
from modelyard.store.tables import ModelRow, ModelVersionRow, VersionDatasetRow, utcnow

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.services.datasets import DatasetService

#: A dependents check returns human-readable reasons why a version must stay (empty: none).
DependentsCheck = Callable[[Session, ModelVersion], list[str]]
MAX_RESULTS = 1000
MANIFEST_CACHE = 256  # parsed manifests of recent uploads, by digest


def _alias_dependents(session: Session, version: ModelVersion) -> list[str]:
    return [f"alias {a!r} points to it" for a in version.aliases]


class RegistryService:
    def __init__(self, db: Database, packages: PackageService, default_environment: str) -> None:
        self.db = db
        self.packages = packages
        self.default_environment = default_environment
        self._dependents: list[DependentsCheck] = []
        self._manifests: dict[str, tuple[bytes, Manifest]] = {}
        # set by the container: resolves lineage references and builds baselines
        self.datasets: DatasetService | None = None

    def add_dependents_check(self, check: DependentsCheck) -> None:
        """Let another service (deployments, promotions...) protect the versions it uses."""
        self._dependents.append(check)

    # -- registration -------------------------------------------------------------------
    def register(
        self,
        name: str,
        source: Any,
        *,
        actor: Principal,
        environment: str | None = None,
        input_example: pd.DataFrame | Path | None = None,
        flavor: str | None = None,
        **metadata: Any,
    ) -> ModelVersion:
        """Register a package folder, MLflow folder, score.py folder, model file or object.
        ``metadata``: tags, metrics, params, datasets (trained on), eval_datasets
        (evaluated on), description, source_uri, git_commit,
        promoted_from."""
        env, name = self._target(name, environment, actor)
        draft = _draft(**metadata)
        with self.packages.stage(source, input_example=input_example, flavor=flavor) as staged:
            pending = self.packages.prepare(staged)
            try:
                with self.db.write() as session:
                    self.check_environment(session, env)
                    self._record(session, staged.digest, staged.manifest_bytes, staged.manifest)
                self.packages.publish(pending)
            except BaseException:
                self.packages.discard(pending)
                raise
            return self._commit_version(env, name, staged.digest, staged.manifest, draft, actor)

    def begin_upload(
        self, manifest_text: str, *, actor: Principal, environment: str | None = None
    ) -> tuple[str, list[str]]:
        """First step of a remote registration: record the package as pending and say which
        of its files the store still lacks (identical content is never sent twice)."""
        env = environment or self.default_environment
        require(actor, Permission.REGISTER, env)
        data = manifest_text.encode()
        manifest = Manifest.from_bytes(data, "uploaded manifest")
        check_flavor(manifest.flavor)
        digest = digest_bytes(data)
        with self.db.write() as session:
            self.check_environment(session, env)
            self._record(session, digest, data, manifest)
        missing = sorted(
            {
                info.digest
                for info in manifest.files.values()
                if not self.packages.artifacts.exists(info.digest)
            }
        )
        return digest, missing

    def upload_file(
        self, package_digest: str, file_digest: str, stream: IO[bytes], *, actor: Principal
    ) -> None:
        """Store one file of a pending package, checked against its digest as it streams."""
        if not any(actor.can(Permission.REGISTER, e) for e in self._environment_names()):
            require(actor, Permission.REGISTER, self.default_environment)
        _, manifest = self.package_manifest(package_digest)
        if file_digest not in {i.digest for i in manifest.files.values()}:
            raise NotFound(f"package {package_digest} has no file {file_digest}")
        try:
            pending = self.packages.artifacts.write_pending(stream, file_digest)
        except IntegrityFailure:
            raise InvalidPackage(
                f"uploaded bytes do not match {file_digest} (corrupt or truncated upload)"
            ) from None
        self.packages.artifacts.publish(pending)

    def commit_upload(
        self,
        name: str,
        package_digest: str,
        *,
        actor: Principal,
        environment: str | None = None,
        **metadata: Any,
    ) -> ModelVersion:
        """Last step of a remote registration: every file present, the version made visible."""
        env, name = self._target(name, environment, actor)
        draft = _draft(**metadata)
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
        return self._commit_version(env, name, package_digest, manifest, draft, actor)

    def _target(self, name: str, environment: str | None, actor: Principal) -> tuple[str, str]:
        target = self.ref(name, environment)
        if target.version is not None or target.alias is not None:
            raise InvalidName(f"register takes a model name, not a version: {name!r}", name=name)
        require(actor, Permission.REGISTER, target.environment)
        return target.environment, target.name

    def _record(self, session: Session, digest: str, data: bytes, manifest: Manifest) -> None:
        q.record_package(session, digest, data.decode(), manifest.size_bytes, len(manifest.files))

    def package_manifest(self, digest: str) -> tuple[bytes, Manifest]:
        """A pending package's manifest bytes and their parse. Content-addressed, so the
        parse is cached: an upload's PUTs and its commit do not parse the YAML again."""
        cached = self._manifests.get(digest)
        if cached is not None:
            return cached
        with self.db.read() as session:
            text = q.get_package_manifest(session, digest)
        if text is None:
            raise NotFound(f"package {digest} was not started (POST the manifest first)")
        data = text.encode()
        found = (data, Manifest.from_bytes(data, digest))
        if len(self._manifests) >= MANIFEST_CACHE:
            self._manifests.pop(next(iter(self._manifests)))
        self._manifests[digest] = found
        return found

    def _environment_names(self) -> list[str]:
        with self.db.read() as session:
            return [e.name for e in q.list_environments(session)]

    def _commit_version(
        self,
        env: str,
        name: str,
        digest: str,
        manifest: Manifest,
        draft: _Draft,
        actor: Principal,
        baseline: dict[str, Any] | None = None,
        *,
        imported: Imported | None = None,
    ) -> ModelVersion:
        """The one transaction that makes a version visible. ``baseline``: one already
        built (a promoted copy keeps its source's), else built here from the datasets.
        ``imported``: a bundle's version: its lineage as given (the datasets are another
        installation's), locked, and the bundle's own rows written in the same transaction."""
        if imported is not None:
            lineage, built = imported.lineage, None
        else:
            lineage, built = self._lineage(env, digest, manifest, draft, build=baseline is None)
        baseline = baseline or built
        with self.db.write() as session:
            self.check_environment(session, env)
            model_id, created = q.get_or_create_model(session, env, name)
            if created:
                audit.append(
                    session, actor=actor.name, action="model.created", subject=f"model:{env}/{name}"
                )
            number = q.allocate_version(session, model_id)
            created_at = utcnow()
            version_id = q.insert_version(
                session,
                model_id=model_id,
                version=number,
                values={
                    "package_digest": digest,
                    "flavor": manifest.flavor,
                    "signature": manifest.signature,
                    "requirements": list(manifest.requirements),
                    "size_bytes": manifest.size_bytes,
                    "status": "ready",
                    "description": draft.description,
                    "source": draft.source_uri,
                    "git_commit": draft.git_commit,
                    "promoted_from": draft.promoted_from,
                    "locked": imported is not None,
                    "created_by": actor.name,
                    "created_at": created_at,
                },
                tags=draft.tags,
                metrics=draft.metrics,
                params=draft.params,
                datasets=lineage,
            )
            if baseline is not None:
                datasets_q.insert_baseline(
                    session, version_id, baseline["dataset"], baseline["rows"], baseline
                )
            q.mark_package_ready(session, digest)
            if imported is not None:
                imported.record(session, version_id)
            audit.append(
                session,
                actor=actor.name,
                action="version.created",
                subject=f"model_version:{env}/{name}:{number}",
                after={
                    "digest": digest,
                    "flavor": manifest.flavor,
                    "tags": draft.tags,
                    "metrics": draft.metrics,
                },
            )
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
            description=draft.description,
            tags=draft.tags,
            metrics=draft.metrics,
            params=draft.params,
            aliases=(),
            lineage=Lineage(
                tuple(sorted({ref for ref, _ in lineage})),
                draft.source_uri,
                draft.git_commit,
                draft.promoted_from,
            ),
            created_by=actor.name,
            created_at=created_at,
            locked=imported is not None,
        )

    def import_version(
        self,
        env: str,
        name: str,
        manifest_bytes: bytes,
        metadata: dict[str, Any],
        baseline: dict[str, Any] | None,
        imported: Imported,
        *,
        actor: Principal,
    ) -> ModelVersion:
        """A version from a verified bundle whose objects are already stored: the package
        recorded, then one transaction makes the version visible, locked."""
        check_name(name)
        manifest = Manifest.from_bytes(manifest_bytes, "bundle manifest")
        digest = digest_bytes(manifest_bytes)
        with self.db.write() as session:
            self.check_environment(session, env)
            self._record(session, digest, manifest_bytes, manifest)
        draft = _draft(**metadata)
        return self._commit_version(
            env, name, digest, manifest, draft, actor, baseline, imported=imported
        )

    def _lineage(
        self, env: str, digest: str, manifest: Manifest, draft: _Draft, *, build: bool = True
    ) -> tuple[list[tuple[str, str]], dict[str, Any] | None]:
        """The exact dataset versions named, with their role (``env/name:version``; one
        that does not exist is refused), and the baseline built on the first training
        dataset."""
        named = [(d, "training") for d in draft.datasets] + [
            (d, "evaluation") for d in draft.eval_datasets
        ]
        if not named or self.datasets is None:
            return named, None
        exact: dict[str, str] = {}  # a dataset named twice keeps its first role
        with self.db.read() as session:
            for d, role in named:
                exact.setdefault(self.datasets.resolve(session, d, env), role)
        lineage = list(exact.items())
        training = [ref for ref, role in lineage if role == "training"]
        if not training or not build:
            return lineage, None
        model, _ = self.load_package(digest)
        with self.db.read() as session:
            _, baseline = self.datasets.baseline(session, training[0], model, manifest.signature)
        return lineage, baseline

    def copy_version(
        self, source: ModelVersion, environment: str, *, actor: Principal
    ) -> ModelVersion:
        """``source`` as the next version of the same name in ``environment``: the same
        package (shared by digest), metadata, lineage and baseline, ``promoted_from`` the
        source. The caller (a promotion) has checked who may do this."""
        with self.db.read() as session:
            self.check_environment(session, environment)
            _, row = self._version_row(session, self.ref(source.ref))
            roles = dict(
                session.execute(
                    sa.select(VersionDatasetRow.dataset, VersionDatasetRow.role).where(
                        VersionDatasetRow.version_id == row.id
                    )
                ).all()
            )
            found = datasets_q.baseline(session, row.id)
        _, manifest = self.package_manifest(source.package_digest)
        draft = _draft(
            tags=source.tags,
            metrics=source.metrics,
            params=source.params,
            datasets=[d for d, role in roles.items() if role == "training"],
            eval_datasets=[d for d, role in roles.items() if role != "training"],
            description=source.description,
            source_uri=source.lineage.source,
            git_commit=source.lineage.git_commit,
            promoted_from=source.ref,
        )
        baseline = None if found is None else dict(json.loads(found.profile))
        return self._commit_version(
            environment, source.name, source.package_digest, manifest, draft, actor, baseline
        )

    def baseline(
        self, ref: str | ModelRef, *, actor: Principal, environment: str | None = None
    ) -> dict[str, Any]:
        """A version's baseline profile (training data and predictions)."""
        version = self.get_version(ref, actor=actor, environment=environment)
        with self.db.read() as session:
            _, row = self._version_row(session, self.ref(version.ref))
            found = datasets_q.baseline(session, row.id)
        if found is None:
            raise NotFound(
                f"version {version.ref} has no baseline: register it with --dataset NAME:VERSION",
                version=version.ref,
            )
        return dict(json.loads(found.profile))

    # -- lookup -------------------------------------------------------------------------
    def ref(self, text: str | ModelRef, environment: str | None = None) -> ModelRef:
        if isinstance(text, ModelRef):
            return text
        return parse_ref(text, environment, default=self.default_environment)

    def check_environment(self, session: Session, env: str) -> None:
        if not q.environment_exists(session, env):
            known = ", ".join(e.name for e in q.list_environments(session))
            raise NotFound(f"unknown environment {env!r} (known: {known})", environment=env)

    def resolve(self, session: Session, ref: ModelRef) -> ModelVersion:
        """A version by number, alias or ``latest``, inside the caller's transaction (other
        services resolve references once, when they write)."""
        _, row = self._version_row(session, ref)
        return q.version_entities(session, [row.id])[0]

    def _model_row(self, session: Session, ref: ModelRef) -> ModelRow:
        self.check_environment(session, ref.environment)
        row = q.find_model(session, ref.environment, ref.name)
        if row is None:
            raise NotFound(
                f"model {ref.environment}/{ref.name} does not exist",
                model=f"{ref.environment}/{ref.name}",
            )
        return row

    def version_row(self, session: Session, ref: str | ModelRef) -> ModelVersionRow:
        """A version's row, in the caller's transaction: what other services key their own
        rows on (evaluations, promotion requests)."""
        return self._version_row(session, self.ref(ref))[1]

    def _version_row(self, session: Session, ref: ModelRef) -> tuple[ModelRow, ModelVersionRow]:
        model = self._model_row(session, ref)
        if ref.version is not None:
            row = q.version_row(session, model.id, ref.version)
            if row is None:
                raise NotFound(f"version {ref} does not exist", version=str(ref))
            return model, row
        if ref.alias is None or ref.alias == "latest":
            row = q.latest_version_row(session, model.id)
            if row is None:
                raise NotFound(f"model {ref.model} has no versions", model=str(ref.model))
            return model, row
        alias = q.alias_row(session, model.id, ref.alias)
        if alias is None:
            raise NotFound(f"alias {ref.alias!r} is not set on model {ref.model}", alias=ref.alias)
        row = session.get(ModelVersionRow, alias.version_id)
        assert row is not None
        return model, row

    def get_model(
        self, ref: str | ModelRef, *, actor: Principal, environment: str | None = None
    ) -> Model:
        r = self.ref(ref, environment)
        require(actor, Permission.READ, r.environment)
        with self.db.read() as session:
            return q.model_entities(session, [self._model_row(session, r.model)])[0]

    def list_models(self, *, actor: Principal, environment: str | None = None) -> list[Model]:
        with self.db.read() as session:
            if environment:
                self.check_environment(session, environment)
                require(actor, Permission.READ, environment)
            rows = [
                r
                for r in q.list_models(session, environment)
                if actor.can(Permission.READ, r.environment)
            ]
            return q.model_entities(session, rows)

    def get_version(
        self, ref: str | ModelRef, *, actor: Principal, environment: str | None = None
    ) -> ModelVersion:
        r = self.ref(ref, environment)
        require(actor, Permission.READ, r.environment)
        with self.db.read() as session:
            _, row = self._version_row(session, r)
            return q.version_entities(session, [row.id])[0]

    def list_versions(
        self, ref: str | ModelRef, *, actor: Principal, environment: str | None = None
    ) -> list[ModelVersion]:
        r = self.ref(ref, environment)
        require(actor, Permission.READ, r.environment)
        with self.db.read() as session:
            model = self._model_row(session, r.model)
            return q.version_entities(session, q.version_ids_of_model(session, model.id))

    def search_versions(
        self,
        filter: str | None = None,
        *,
        order_by: list[str] | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        environment: str | None = None,
        actor: Principal,
    ) -> Page[ModelVersion]:
        if not 1 <= max_results <= MAX_RESULTS:
            raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS}")
        order_items = [order_by] if isinstance(order_by, str) else list(order_by or [])
        node = parse_filter(filter)
        order = parse_order_by(order_items)
        fp = search.fingerprint(filter or "", order_items, environment)
        offset = search.decode_token(page_token, fp)
        with self.db.read() as session:
            if environment:
                self.check_environment(session, environment)
                require(actor, Permission.READ, environment)
                scope: list[str] | None = [environment]
            elif actor.is_admin:
                scope = None
            else:  # only what the caller may read
                scope = [
                    e.name
                    for e in q.list_environments(session)
                    if actor.can(Permission.READ, e.name)
                ]
            ids, more = search.search_version_ids(
                session,
                node=node,
                order=order,
                environments=scope,
                offset=offset,
                limit=max_results,
            )
            items = q.version_entities(session, ids)
        token = search.encode_token(offset + len(ids), fp) if more else None
        return Page(items, token)

    def load_model(
        self, ref: str | ModelRef, *, actor: Principal, environment: str | None = None
    ) -> LoadedModel:
        version = self.get_version(ref, actor=actor, environment=environment)
        with self.db.read() as session:
            manifest = q.get_package_manifest(session, version.package_digest)
        assert manifest is not None  # a foreign key guarantees the package row
        return self.packages.load(version.package_digest, manifest)

    def load_package(self, digest: str) -> tuple[LoadedModel, Manifest]:
        """A stored package loaded by digest, for the scoring runtime (which serves what a
        deployment's revision pinned; permission was checked when it was deployed)."""
        with self.db.read() as session:
            text = q.get_package_manifest(session, digest)
        if text is None:
            raise NotFound(f"package {digest} does not exist")
        return self.packages.load_with_manifest(digest, text)

    def version_manifest(
        self, ref: str | ModelRef, *, actor: Principal, environment: str | None = None
    ) -> tuple[ModelVersion, str]:
        """A version and its package manifest (what a remote client downloads first)."""
        version = self.get_version(ref, actor=actor, environment=environment)
        with self.db.read() as session:
            text = q.get_package_manifest(session, version.package_digest)
        assert text is not None  # a foreign key guarantees the package row
        return version, text

    def open_file(
        self,
        ref: str | ModelRef,
        file_digest: str,
        *,
        actor: Principal,
        environment: str | None = None,
    ) -> VerifyingReader:
        """Stream one file of a version's package; the reader checks its digest."""
        version, text = self.version_manifest(ref, actor=actor, environment=environment)
        manifest = Manifest.from_bytes(text.encode(), version.package_digest)
        if file_digest not in {i.digest for i in manifest.files.values()}:
            raise NotFound(f"{version.ref} has no file {file_digest}")
        return self.packages.artifacts.open(file_digest)

    # -- aliases ------------------------------------------------------------------------
    def set_alias(
        self,
        model: str | ModelRef,
        alias: str,
        version: int,
        *,
        actor: Principal,
        environment: str | None = None,
    ) -> AliasChange:
        check_alias(alias)
        r = self.ref(model, environment).model
        require(actor, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            model_row, target = self._version_row(session, ModelRef(r.environment, r.name, version))
            if target.status == "archived":
                raise InvalidInput(
                    f"version {r}:{version} is archived: an alias cannot point to it"
                )
            current = q.alias_row(session, model_row.id, alias)
            previous = None
            if current is not None:
                prev_row = session.get(ModelVersionRow, current.version_id)
                previous = prev_row.version if prev_row is not None else None
            if previous == version:
                return AliasChange(
                    r.environment,
                    r.name,
                    alias,
                    version,
                    current.previous_version if current is not None else None,
                )
            q.upsert_alias(session, model_row.id, alias, target.id, previous, actor.name)
            audit.append(
                session,
                actor=actor.name,
                action="alias.moved" if previous else "alias.set",
                subject=f"alias:{r}@{alias}",
                before={"version": previous},
                after={"version": version},
            )
            return AliasChange(r.environment, r.name, alias, version, previous)

    def delete_alias(
        self, model: str | ModelRef, alias: str, *, actor: Principal, environment: str | None = None
    ) -> AliasChange:
        r = self.ref(model, environment).model
        require(actor, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            model_row = self._model_row(session, r)
            current = q.alias_row(session, model_row.id, alias)
            if current is None:
                raise NotFound(f"alias {alias!r} is not set on model {r}", alias=alias)
            prev_row = session.get(ModelVersionRow, current.version_id)
            previous = prev_row.version if prev_row is not None else None
            q.delete_alias(session, model_row.id, alias)
            audit.append(
                session,
                actor=actor.name,
                action="alias.deleted",
                subject=f"alias:{r}@{alias}",
                before={"version": previous},
            )
            return AliasChange(r.environment, r.name, alias, None, previous)

    # -- metadata -----------------------------------------------------------------------
    def set_version_tags(
        self,
        ref: str | ModelRef,
        tags: Mapping[str, str],
        *,
        actor: Principal,
        remove: Iterable[str] = (),
        environment: str | None = None,
    ) -> ModelVersion:
        clean = _clean_tags(tags)
        r = self.ref(ref, environment)
        require(actor, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            _, row = self._version_row(session, r)
            _refuse_locked(row, r)
            before = q.version_entities(session, [row.id])[0].tags
            q.set_version_tags(session, row.id, clean)
            for key in remove:
                if not q.delete_version_tag(session, row.id, key):
                    raise NotFound(f"tag {key!r} is not set on {r}", tag=key)
            after = q.version_entities(session, [row.id])[0]
            audit.append(
                session,
                actor=actor.name,
                action="version.tags_changed",
                subject=f"model_version:{after.ref}",
                before={"tags": before},
                after={"tags": after.tags},
            )
            return after

    def set_version_metrics(
        self,
        ref: str | ModelRef,
        metrics: Mapping[str, float],
        *,
        actor: Principal,
        environment: str | None = None,
    ) -> ModelVersion:
        clean = _clean_metrics(metrics)
        r = self.ref(ref, environment)
        require(actor, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            _, row = self._version_row(session, r)
            _refuse_locked(row, r)
            q.set_version_metrics(session, row.id, clean)
            after = q.version_entities(session, [row.id])[0]
            audit.append(
                session,
                actor=actor.name,
                action="version.metrics_logged",
                subject=f"model_version:{after.ref}",
                after={"metrics": clean},
            )
            return after

    def set_model_tags(
        self,
        ref: str | ModelRef,
        tags: Mapping[str, str],
        *,
        actor: Principal,
        remove: Iterable[str] = (),
        environment: str | None = None,
        description: str | None = None,
    ) -> Model:
        clean = _clean_tags(tags)
        r = self.ref(ref, environment).model
        require(actor, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            row = self._model_row(session, r)
            before = q.model_entities(session, [row])[0]
            q.set_model_tags(session, row.id, clean)
            for key in remove:
                if not q.delete_model_tag(session, row.id, key):
                    raise NotFound(f"tag {key!r} is not set on {r}", tag=key)
            if description is not None:
                row.description = description
            session.flush()
            after = q.model_entities(session, [row])[0]
            audit.append(
                session,
                actor=actor.name,
                action="model.updated",
                subject=f"model:{r}",
                before={"tags": before.tags, "description": before.description},
                after={"tags": after.tags, "description": after.description},
            )
            return after

    # -- archive and delete ---------------------------------------------------------------
    def _refuse_if_needed(
        self, session: Session, version: ModelVersion, verb: str, *, aliases: bool = True
    ) -> None:
        checks = [_alias_dependents, *self._dependents] if aliases else self._dependents
        reasons = [reason for check in checks for reason in check(session, version)]
        if reasons:
            raise DependencyExists(
                f"cannot {verb} {version.ref}: {'; '.join(reasons)}",
                version=version.ref,
                reasons=reasons,
            )

    def archive(
        self,
        ref: str | ModelRef,
        *,
        actor: Principal,
        environment: str | None = None,
        restore: bool = False,
    ) -> ModelVersion:
        r = self.ref(ref, environment)
        require(actor, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            _, row = self._version_row(session, r)
            version = q.version_entities(session, [row.id])[0]
            target = "ready" if restore else "archived"
            if version.status == target:
                return version
            if not restore:
                self._refuse_if_needed(session, version, "archive")
            q.set_status(session, row.id, target)
            audit.append(
                session,
                actor=actor.name,
                action="version.restored" if restore else "version.archived",
                subject=f"model_version:{version.ref}",
                before={"status": version.status},
                after={"status": target},
            )
            return q.version_entities(session, [row.id])[0]

    def delete_version(
        self, ref: str | ModelRef, *, actor: Principal, environment: str | None = None
    ) -> ModelVersion:
        r = self.ref(ref, environment)
        require(actor, Permission.DELETE, r.environment)
        if r.version is None:
            raise InvalidInput(f"say which version of {r.model} to delete (NAME:VERSION)")
        with self.db.write() as session:
            _, row = self._version_row(session, r)
            version = q.version_entities(session, [row.id])[0]
            self._refuse_if_needed(session, version, "delete")
            q.delete_version(session, row.id)
            audit.append(
                session,
                actor=actor.name,
                action="version.deleted",
                subject=f"model_version:{version.ref}",
                before={"digest": version.package_digest, "status": version.status},
            )
            return version

    def delete_model(
        self, ref: str | ModelRef, *, actor: Principal, environment: str | None = None
    ) -> Model:
        r = self.ref(ref, environment).model
        require(actor, Permission.DELETE, r.environment)
        with self.db.write() as session:
            row = self._model_row(session, r)
            model = q.model_entities(session, [row])[0]
            versions = q.version_entities(session, q.version_ids_of_model(session, row.id))
            for version in versions:  # its own aliases go with the model
                self._refuse_if_needed(session, version, "delete", aliases=False)
            q.delete_model(session, row.id)
            audit.append(
                session,
                actor=actor.name,
                action="model.deleted",
                subject=f"model:{r}",
                before={"versions": [v.version for v in versions], "aliases": model.aliases},
            )
            return model


def _clean_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for key, value in (tags or {}).items():
        check_key(key, "tag name")
        text = str(value)
        if len(text) > 5000:
            raise InvalidInput(f"tag {key!r} is longer than 5000 characters")
        out[key] = text
    return out


def _clean_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    out = {}
    for key, value in (metrics or {}).items():
        check_key(key, "metric name")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"metric {key!r} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise InvalidInput(f"metric {key!r} must be finite, got {value!r}")
        out[key] = number
    return out


def _refuse_locked(row: ModelVersionRow, ref: ModelRef) -> None:
    if row.locked:
        raise Conflict(
            f"{ref} was imported from a signed bundle and is locked: its metadata cannot be "
            "edited here (change it at the source and export a new bundle)",
            version=str(ref),
        )


def _check_dataset_ref(ref: str) -> str:
    name, _, version = str(ref).partition(":")
    check_name(name.split("/")[-1], "dataset name")
    if version and not version.isdigit():
        raise InvalidInput(f"invalid dataset reference {ref!r}: expected NAME[:VERSION]")
    return str(ref)


@dataclass(frozen=True, slots=True)
class Imported:
    """What ``import_version`` adds to the version's transaction."""

    lineage: list[tuple[str, str]]
    record: Callable[[Session, int], None]


@dataclass(frozen=True, slots=True)
class _Draft:
    """A version's metadata, checked before anything is stored."""

    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    datasets: list[str]
    eval_datasets: list[str]
    description: str
    source_uri: str | None
    git_commit: str | None
    promoted_from: str | None


def _draft(
    *,
    tags: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    datasets: Iterable[str] = (),
    eval_datasets: Iterable[str] = (),
    description: str = "",
    source_uri: str | None = None,
    git_commit: str | None = None,
    promoted_from: str | None = None,
) -> _Draft:
    if len(description) > 10_000:
        raise InvalidInput("description is longer than 10,000 characters")
    return _Draft(
        tags=_clean_tags(tags),
        metrics=_clean_metrics(metrics),
        params={check_key(k, "param name"): str(v) for k, v in (params or {}).items()},
        datasets=[_check_dataset_ref(d) for d in datasets],
        eval_datasets=[_check_dataset_ref(d) for d in eval_datasets],
        description=description,
        source_uri=source_uri,
        git_commit=git_commit,
        promoted_from=promoted_from,
    )
