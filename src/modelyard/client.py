"""The Python SDK. ``Client()`` works on the embedded home (``MODELYARD_HOME``).

from modelyard import Client
client = Client()
v = client.log_model(model, "payments", input_example=X.head(), metrics={"f1": 0.71})
client.set_alias("payments", "champion", v.version)
model = client.load_model("sandbox/payments@champion")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from pydantic import SecretStr

from modelyard.domain.auth import IssuedToken, Token, User, local_admin
from modelyard.domain.datasets import DatasetVersion
from modelyard.domain.deployments import Deployment, Revision
from modelyard.domain.entities import (
    AliasChange,
    AuditEvent,
    DoctorReport,
    Model,
    ModelVersion,
    Page,
)
from modelyard.domain.errors import InvalidInput
from modelyard.domain.monitoring import Alert, AlertRule
from modelyard.domain.names import parse_ref
from modelyard.domain.promotions import Evaluation, Gates, PromotionRequest
from modelyard.flavors.base import LoadedModel
from modelyard.remote import RemoteServices
from modelyard.services.bundles import ImportResult, TrustedKey
from modelyard.services.container import Services
from modelyard.services.experiments import ExperimentRun
from modelyard.services.lineage import detect_git_commit
from modelyard.settings import Settings

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from modelyard.serving.batch import BatchResult
    from modelyard.serving.scorer import Output

AUTO: Literal["auto"] = "auto"


class VersionMetadata(TypedDict, total=False):
    """What ``register`` and ``log_model`` record with a version besides its package."""

    env: str | None
    tags: Mapping[str, str] | None
    metrics: Mapping[str, float] | None
    params: Mapping[str, Any] | None
    datasets: Iterable[str]
    eval_datasets: Iterable[str]
    baseline: pd.DataFrame | None
    description: str
    git_commit: str | None
    flavor: str | None


class Client:
    """One handle on a modelyard home; every method maps to one registry operation."""

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or Settings()
        update: dict[str, Any] = {}
        if home is not None:
            update["home"] = Path(home)
        if url is not None:
            update["url"] = url
        if token is not None:
            update["token"] = SecretStr(token)
        if update:
            settings = settings.model_copy(update=update)
        self.settings = settings
        # Embedded services, or their HTTP mirror when a server URL is configured: every
        # method below reads the same either way.
        self._services: Services | RemoteServices = (
            RemoteServices(settings) if settings.url else Services.open(settings)
        )
        self.actor = local_admin(self._services.local_actor)

    # -- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._services.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- registration -------------------------------------------------------------------
    def register(
        self,
        name: str,
        path: str | Path,
        *,
        input_example: pd.DataFrame | str | Path | None = None,
        source: str | None = None,
        **metadata: Unpack[VersionMetadata],
    ) -> ModelVersion:
        """Register a package folder, an MLflow model folder, a score.py folder or a model
        file (a bare file needs ``input_example``). ``metadata``: see ``log_model``."""
        example = Path(input_example) if isinstance(input_example, str) else input_example
        return self._register(
            name, Path(path), example, source or str(Path(path).resolve()), **metadata
        )

    def log_model(
        self,
        model: Any,
        name: str,
        *,
        input_example: pd.DataFrame | None = None,
        source: str | None = None,
        **metadata: Unpack[VersionMetadata],
    ) -> ModelVersion:
        """Save an in-memory model (scikit-learn, XGBoost, LightGBM, ONNX) as a new version.

        ``metadata``: ``env``, ``tags``, ``metrics``, ``params``, ``datasets`` (``NAME:VER``
        it was trained on), ``description``, ``git_commit`` (default: detected from the
        working directory), ``flavor`` (to force one).
        """
        return self._register(name, model, input_example, source, **metadata)

    def _register(
        self,
        name: str,
        source: Any,
        input_example: pd.DataFrame | Path | None,
        source_uri: str | None,
        *,
        env: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        datasets: Iterable[str] = (),
        eval_datasets: Iterable[str] = (),
        baseline: pd.DataFrame | None = None,
        description: str = "",
        git_commit: str | None = AUTO,
        flavor: str | None = None,
    ) -> ModelVersion:
        if baseline is not None:  # stored as a dataset, so the baseline has lineage too
            target = parse_ref(name, env, default=self.settings.environment)
            training = self.register_dataset(
                f"{target.name}-training",
                baseline,
                env=target.environment,
                description=f"training data of {name}",
            )
            datasets = [training.ref, *datasets]
        return self._services.registry.register(
            name,
            source,
            actor=self.actor,
            environment=env,
            tags=tags,
            metrics=metrics,
            params=params,
            datasets=datasets,
            eval_datasets=eval_datasets,
            description=description,
            source_uri=source_uri,
            git_commit=detect_git_commit() if git_commit == AUTO else git_commit,
            input_example=input_example,
            flavor=flavor,
        )

    def package_digest(
        self,
        path: str | Path,
        *,
        input_example: pd.DataFrame | str | Path | None = None,
        flavor: str | None = None,
    ) -> str:
        """The digest the package built from ``path`` would have, without registering it
        (identical content gives the same digest: a version with it is this package)."""
        example = Path(input_example) if isinstance(input_example, str) else input_example
        with self._services.packages.stage(Path(path), input_example=example, flavor=flavor) as s:
            return s.digest

    # -- reading ------------------------------------------------------------------------
    def get_model(self, name: str, *, env: str | None = None) -> Model:
        return self._services.registry.get_model(name, actor=self.actor, environment=env)

    def list_models(self, *, env: str | None = None) -> list[Model]:
        return self._services.registry.list_models(actor=self.actor, environment=env)

    def get_version(self, ref: str, *, env: str | None = None) -> ModelVersion:
        """``ref`` is ``[env/]name:version``, ``[env/]name@alias`` or ``[env/]name`` (latest)."""
        return self._services.registry.get_version(ref, actor=self.actor, environment=env)

    def list_versions(self, name: str, *, env: str | None = None) -> list[ModelVersion]:
        return self._services.registry.list_versions(name, actor=self.actor, environment=env)

    def search_versions(
        self,
        filter: str | None = None,
        *,
        order_by: list[str] | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        env: str | None = None,
    ) -> Page[ModelVersion]:
        return self._services.registry.search_versions(
            filter,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            environment=env,
            actor=self.actor,
        )

    def load_model(self, ref: str, *, env: str | None = None) -> LoadedModel:
        """Load a version, its package verified against its digest."""
        return self._services.registry.load_model(ref, actor=self.actor, environment=env)

    # -- changing -----------------------------------------------------------------------
    def set_alias(
        self, name: str, alias: str, version: int, *, env: str | None = None
    ) -> AliasChange:
        return self._services.registry.set_alias(
            name, alias, version, actor=self.actor, environment=env
        )

    def delete_alias(self, name: str, alias: str, *, env: str | None = None) -> AliasChange:
        return self._services.registry.delete_alias(name, alias, actor=self.actor, environment=env)

    def set_tags(
        self,
        ref: str,
        tags: Mapping[str, str],
        *,
        remove: Iterable[str] = (),
        env: str | None = None,
    ) -> ModelVersion:
        return self._services.registry.set_version_tags(
            ref, tags, actor=self.actor, remove=remove, environment=env
        )

    def set_model_tags(
        self,
        name: str,
        tags: Mapping[str, str],
        *,
        remove: Iterable[str] = (),
        description: str | None = None,
        env: str | None = None,
    ) -> Model:
        return self._services.registry.set_model_tags(
            name,
            tags,
            actor=self.actor,
            remove=remove,
            description=description,
            environment=env,
        )

    def log_metrics(
        self, ref: str, metrics: Mapping[str, float], *, env: str | None = None
    ) -> ModelVersion:
        return self._services.registry.set_version_metrics(
            ref, metrics, actor=self.actor, environment=env
        )

    def archive(self, ref: str, *, env: str | None = None, restore: bool = False) -> ModelVersion:
        return self._services.registry.archive(
            ref, actor=self.actor, environment=env, restore=restore
        )

    def delete_version(self, ref: str, *, env: str | None = None) -> ModelVersion:
        return self._services.registry.delete_version(ref, actor=self.actor, environment=env)

    def delete_model(self, name: str, *, env: str | None = None) -> Model:
        return self._services.registry.delete_model(name, actor=self.actor, environment=env)

    # -- operations ---------------------------------------------------------------------
    def doctor(self, *, deep: bool = True, gc: bool = False) -> DoctorReport:
        return self._services.doctor.check(by=self.actor, deep=deep, gc=gc)

    def audit(
        self,
        *,
        subject: str | None = None,
        action: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[AuditEvent]:
        return self._services.audit_events(
            by=self.actor, subject_prefix=subject, action=action, after_seq=after, limit=limit
        )

    # -- users and tokens ---------------------------------------------------------------
    def create_user(self, name: str, *, is_admin: bool = False) -> User:
        return self._services.auth.create_user(name, by=self.actor, is_admin=is_admin)

    def list_users(self) -> list[User]:
        return self._services.auth.list_users(by=self.actor)

    def grant(self, user: str, env: str, role: str) -> User:
        return self._services.auth.grant(user, env, role, by=self.actor)

    def revoke(self, user: str, env: str, role: str) -> User:
        return self._services.auth.revoke(user, env, role, by=self.actor)

    def create_token(
        self, name: str, *, user: str | None = None, expires_in_days: int | None = None
    ) -> IssuedToken:
        """A new API token; its secret is in the result and is never shown again."""
        return self._services.auth.create_token(
            by=self.actor, name=name, user=user, expires_in_days=expires_in_days
        )

    def list_tokens(self, *, user: str | None = None) -> list[Token]:
        return self._services.auth.list_tokens(by=self.actor, user=user)

    def revoke_token(self, token_id: int) -> Token:
        return self._services.auth.revoke_token(token_id, by=self.actor)

    # -- deployments --------------------------------------------------------------------
    def create_deployment(
        self,
        name: str,
        models: list[str],
        *,
        env: str | None = None,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
        description: str = "",
    ) -> Deployment:
        """A named web service serving ``models`` (``"payments:3"``, ``"payments:3=90"``).
        The result's ``new_keys`` hold both scoring keys, shown this once."""
        return self._services.deployments.create(
            name,
            models,
            actor=self.actor,
            environment=env,
            shadows=shadows,
            options=options,
            description=description,
        )

    def update_deployment(
        self,
        name: str,
        models: list[str] | None = None,
        *,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Deployment:
        return self._services.deployments.update(
            name, models, actor=self.actor, shadows=shadows, options=options
        )

    def rollback_deployment(self, name: str, *, to: int | None = None) -> Deployment:
        return self._services.deployments.rollback(name, actor=self.actor, to=to)

    def get_deployment(self, name: str) -> Deployment:
        return self._services.deployments.get(name, actor=self.actor)

    def list_deployments(self, *, env: str | None = None) -> list[Deployment]:
        return self._services.deployments.list_deployments(actor=self.actor, environment=env)

    def deployment_revisions(self, name: str) -> list[Revision]:
        return self._services.deployments.revisions(name, actor=self.actor)

    def delete_deployment(self, name: str) -> Deployment:
        return self._services.deployments.delete(name, actor=self.actor)

    def regenerate_key(self, name: str, slot: str) -> Deployment:
        """Replace the ``primary`` or ``secondary`` scoring key; the new one is in
        ``new_keys``, shown this once."""
        return self._services.deployments.regenerate_key(name, slot, actor=self.actor)

    # -- datasets -----------------------------------------------------------------------
    def register_dataset(
        self,
        name: str,
        source: str | Path | pd.DataFrame,
        *,
        env: str | None = None,
        description: str = "",
    ) -> DatasetVersion:
        """Register a CSV or Parquet file, or a DataFrame, as the next version of ``name``."""
        data = Path(source) if isinstance(source, str) else source
        return self._services.datasets.register(
            name, data, actor=self.actor, environment=env, description=description
        )

    def get_dataset(self, ref: str, *, env: str | None = None) -> DatasetVersion:
        return self._services.datasets.get(ref, actor=self.actor, environment=env)

    def list_datasets(self, *, env: str | None = None) -> list[DatasetVersion]:
        return self._services.datasets.list_datasets(actor=self.actor, environment=env)

    def dataset_versions(self, name: str, *, env: str | None = None) -> list[DatasetVersion]:
        return self._services.datasets.versions(name, actor=self.actor, environment=env)

    def read_dataset(self, ref: str, *, env: str | None = None) -> pa.Table:
        """A dataset version's rows as an Arrow table, exactly as stored."""
        return self._services.datasets.read(ref, actor=self.actor, environment=env)

    def load_dataset(self, ref: str, *, env: str | None = None) -> pd.DataFrame:
        return self.read_dataset(ref, env=env).to_pandas()

    def get_baseline(self, ref: str, *, env: str | None = None) -> dict[str, Any]:
        """A version's baseline: the profile of its training data and of its predictions."""
        return self._services.registry.baseline(ref, actor=self.actor, environment=env)

    # -- monitoring ---------------------------------------------------------------------
    def monitor(
        self,
        deployment: str,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        against: str | None = None,
        store: bool = True,
    ) -> dict[str, Any]:
        """Drift, data quality and live performance of a deployment over a window
        (default: the last 24 hours), against the served versions' baselines."""
        return self._services.monitoring.report(
            deployment, actor=self.actor, since=since, until=until, against=against, store=store
        )

    def monitoring_history(self, deployment: str, *, limit: int = 100) -> list[dict[str, Any]]:
        return self._services.monitoring.history(deployment, actor=self.actor, limit=limit)

    def send_feedback(self, deployment: str, items: list[dict[str, Any]]) -> int:
        """Ground truth for scored rows: ``[{"request_id": ..., "actual": ..., "row": 0}]``."""
        return self._services.monitoring.add_feedback(deployment, items, actor=self.actor)

    def snapshot_dataset(
        self,
        name: str,
        *,
        deployment: str | None = None,
        dataset: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        with_feedback: bool = False,
        env: str | None = None,
        drop: Iterable[str] = (),
        mask: Iterable[str] = (),
    ) -> DatasetVersion:
        """Register a deployment's collected live inputs, or a copy of dataset version
        ``dataset`` (e.g. production data into the sandbox), as a dataset version, with
        ``drop`` columns removed and ``mask`` columns replaced by keyed hashes."""
        return self._services.monitoring.snapshot(
            name,
            deployment=deployment,
            dataset=dataset,
            actor=self.actor,
            since=since,
            until=until,
            with_feedback=with_feedback,
            environment=env,
            drop=drop,
            mask=mask,
        )

    def create_alert_rule(
        self,
        deployment: str,
        name: str,
        signal: str,
        threshold: float,
        *,
        op: str = ">",
        feature: str | None = None,
        window: str = "1h",
        every: str = "5m",
    ) -> AlertRule:
        return self._services.alerts.create_rule(
            deployment,
            actor=self.actor,
            name=name,
            signal=signal,
            threshold=threshold,
            op=op,
            feature=feature,
            window=window,
            every=every,
        )

    def alert_rules(self, *, deployment: str | None = None) -> list[AlertRule]:
        return self._services.alerts.list_rules(actor=self.actor, deployment=deployment)

    def delete_alert_rule(self, deployment: str, name: str) -> AlertRule:
        return self._services.alerts.delete_rule(deployment, name, actor=self.actor)

    def alerts(
        self, *, deployment: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Alert]:
        return self._services.alerts.list_alerts(
            actor=self.actor, deployment=deployment, state=state, limit=limit
        )

    def evaluate_alerts(self, deployment: str) -> list[dict[str, Any]]:
        return self._services.alerts.evaluate(deployment, actor=self.actor)

    # -- evaluations and promotions -------------------------------------------------------
    def evaluate(
        self, ref: str, dataset: str, *, label: str | None = None, env: str | None = None
    ) -> Evaluation:
        """Score a version on a dataset version; the metrics are stored with both."""
        return self._services.evaluations.evaluate(
            ref, dataset, actor=self.actor, label=label, environment=env
        )

    def evaluations(self, ref: str | None = None, *, env: str | None = None) -> list[Evaluation]:
        return self._services.evaluations.list_evaluations(ref, actor=self.actor, environment=env)

    def compare(self, refs: list[str], *, dataset: str | None = None) -> dict[str, Any]:
        """The versions' newest evaluations on one dataset, metrics side by side."""
        return self._services.evaluations.compare(refs, actor=self.actor, dataset=dataset)

    def get_gates(self, env: str) -> Gates:
        return self._services.promotions.get_gates(env, actor=self.actor)

    def set_gates(
        self,
        env: str,
        *,
        evaluation: str | None = None,
        thresholds: Iterable[str] = (),
        beat_champion: str | None = None,
        approvals: int = 0,
        self_approval: bool = False,
    ) -> Gates:
        """Replace what a promotion into ``env`` must pass."""
        gates = {
            "evaluation": evaluation,
            "thresholds": list(thresholds),
            "beat_champion": beat_champion,
            "approvals": approvals,
            "self_approval": self_approval,
        }
        return self._services.promotions.set_gates(env, gates, actor=self.actor)

    def promote(self, ref: str, *, to: str, note: str = "") -> PromotionRequest:
        """Request a version's promotion into ``to``: gates checked now, approvals later."""
        return self._services.promotions.promote(ref, to=to, actor=self.actor, note=note)

    def approve(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        return self._services.promotions.approve(request_id, actor=self.actor, comment=comment)

    def reject(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        return self._services.promotions.reject(request_id, actor=self.actor, comment=comment)

    def promotion_requests(self, *, state: str | None = None) -> list[PromotionRequest]:
        return self._services.promotions.list_requests(actor=self.actor, state=state)

    # -- experiments ----------------------------------------------------------------------
    def record_run(
        self,
        experiment: str,
        name: str,
        *,
        params: dict[str, Any],
        data_fingerprint: str,
        rows: int,
        metrics: dict[str, float],
        env: str | None = None,
    ) -> ExperimentRun:
        """Record one experiment run; runs touch no version and no deployment."""
        return self._services.experiments.record(
            experiment,
            name,
            params=params,
            data_fingerprint=data_fingerprint,
            rows=rows,
            metrics=metrics,
            actor=self.actor,
            environment=env,
        )

    def experiment_runs(
        self, experiment: str, *, env: str | None = None, rank_by: str | None = None
    ) -> list[ExperimentRun]:
        return self._services.experiments.runs(
            experiment, actor=self.actor, environment=env, rank_by=rank_by
        )

    # -- keys and bundles -----------------------------------------------------------------
    def create_key(self, name: str) -> TrustedKey:
        """A new Ed25519 signing key kept in the home (or by the server); its public half
        (``public_key``) is what other installations trust."""
        return self._services.bundles.create_key(name, actor=self.actor)

    def trust_key(self, name: str, public_key: str) -> TrustedKey:
        return self._services.bundles.trust(name, public_key, actor=self.actor)

    def keys(self) -> list[TrustedKey]:
        return self._services.bundles.list_keys(actor=self.actor)

    def export_bundle(self, ref: str, path: str | Path, *, key: str) -> dict[str, Any]:
        """Write the signed bundle of ``ref`` to ``path`` (complete, or not at all)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.part")
        try:
            with open(tmp, "wb") as out:
                info = self._services.bundles.export(ref, out, key=key, actor=self.actor)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return info

    def import_bundle(self, path: str | Path, *, env: str | None = None) -> ImportResult:
        """Verify and import a bundle; importing it again reports the existing version."""
        source = Path(path)
        if not source.is_file():
            raise InvalidInput(f"no such file: {str(source)!r}")
        with open(source, "rb") as fh:
            return self._services.bundles.import_bundle(fh, actor=self.actor, environment=env)

    def predict_file(
        self,
        deployment: str,
        source: str | Path,
        output: str | Path,
        *,
        variant: str | None = None,
        max_error_rate: float = 0.0,
        progress: Callable[[int], None] | None = None,
    ) -> BatchResult:
        """Score a CSV, Parquet or JSON file with a deployment's model into ``output``
        (embedded: in this process; remote: through the server's scoring route). Rows that
        fail the signature go to ``<output>.errors.csv``; past ``max_error_rate`` the job
        stops and writes no output."""
        from modelyard.serving import batch
        from modelyard.serving.schema import InputSchema

        found, chosen = self._services.deployments.batch_variant(
            deployment, actor=self.actor, variant=variant
        )
        options = found.revision.options
        if isinstance(self._services, RemoteServices):
            remote = self._services.deployments
            version = self._services.registry.get_version(
                f"{chosen.model}:{chosen.version}", environment=chosen.environment
            )
            schema = InputSchema(version.signature, options.unseen_categories)
            outputs = version.signature.get("outputs", {}) if version.signature else {}
            classes = outputs.get("classes")

            def score(frame: pd.DataFrame) -> Output:
                return remote.score_frame(deployment, chosen.name, frame)

        else:
            model, manifest = self._services.registry.load_package(chosen.package_digest)
            from modelyard.serving.scorer import Scorer

            scorer = Scorer(model, manifest.signature)
            schema = InputSchema(manifest.signature, options.unseen_categories)
            scorer.warm_up(schema)
            classes = scorer.classes
            score = scorer.score
        return batch.score_file(
            Path(source),
            Path(output),
            schema=schema,
            score=score,
            classes=classes,
            model_version=chosen.name,
            max_error_rate=max_error_rate,
            progress=progress,
        )
