"""The model registry's rules: lookup, aliases, metadata, archive, delete, search. How a
version becomes visible is ``services.versions``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from modelyard.artifacts.store import VerifyingReader
from modelyard.domain.auth import Permission, Principal
from modelyard.domain.entities import AliasChange, Model, ModelVersion, Page
from modelyard.domain.errors import (
    Conflict,
    DependencyExists,
    InvalidInput,
    NotFound,
)
from modelyard.domain.filters import parse_filter, parse_order_by
from modelyard.domain.names import ModelRef, check_alias, parse_ref
from modelyard.flavors.base import LoadedModel
from modelyard.flavors.package import Manifest
from modelyard.flavors.staging import PackageSource, StagedPackage
from modelyard.services import lookup
from modelyard.services.auth import require
from modelyard.services.versions import VersionWriter, clean_metrics, clean_tags, draft
from modelyard.store import audit, search
from modelyard.store import datasets as datasets_q
from modelyard.store import registry as q
from modelyard.store.database import Database
from modelyard.store.tables import ModelVersionRow

#: A dependents check returns human-readable reasons why a version must stay (empty: none).
DependentsCheck = Callable[[Session, ModelVersion], list[str]]
MAX_RESULTS = 1000


def alias_dependents(session: Session, version: ModelVersion) -> list[str]:
    return [f"alias {a!r} points to it" for a in version.aliases]


class RegistryService:
    def __init__(
        self,
        db: Database,
        versions: VersionWriter,
        default_environment: str,
        principal: Principal,
        dependents: tuple[DependentsCheck, ...] = (),
    ) -> None:
        self.db = db
        self.versions = versions
        self.default_environment = default_environment
        self.principal = principal
        self.dependents = dependents

    # -- registration -------------------------------------------------------------------
    def register_package(
        self,
        name: str,
        package: StagedPackage,
        *,
        environment: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
        datasets: Iterable[str] = (),
        eval_datasets: Iterable[str] = (),
        description: str = "",
        source: str | None = None,
        git_commit: str | None = None,
    ) -> ModelVersion:
        found = draft(
            tags=tags,
            metrics=metrics,
            params=params,
            datasets=datasets,
            eval_datasets=eval_datasets,
            description=description,
            source=source,
            git_commit=git_commit,
        )
        return self.versions.add(name, package, found, environment)

    # -- lookup -------------------------------------------------------------------------
    def ref(self, text: str | ModelRef, environment: str | None = None) -> ModelRef:
        if isinstance(text, ModelRef):
            return text
        return parse_ref(text, environment, default=self.default_environment)

    def get_model(self, name: str | ModelRef, *, environment: str | None = None) -> Model:
        r = self.ref(name, environment)
        require(self.principal, Permission.READ, r.environment)
        with self.db.read() as session:
            return q.model_entities(session, [lookup.model_row(session, r.model)])[0]

    def list_models(self, *, environment: str | None = None) -> list[Model]:
        with self.db.read() as session:
            if environment:
                lookup.check_environment(session, environment)
                require(self.principal, Permission.READ, environment)
            rows = [
                r
                for r in q.list_models(session, environment)
                if self.principal.can(Permission.READ, r.environment)
            ]
            return q.model_entities(session, rows)

    def get_version(self, ref: str | ModelRef, *, environment: str | None = None) -> ModelVersion:
        r = self.ref(ref, environment)
        require(self.principal, Permission.READ, r.environment)
        with self.db.read() as session:
            _, row = lookup.version_row(session, r)
            return q.version_entities(session, [row.id])[0]

    def list_versions(
        self, name: str | ModelRef, *, environment: str | None = None
    ) -> list[ModelVersion]:
        r = self.ref(name, environment)
        require(self.principal, Permission.READ, r.environment)
        with self.db.read() as session:
            model = lookup.model_row(session, r.model)
            return q.version_entities(session, q.version_ids_of_model(session, model.id))

    def search_versions(
        self,
        filter: str | None = None,
        *,
        order_by: list[str] | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        environment: str | None = None,
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
                lookup.check_environment(session, environment)
                require(self.principal, Permission.READ, environment)
                scope: list[str] | None = [environment]
            elif self.principal.is_admin:
                scope = None
            else:  # only what the caller may read
                scope = [
                    e.name
                    for e in q.list_environments(session)
                    if self.principal.can(Permission.READ, e.name)
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

    def get_baseline(
        self, ref: str | ModelRef, *, environment: str | None = None
    ) -> dict[str, Any]:
        """A version's baseline profile (training data and predictions)."""
        version = self.get_version(ref, environment=environment)
        with self.db.read() as session:
            _, row = lookup.version_row(session, self.ref(version.ref))
            found = datasets_q.baseline(session, row.id)
        if found is None:
            raise NotFound(
                f"version {version.ref} has no baseline: register it with --dataset NAME:VERSION",
                version=version.ref,
            )
        return dict(json.loads(found.profile))

    def package_source(self, ref: str, *, environment: str | None = None) -> PackageSource:
        version, text = self.version_manifest(ref, environment=environment)
        return PackageSource(version.package_digest, text, self.versions.packages.artifacts)

    def load_package(self, digest: str) -> tuple[LoadedModel, Manifest]:
        """A stored package loaded by digest, for the scoring runtime (which serves what a
        deployment's revision pinned; permission was checked when it was deployed)."""
        with self.db.read() as session:
            text = q.get_package_manifest(session, digest)
        if text is None:
            raise NotFound(f"package {digest} does not exist")
        return self.versions.packager.load(
            PackageSource(digest, text, self.versions.packages.artifacts)
        )

    def version_manifest(
        self, ref: str | ModelRef, *, environment: str | None = None
    ) -> tuple[ModelVersion, str]:
        """A version and its package manifest (what a remote client downloads first)."""
        version = self.get_version(ref, environment=environment)
        with self.db.read() as session:
            text = q.get_package_manifest(session, version.package_digest)
        assert text is not None  # a foreign key guarantees the package row
        return version, text

    def open_file(
        self,
        ref: str | ModelRef,
        file_digest: str,
        *,
        environment: str | None = None,
    ) -> VerifyingReader:
        """Stream one file of a version's package; the reader checks its digest."""
        version, text = self.version_manifest(ref, environment=environment)
        manifest = Manifest.from_bytes(text.encode(), version.package_digest)
        if file_digest not in {i.digest for i in manifest.files.values()}:
            raise NotFound(f"{version.ref} has no file {file_digest}")
        return self.versions.packages.artifacts.open(file_digest)

    # -- aliases ------------------------------------------------------------------------
    def set_alias(
        self,
        name: str | ModelRef,
        alias: str,
        version: int,
        *,
        environment: str | None = None,
    ) -> AliasChange:
        check_alias(alias)
        r = self.ref(name, environment).model
        require(self.principal, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            model_row, target = lookup.version_row(
                session, ModelRef(r.environment, r.name, version)
            )
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
            q.upsert_alias(session, model_row.id, alias, target.id, previous, self.principal.name)
            audit.append(
                session,
                actor=self.principal.name,
                action="alias.moved" if previous else "alias.set",
                subject=f"alias:{r}@{alias}",
                before={"version": previous},
                after={"version": version},
            )
            return AliasChange(r.environment, r.name, alias, version, previous)

    def delete_alias(
        self, name: str | ModelRef, alias: str, *, environment: str | None = None
    ) -> AliasChange:
        r = self.ref(name, environment).model
        require(self.principal, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            model_row = lookup.model_row(session, r)
            current = q.alias_row(session, model_row.id, alias)
            if current is None:
                raise NotFound(f"alias {alias!r} is not set on model {r}", alias=alias)
            prev_row = session.get(ModelVersionRow, current.version_id)
            previous = prev_row.version if prev_row is not None else None
            q.delete_alias(session, model_row.id, alias)
            audit.append(
                session,
                actor=self.principal.name,
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
        remove: Iterable[str] = (),
        environment: str | None = None,
    ) -> ModelVersion:
        clean = clean_tags(tags)
        r = self.ref(ref, environment)
        require(self.principal, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            _, row = lookup.version_row(session, r)
            _refuse_locked(row, r)
            before = q.version_entities(session, [row.id])[0].tags
            q.set_version_tags(session, row.id, clean)
            for key in remove:
                if not q.delete_version_tag(session, row.id, key):
                    raise NotFound(f"tag {key!r} is not set on {r}", tag=key)
            after = q.version_entities(session, [row.id])[0]
            audit.append(
                session,
                actor=self.principal.name,
                action="version.tags_changed",
                subject=f"model_version:{after.ref}",
                before={"tags": before},
                after={"tags": after.tags},
            )
            return after

    def log_metrics(
        self,
        ref: str | ModelRef,
        metrics: Mapping[str, float],
        *,
        environment: str | None = None,
    ) -> ModelVersion:
        clean = clean_metrics(metrics)
        r = self.ref(ref, environment)
        require(self.principal, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            _, row = lookup.version_row(session, r)
            _refuse_locked(row, r)
            q.set_version_metrics(session, row.id, clean)
            after = q.version_entities(session, [row.id])[0]
            audit.append(
                session,
                actor=self.principal.name,
                action="version.metrics_logged",
                subject=f"model_version:{after.ref}",
                after={"metrics": clean},
            )
            return after

    def set_model_tags(
        self,
        name: str | ModelRef,
        tags: Mapping[str, str],
        *,
        remove: Iterable[str] = (),
        environment: str | None = None,
        description: str | None = None,
    ) -> Model:
        clean = clean_tags(tags)
        r = self.ref(name, environment).model
        require(self.principal, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            row = lookup.model_row(session, r)
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
                actor=self.principal.name,
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
        checks = [alias_dependents, *self.dependents] if aliases else list(self.dependents)
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
        environment: str | None = None,
        restore: bool = False,
    ) -> ModelVersion:
        r = self.ref(ref, environment)
        require(self.principal, Permission.REGISTER, r.environment)
        with self.db.write() as session:
            _, row = lookup.version_row(session, r)
            version = q.version_entities(session, [row.id])[0]
            target = "ready" if restore else "archived"
            if version.status == target:
                return version
            if not restore:
                self._refuse_if_needed(session, version, "archive")
            q.set_status(session, row.id, target)
            audit.append(
                session,
                actor=self.principal.name,
                action="version.restored" if restore else "version.archived",
                subject=f"model_version:{version.ref}",
                before={"status": version.status},
                after={"status": target},
            )
            return q.version_entities(session, [row.id])[0]

    def delete_version(
        self, ref: str | ModelRef, *, environment: str | None = None
    ) -> ModelVersion:
        r = self.ref(ref, environment)
        require(self.principal, Permission.DELETE, r.environment)
        if r.version is None:
            raise InvalidInput(f"say which version of {r.model} to delete (NAME:VERSION)")
        with self.db.write() as session:
            _, row = lookup.version_row(session, r)
            version = q.version_entities(session, [row.id])[0]
            self._refuse_if_needed(session, version, "delete")
            q.delete_version(session, row.id)
            audit.append(
                session,
                actor=self.principal.name,
                action="version.deleted",
                subject=f"model_version:{version.ref}",
                before={"digest": version.package_digest, "status": version.status},
            )
            return version

    def delete_model(self, name: str | ModelRef, *, environment: str | None = None) -> Model:
        r = self.ref(name, environment).model
        require(self.principal, Permission.DELETE, r.environment)
        with self.db.write() as session:
            row = lookup.model_row(session, r)
            model = q.model_entities(session, [row])[0]
            versions = q.version_entities(session, q.version_ids_of_model(session, row.id))
            for version in versions:  # its own aliases go with the model
                self._refuse_if_needed(session, version, "delete", aliases=False)
            q.delete_model(session, row.id)
            audit.append(
                session,
                actor=self.principal.name,
                action="model.deleted",
                subject=f"model:{r}",
                before={"versions": [v.version for v in versions], "aliases": model.aliases},
            )
            return model


def _refuse_locked(row: ModelVersionRow, ref: ModelRef) -> None:
    if row.locked:
        raise Conflict(
            f"{ref} was imported from a signed bundle and is locked: its metadata cannot be "
            "edited here (change it at the source and export a new bundle)",
            version=str(ref),
        )
