"""The model registry's contract: versions, models, aliases, metadata, search.

A reference (``ref``) is ``[environment/]name:version``, ``[environment/]name@alias`` or
``[environment/]name`` (the latest version); ``environment`` applies when the reference
names none (default: the client's environment, normally ``sandbox``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from modelyard.domain.entities import AliasChange, Model, ModelVersion, Page
    from modelyard.domain.reports import Baseline
    from modelyard.domain.runtimes import EnvironmentCheck
    from modelyard.flavors.staging import PackageSource, StagedPackage


class Registry(Protocol):
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
        """Store a staged package as the next version of ``name``: all of it, or nothing.
        ``datasets``: ``NAME[:VERSION]`` it was trained on (lineage and baseline);
        ``eval_datasets``: what it was evaluated on."""
        ...

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
        """Register versions as one: the next version of ``name``, whose answers combine
        the members' (``combine``: mean, weighted, vote, or script with the source of a
        ``combine.py`` as ``script``; ``weights``: one per member). Members must take
        compatible inputs and predict the same classes; while an ensemble uses one, it
        cannot be deleted or archived."""
        ...

    def get_model(self, name: str, *, environment: str | None = None) -> Model:
        """A model: description, tags, aliases and latest version."""
        ...

    def list_models(self, *, environment: str | None = None) -> list[Model]:
        """Every model the caller may read, or those of one environment."""
        ...

    def get_version(self, ref: str, *, environment: str | None = None) -> ModelVersion:
        """One version, by number, alias or latest."""
        ...

    def list_versions(self, name: str, *, environment: str | None = None) -> list[ModelVersion]:
        """A model's versions, oldest first."""
        ...

    def search_versions(
        self,
        filter: str | None = None,
        *,
        order_by: list[str] | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        environment: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions matching a filter such as ``tags.team = 'risk' and metrics.f1 > 0.8``,
        one page at a time (pass ``next_page_token`` back for the next)."""
        ...

    def get_baseline(self, ref: str, *, environment: str | None = None) -> Baseline:
        """The profile of a version's training data and of its predictions on it."""
        ...

    def compile_version(
        self,
        ref: str,
        *,
        to: str = "onnx",
        dataset: str | None = None,
        environment: str | None = None,
    ) -> ModelVersion:
        """The version converted to ONNX and verified against it (on rows of its signature,
        its training dataset and ``dataset``), registered as the next version of the same
        model with lineage ``compiled_from``; nothing is registered if it does not verify."""
        ...

    def check_version(self, ref: str, *, environment: str | None = None) -> EnvironmentCheck:
        """Where the version's model runs on the server (in the server's environment, or
        in one built for its pinned requirements), what differs, and whether that
        environment can be built: before any deploy."""
        ...

    def package_source(self, ref: str, *, environment: str | None = None) -> PackageSource:
        """Where a version's package files come from, to load it (each file is verified
        against its digest on arrival)."""
        ...

    def set_alias(
        self, name: str, alias: str, version: int, *, environment: str | None = None
    ) -> AliasChange:
        """Point ``alias`` at a version; the previous target is recorded. A deployment
        that pinned the old version keeps serving it."""
        ...

    def delete_alias(self, name: str, alias: str, *, environment: str | None = None) -> AliasChange:
        """Remove an alias."""
        ...

    def set_version_tags(
        self,
        ref: str,
        tags: Mapping[str, str],
        *,
        remove: Iterable[str] = (),
        environment: str | None = None,
    ) -> ModelVersion:
        """Set (and remove) tags of a version."""
        ...

    def set_model_tags(
        self,
        name: str,
        tags: Mapping[str, str],
        *,
        remove: Iterable[str] = (),
        description: str | None = None,
        environment: str | None = None,
    ) -> Model:
        """Set (and remove) tags of a model, and optionally its description."""
        ...

    def log_metrics(
        self, ref: str, metrics: Mapping[str, float], *, environment: str | None = None
    ) -> ModelVersion:
        """Record metrics on a version (a metric logged again is replaced)."""
        ...

    def archive(
        self, ref: str, *, restore: bool = False, environment: str | None = None
    ) -> ModelVersion:
        """Archive a version (no alias may point to it, no deployment may serve it), or
        restore it."""
        ...

    def delete_version(self, ref: str, *, environment: str | None = None) -> ModelVersion:
        """Delete a version nothing depends on (no alias or deployment); promotion requests
        that named it keep their record."""
        ...

    def delete_model(self, name: str, *, environment: str | None = None) -> Model:
        """Delete a model and all its versions, when none is in use."""
        ...
