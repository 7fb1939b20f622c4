"""The model registry's rules: lookup, aliases, metadata, archive, delete, search. How a
version becomes visible is ``services.versions``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from modelyard.artifacts.store import VerifyingReader
from modelyard.domain.auth import Permission, Principal
from modelyard.domain.entities import AliasChange, Model, ModelVersion, Page
from modelyard.domain.errors import (
    Conflict,
    DependencyExists,
    InvalidInput,
    NotFound,
)
from modelyard.domain.filters import ALL_ENVIRONMENTS, parse_filter, parse_order_by, search_scope
from modelyard.domain.names import ModelRef, check_alias, parse_model_name, parse_ref
from modelyard.domain.reports import Baseline
from modelyard.domain.runtimes import EnvironmentCheck
from modelyard.flavors.package import Manifest
from modelyard.flavors.staging import PackageSource, StagedPackage
from modelyard.services import compiling, ensembles, lookup
from modelyard.services.auth import require
from modelyard.services.metadata import clean_metrics, clean_tags, draft
from modelyard.services.versions import VersionWriter
from modelyard.store import search
from modelyard.store.unit import Store, Tx

#: A dependents check returns human-readable reasons why a version must stay (empty: none).
DependentsCheck = Callable[[Tx, ModelVersion], list[str]]
MAX_RESULTS = 1000


def alias_dependents(tx: Tx, version: ModelVersion) -> list[str]:
    return [f"alias {a!r} points to it" for a in version.aliases]


class RegistryService:
    def __init__(
        self,
        store: Store,
        versions: VersionWriter,
        default_environment: str,
        principal: Principal,
        dependents: tuple[DependentsCheck, ...] = (),
    ) -> None:
        self.store = store
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

    def register_ensemble(
        self,
        name: str,
        members: list[str],
        *,
        combine: str = "mean",
        weights: list[float] | None = None,
        script: str | None = None,
        environment: str | None = None,
        tags: Mapping[str, str] | None = None,
        datasets: Iterable[str] = (),
        eval_datasets: Iterable[str] = (),
        description: str = "",
    ) -> ModelVersion:
        """The rules are ``services.ensembles``; members are named in the ensemble's
        environment unless they say another."""
        target = parse_model_name(name, environment, default=self.default_environment)
        found = []
        for member in members:
            version, data, manifest = self.version_package(member, environment=target.environment)
            if version.status != "ready":
                raise InvalidInput(f"member {version.ref} is archived")
            found.append(ensembles.Candidate(version, data, manifest))
        metadata = draft(
            tags=tags, datasets=datasets, eval_datasets=eval_datasets, description=description
        )
        work = self.versions.packager.work_dir
        with ensembles.stage(found, combine, weights, script, work) as staged:
            return self.versions.add(name, staged, metadata, environment)

    # -- lookup -------------------------------------------------------------------------
    def ref(self, text: str | ModelRef, environment: str | None = None) -> ModelRef:
        if isinstance(text, ModelRef):
            return text
        return parse_ref(text, environment, default=self.default_environment)

    def get_model(self, name: str | ModelRef, *, environment: str | None = None) -> Model:
        r = self.ref(name, environment)
        require(self.principal, Permission.READ, r.environment)
        with self.store.read() as tx:
            return tx.registry.models([lookup.model_id(tx, r.model)])[0]

    def list_models(self, *, environment: str | None = None) -> list[Model]:
        with self.store.read() as tx:
            if environment:
                lookup.check_environment(tx, environment)
                require(self.principal, Permission.READ, environment)
            return [
                m
                for m in tx.registry.list_models(environment)
                if self.principal.can(Permission.READ, m.environment)
            ]

    def get_version(self, ref: str | ModelRef, *, environment: str | None = None) -> ModelVersion:
        r = self.ref(ref, environment)
        require(self.principal, Permission.READ, r.environment)
        with self.store.read() as tx:
            return lookup.resolve(tx, r)

    def list_versions(
        self, name: str | ModelRef, *, environment: str | None = None
    ) -> list[ModelVersion]:
        r = self.ref(name, environment)
        require(self.principal, Permission.READ, r.environment)
        with self.store.read() as tx:
            model = lookup.model_id(tx, r.model)
            return tx.registry.version_entities(tx.registry.version_ids_of_model(model))

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
        environment = search_scope(environment, node, self.default_environment)
        fp = search.fingerprint(filter or "", order_items, environment)
        offset = search.decode_token(page_token, fp)
        with self.store.read() as tx:
            if environment != ALL_ENVIRONMENTS:
                lookup.check_environment(tx, environment)
                require(self.principal, Permission.READ, environment)
                scope: list[str] | None = [environment]
            elif self.principal.is_admin:
                scope = None
            else:  # only what the caller may read
                scope = [
                    e.name
                    for e in tx.registry.list_environments()
                    if self.principal.can(Permission.READ, e.name)
                ]
            ids, more = tx.registry.search_version_ids(
                node=node,
                order=order,
                environments=scope,
                offset=offset,
                limit=max_results,
            )
            items = tx.registry.version_entities(ids)
        token = search.encode_token(offset + len(ids), fp) if more else None
        return Page(items, token)

    def get_baseline(self, ref: str | ModelRef, *, environment: str | None = None) -> Baseline:
        """A version's baseline profile (training data and predictions)."""
        version = self.get_version(ref, environment=environment)
        with self.store.read() as tx:
            found = tx.datasets.baseline(lookup.version(tx, self.ref(version.ref)).version_id)
        if found is None:
            raise NotFound(
                f"version {version.ref} has no baseline: register it with --dataset NAME:VERSION",
                version=version.ref,
            )
        return found

    def compile_version(
        self,
        ref: str | ModelRef,
        *,
        to: str = "onnx",
        dataset: str | None = None,
        environment: str | None = None,
    ) -> ModelVersion:
        """The rules are ``services.compiling``."""
        return compiling.compile_version(
            self, str(ref), to=to, dataset=dataset, environment=environment
        )

    def check_version(
        self, ref: str | ModelRef, *, environment: str | None = None
    ) -> EnvironmentCheck:
        """Where a version's model runs here: the one rule is ``ModelHost.check``."""
        version, _, manifest = self.version_package(ref, environment=environment)
        return self.versions.models.check(manifest, version.ref)

    def package_source(self, ref: str, *, environment: str | None = None) -> PackageSource:
        version, text = self.version_manifest(ref, environment=environment)
        return PackageSource(version.package_digest, text, self.versions.packages.artifacts)

    def package_folder(self, digest: str) -> tuple[Path, Manifest]:
        """A stored package's verified local folder, by digest, for a model host to load
        (permission was checked by whoever names the digest)."""
        with self.store.read() as tx:
            text = tx.packages.manifest(digest)
        if text is None:
            raise NotFound(f"package {digest} does not exist")
        return self.versions.packager.materialize(
            PackageSource(digest, text, self.versions.packages.artifacts)
        )

    def version_manifest(
        self, ref: str | ModelRef, *, environment: str | None = None
    ) -> tuple[ModelVersion, str]:
        """A version and its package manifest (what a remote client downloads first)."""
        version = self.get_version(ref, environment=environment)
        with self.store.read() as tx:
            text = tx.packages.manifest(version.package_digest)
        assert text is not None  # a foreign key guarantees the package row
        return version, text

    def version_package(
        self, ref: str | ModelRef, *, environment: str | None = None
    ) -> tuple[ModelVersion, bytes, Manifest]:
        """A version, its manifest's bytes and their parse (cached by digest)."""
        version = self.get_version(ref, environment=environment)
        data, manifest = self.versions.package_manifest(version.package_digest)
        return version, data, manifest

    def open_file(
        self,
        ref: str | ModelRef,
        file_digest: str,
        *,
        environment: str | None = None,
    ) -> VerifyingReader:
        """Stream one file of a version's package; the reader checks its digest."""
        version, _, manifest = self.version_package(ref, environment=environment)
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
        with self.store.write() as tx:
            return point_alias(tx, ModelRef(r.environment, r.name, version), alias, self.principal)

    def delete_alias(
        self, name: str | ModelRef, alias: str, *, environment: str | None = None
    ) -> AliasChange:
        r = self.ref(name, environment).model
        require(self.principal, Permission.REGISTER, r.environment)
        with self.store.write() as tx:
            model = lookup.model_id(tx, r)
            current = tx.registry.alias(model, alias)
            if current is None:
                raise NotFound(f"alias {alias!r} is not set on model {r}", alias=alias)
            previous = current.version
            tx.registry.delete_alias(model, alias)
            tx.audit.append(
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
        with self.store.write() as tx:
            found = lookup.version(tx, r)
            _refuse_locked(found.version, r)
            before = found.version.tags
            tx.registry.set_version_tags(found.version_id, clean)
            for key in remove:
                if not tx.registry.delete_version_tag(found.version_id, key):
                    raise NotFound(f"tag {key!r} is not set on {r}", tag=key)
            after = tx.registry.version_entities([found.version_id])[0]
            tx.audit.append(
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
        with self.store.write() as tx:
            found = lookup.version(tx, r)
            _refuse_locked(found.version, r)
            tx.registry.set_version_metrics(found.version_id, clean)
            after = tx.registry.version_entities([found.version_id])[0]
            tx.audit.append(
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
        with self.store.write() as tx:
            model = lookup.model_id(tx, r)
            before = tx.registry.models([model])[0]
            tx.registry.set_model_tags(model, clean)
            for key in remove:
                if not tx.registry.delete_model_tag(model, key):
                    raise NotFound(f"tag {key!r} is not set on {r}", tag=key)
            if description is not None:
                tx.registry.set_model_description(model, description)
            after = tx.registry.models([model])[0]
            tx.audit.append(
                actor=self.principal.name,
                action="model.updated",
                subject=f"model:{r}",
                before={"tags": before.tags, "description": before.description},
                after={"tags": after.tags, "description": after.description},
            )
            return after

    # -- archive and delete ---------------------------------------------------------------
    def _refuse_if_needed(
        self, tx: Tx, version: ModelVersion, verb: str, *, aliases: bool = True
    ) -> None:
        checks = [alias_dependents, *self.dependents] if aliases else list(self.dependents)
        reasons = [reason for check in checks for reason in check(tx, version)]
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
        with self.store.write() as tx:
            found = lookup.version(tx, r)
            version = found.version
            target = "ready" if restore else "archived"
            if version.status == target:
                return version
            if not restore:
                self._refuse_if_needed(tx, version, "archive")
            tx.registry.set_status(found.version_id, target)
            tx.audit.append(
                actor=self.principal.name,
                action="version.restored" if restore else "version.archived",
                subject=f"model_version:{version.ref}",
                before={"status": version.status},
                after={"status": target},
            )
            return tx.registry.version_entities([found.version_id])[0]

    def delete_version(
        self, ref: str | ModelRef, *, environment: str | None = None
    ) -> ModelVersion:
        r = self.ref(ref, environment)
        require(self.principal, Permission.DELETE, r.environment)
        if r.version is None:
            raise InvalidInput(f"say which version of {r.model} to delete (NAME:VERSION)")
        with self.store.write() as tx:
            found = lookup.version(tx, r)
            version = found.version
            self._refuse_if_needed(tx, version, "delete")
            tx.registry.delete_version(found.version_id)
            tx.audit.append(
                actor=self.principal.name,
                action="version.deleted",
                subject=f"model_version:{version.ref}",
                before={"digest": version.package_digest, "status": version.status},
            )
            return version

    def delete_model(self, name: str | ModelRef, *, environment: str | None = None) -> Model:
        r = self.ref(name, environment).model
        require(self.principal, Permission.DELETE, r.environment)
        with self.store.write() as tx:
            model_id = lookup.model_id(tx, r)
            model = tx.registry.models([model_id])[0]
            versions = tx.registry.version_entities(tx.registry.version_ids_of_model(model_id))
            for version in versions:  # its own aliases go with the model
                self._refuse_if_needed(tx, version, "delete", aliases=False)
            tx.registry.delete_model(model_id)
            tx.audit.append(
                actor=self.principal.name,
                action="model.deleted",
                subject=f"model:{r}",
                before={"versions": [v.version for v in versions], "aliases": model.aliases},
            )
            return model


def _refuse_locked(version: ModelVersion, ref: ModelRef) -> None:
    if version.locked:
        raise Conflict(
            f"{ref} was imported from a signed bundle and is locked: its metadata cannot be "
            "edited here (change it at the source and export a new bundle)",
            version=str(ref),
        )


def point_alias(tx: Tx, ref: ModelRef, alias: str, principal: Principal) -> AliasChange:
    """Point ``alias`` at the version ``ref`` names, inside ``tx``; the previous version is
    recorded and the change audited. The caller has checked who may do this."""
    target = lookup.version(tx, ref)
    if target.version.status == "archived":
        raise InvalidInput(f"version {ref} is archived: an alias cannot point to it")
    current = tx.registry.alias(target.model_id, alias)
    previous = current.version if current is not None else None
    version = ref.version
    assert version is not None
    if previous == version:
        before = current.previous_version if current is not None else None
        return AliasChange(ref.environment, ref.name, alias, version, before)
    tx.registry.upsert_alias(target.model_id, alias, target.version_id, previous, principal.name)
    tx.audit.append(
        actor=principal.name,
        action="alias.moved" if previous else "alias.set",
        subject=f"alias:{ref.model}@{alias}",
        before={"version": previous},
        after={"version": version},
    )
    return AliasChange(ref.environment, ref.name, alias, version, previous)
