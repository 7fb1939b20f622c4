"""The Python SDK. ``Client()`` works on the embedded home (``MODELYARD_HOME``), or on a
server when ``MODELYARD_URL`` (or ``url=``) is set: the same methods either way.

    from modelyard import Client
    client = Client()
    v = client.log_model(model, "payments", input_example=X.head(), metrics={"f1": 0.71})
    client.set_alias("payments", "champion", v.version)
    model = client.load_model("sandbox/payments@champion")

Every method below that is one operation forwards to the contract that declares it
(``services.contracts``); the few written here compose operations with work done on this
side of the wire: building a package, loading a model, scoring a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from modelyard.domain.errors import InvalidInput
from modelyard.domain.names import parse_ref
from modelyard.sdk.forward import forward
from modelyard.services.contracts import (
    Access,
    Alerts,
    Api,
    Bundles,
    Datasets,
    Deployments,
    Edge,
    Evaluations,
    Experiments,
    Jobs,
    Monitoring,
    Operations,
    Promotions,
    Registry,
    Webhooks,
)
from modelyard.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.domain.bundles import ImportResult
    from modelyard.domain.entities import ModelVersion
    from modelyard.flavors.base import LoadedModel
    from modelyard.flavors.staging import Packager, Training
    from modelyard.serving.batch import BatchResult
    from modelyard.serving.raydata import DatasetResult

AUTO: Literal["auto"] = "auto"


class VersionMetadata(TypedDict, total=False):
    """What ``register`` and ``log_model`` record with a version besides its package."""

    environment: str | None
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
    """One handle on a modelyard installation: embedded, or a server's."""

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
            from pydantic import SecretStr

            update["token"] = SecretStr(token)
        if update:
            settings = settings.model_copy(update=update)
        self.settings = settings
        self._close: Callable[[], None]
        if settings.url:
            from modelyard.sdk.http import HttpApi

            secret = settings.token.get_secret_value() if settings.token else None
            remote = HttpApi(settings.url, secret, settings.environment)
            self.api: Api = remote
            self._close = remote.close
        else:
            from modelyard.services.container import Services

            services = Services.open(settings)
            self.api = services.local()
            self._close = services.close
        self._packager: Packager | None = None

    @property
    def packager(self) -> Packager:
        """Builds packages and loads them, on this side of the wire."""
        if self._packager is None:
            from modelyard.flavors.registry import Flavors
            from modelyard.flavors.staging import Packager

            home = self.settings.resolved_home
            self._packager = Packager(Flavors(), home / "tmp", self.settings.cache_dir)
        return self._packager

    # -- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- registry -----------------------------------------------------------------------
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
        origin = source or str(Path(path).resolve())
        return self._register(name, Path(path), example, origin, **metadata)

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

        ``metadata``: ``environment``, ``tags``, ``metrics``, ``params``, ``datasets``
        (``NAME:VER`` it was trained on, for lineage and the drift baseline),
        ``eval_datasets``, ``baseline`` (a training frame, registered as dataset
        ``NAME-training``), ``description``, ``git_commit`` (default: detected from the
        working directory), ``flavor`` (to force one).
        """
        return self._register(name, model, input_example, source, **metadata)

    def _register(
        self,
        name: str,
        source: Any,
        input_example: pd.DataFrame | Path | None,
        origin: str | None,
        *,
        environment: str | None = None,
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
        # a bad name is said now, before a package is built
        target = parse_ref(name, environment, default=self.settings.environment)
        if git_commit == AUTO:
            from modelyard.services.lineage import detect_git_commit

            git_commit = detect_git_commit()
        datasets = list(datasets)
        rows = self._training(baseline, datasets, target.environment)
        with self.packager.stage(
            source, input_example=input_example, flavor=flavor, training=rows
        ) as staged:
            if baseline is not None:  # stored as a dataset, so the baseline has lineage too
                training = self.register_dataset(
                    f"{target.name}-training",
                    baseline,
                    environment=target.environment,
                    description=f"training data of {name}",
                )
                datasets = [training.ref, *datasets]
            return self.api.registry.register_package(
                name,
                staged,
                environment=environment,
                tags=tags,
                metrics=metrics,
                params={k: str(v) for k, v in (params or {}).items()},
                datasets=datasets,
                eval_datasets=eval_datasets,
                description=description,
                source=origin,
                git_commit=git_commit,
            )

    def package_digest(
        self,
        path: str | Path,
        *,
        input_example: pd.DataFrame | str | Path | None = None,
        flavor: str | None = None,
        datasets: Iterable[str] = (),
        environment: str | None = None,
    ) -> str:
        """The digest the package built from ``path`` would have, without registering it
        (identical content gives the same digest: a version with it is this package).
        ``datasets``: those it would be registered with (the first gives categories)."""
        example = Path(input_example) if isinstance(input_example, str) else input_example
        training = self._training(None, list(datasets), environment or self.settings.environment)
        with self.packager.stage(
            Path(path), input_example=example, flavor=flavor, training=training
        ) as staged:
            return staged.digest

    def _training(
        self, baseline: pd.DataFrame | None, datasets: list[str], environment: str
    ) -> Training | None:
        """The training data a signature takes its categories from: ``baseline``, else
        the first dataset named (read only if the signature has string columns)."""
        if baseline is not None:
            return lambda: baseline
        if datasets:
            return lambda: self.load_dataset(datasets[0], environment=environment)
        return None

    def download_model(self, ref: str, dest: str | Path, *, environment: str | None = None) -> Path:
        """Write a version's package to the folder ``dest`` (new, or empty): its files and
        manifest, every file verified against its digest. Registering the folder again
        gives the same package digest."""
        import shutil

        target = Path(dest)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise InvalidInput(f"{target} exists and is not an empty folder")
        source = self.api.registry.package_source(ref, environment=environment)
        folder, _ = self.packager.materialize(source)
        shutil.copytree(folder, target, dirs_exist_ok=True)
        return target

    def load_model(self, ref: str, *, environment: str | None = None) -> LoadedModel:
        """Load a version, every file verified against its digest first."""
        source = self.api.registry.package_source(ref, environment=environment)
        return self.packager.load(source)[0]

    register_package = forward(Registry.register_package)
    get_model = forward(Registry.get_model)
    list_models = forward(Registry.list_models)
    get_version = forward(Registry.get_version)
    list_versions = forward(Registry.list_versions)
    search_versions = forward(Registry.search_versions)
    get_baseline = forward(Registry.get_baseline)
    package_source = forward(Registry.package_source)
    check_version = forward(Registry.check_version)
    register_ensemble = forward(Registry.register_ensemble)
    compile_version = forward(Registry.compile_version)
    set_alias = forward(Registry.set_alias)
    delete_alias = forward(Registry.delete_alias)
    set_version_tags = forward(Registry.set_version_tags)
    set_model_tags = forward(Registry.set_model_tags)
    log_metrics = forward(Registry.log_metrics)
    archive = forward(Registry.archive)
    delete_version = forward(Registry.delete_version)
    delete_model = forward(Registry.delete_model)

    # -- datasets -----------------------------------------------------------------------
    register_dataset = forward(Datasets.register_dataset)
    get_dataset = forward(Datasets.get_dataset)
    list_datasets = forward(Datasets.list_datasets)
    list_dataset_versions = forward(Datasets.list_dataset_versions)
    read_dataset = forward(Datasets.read_dataset)

    def load_dataset(self, ref: str, *, environment: str | None = None) -> pd.DataFrame:
        """A dataset version as a pandas DataFrame."""
        return self.read_dataset(ref, environment=environment).to_pandas()

    # -- deployments --------------------------------------------------------------------
    create_deployment = forward(Deployments.create_deployment)
    update_deployment = forward(Deployments.update_deployment)
    rollback_deployment = forward(Deployments.rollback_deployment)
    wait_deployment = forward(Deployments.wait_deployment)
    get_deployment = forward(Deployments.get_deployment)
    list_deployments = forward(Deployments.list_deployments)
    list_revisions = forward(Deployments.list_revisions)
    delete_deployment = forward(Deployments.delete_deployment)
    regenerate_key = forward(Deployments.regenerate_key)
    batch_target = forward(Deployments.batch_target)
    score_frame = forward(Deployments.score_frame)

    def predict_file(
        self,
        deployment: str,
        source: str | Path,
        output: str | Path,
        *,
        variant: str | None = None,
        max_error_rate: float = 0.0,
        progress: Callable[[int], None] | None = None,
        explain: int = 0,
    ) -> BatchResult:
        """Score a CSV, Parquet or JSON file with a deployment's model into ``output``
        (embedded: in this process; remote: through the server's scoring route). Rows that
        fail the signature go to ``<output>.errors.csv``; past ``max_error_rate`` the job
        stops and writes no output. ``explain``: each row's top factors as columns."""
        from modelyard.serving import batch

        target = self.batch_target(deployment, variant=variant)
        chosen = target.variant.name
        return batch.score_target(
            target,
            self.get_version(target.variant.ref),
            Path(source),
            Path(output),
            score=lambda frame: self.score_frame(deployment, chosen, frame, explain=explain),
            max_error_rate=max_error_rate,
            progress=progress,
        )

    def predict_dataset(
        self,
        deployment: str,
        source: str,
        output: str,
        *,
        address: str | None = None,
        cpus: int = 1,
        variant: str | None = None,
    ) -> DatasetResult:
        """Score a dataset of CSV or Parquet partitions (a file or folder, local or
        ``s3://``) on Ray Data into Parquet parts under ``output``, in the input's order:
        on the cluster at ``address``, or on a local Ray of ``cpus`` workers."""
        from modelyard.serving import raydata

        return raydata.score_dataset(
            self, deployment, source, output, address=address, cpus=cpus, variant=variant
        )

    # -- monitoring and alerts ------------------------------------------------------------
    monitor = forward(Monitoring.monitor)
    money = forward(Monitoring.money)
    latest_predictions = forward(Monitoring.latest_predictions)
    list_monitoring_reports = forward(Monitoring.list_monitoring_reports)
    get_monitoring_report = forward(Monitoring.get_monitoring_report)
    send_feedback = forward(Monitoring.send_feedback)
    snapshot_dataset = forward(Monitoring.snapshot_dataset)
    create_alert_rule = forward(Alerts.create_alert_rule)
    list_alert_rules = forward(Alerts.list_alert_rules)
    delete_alert_rule = forward(Alerts.delete_alert_rule)
    list_alerts = forward(Alerts.list_alerts)
    evaluate_alerts = forward(Alerts.evaluate_alerts)

    # -- batch jobs -----------------------------------------------------------------------
    create_job = forward(Jobs.create_job)
    list_jobs = forward(Jobs.list_jobs)
    get_job = forward(Jobs.get_job)
    list_job_runs = forward(Jobs.list_job_runs)
    run_job = forward(Jobs.run_job)
    delete_job = forward(Jobs.delete_job)

    # -- evaluations and promotions -------------------------------------------------------
    evaluate = forward(Evaluations.evaluate)
    list_evaluations = forward(Evaluations.list_evaluations)
    get_evaluation = forward(Evaluations.get_evaluation)
    compare_versions = forward(Evaluations.compare_versions)
    get_gates = forward(Promotions.get_gates)
    set_gates = forward(Promotions.set_gates)
    promote = forward(Promotions.promote)
    approve = forward(Promotions.approve)
    reject = forward(Promotions.reject)
    get_promotion_request = forward(Promotions.get_promotion_request)
    list_promotion_requests = forward(Promotions.list_promotion_requests)

    # -- bundles and keys -----------------------------------------------------------------
    create_key = forward(Bundles.create_key)
    trust_key = forward(Bundles.trust_key)
    list_keys = forward(Bundles.list_keys)
    write_bundle = forward(Bundles.write_bundle)

    def export_bundle(self, ref: str, path: str | Path, *, key: str) -> dict[str, Any]:
        """Write the signed bundle of ``ref`` to ``path`` (complete, or not at all)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.part")
        try:
            with open(tmp, "wb") as out:
                info = self.write_bundle(ref, out, key=key)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return info

    def import_bundle(
        self, source: str | Path | IO[bytes], *, environment: str | None = None
    ) -> ImportResult:
        """Verify and import a bundle (a file or a binary stream); importing it again
        reports the existing version."""
        if not isinstance(source, str | Path):
            return self.api.bundles.import_bundle(source, environment=environment)
        path = Path(source)
        if not path.is_file():
            raise InvalidInput(f"no such file: {str(path)!r}")
        with open(path, "rb") as fh:
            return self.api.bundles.import_bundle(fh, environment=environment)

    # -- scoring elsewhere ----------------------------------------------------------------
    serving_states = forward(Edge.serving_states)
    serving_changes = forward(Edge.serving_changes)
    serving_manifest = forward(Edge.serving_manifest)
    write_serving_file = forward(Edge.write_serving_file)
    write_edge = forward(Edge.write_edge)
    upload_collected = forward(Edge.upload_collected)
    kubernetes_manifests = forward(Edge.kubernetes_manifests)

    def render_kubernetes(
        self,
        deployment: str,
        folder: str | Path,
        *,
        image: str | None = None,
        server: str | None = None,
    ) -> dict[str, Any]:
        """Write ``deployment``'s Kubernetes manifests into ``folder`` (new or empty), for
        ``kubectl apply -k FOLDER``."""
        from modelyard.sdk import edge

        found = self.kubernetes_manifests(deployment, image=image, server=server)
        edge.write_files(Path(folder), found["files"])
        return found

    def export_edge(self, deployment: str, folder: str | Path, *, key: str) -> dict[str, Any]:
        """Write the signed edge export of ``deployment`` into ``folder`` (new or empty),
        verified: ``modelyard serve FOLDER`` serves it offline."""
        from modelyard.sdk import edge

        return edge.export_to(lambda out: self.write_edge(deployment, out, key=key), Path(folder))

    def image_context(self, deployment: str, folder: str | Path, *, key: str) -> dict[str, Any]:
        """Write a container build context for ``deployment`` into ``folder``."""
        from modelyard.sdk import edge

        return edge.image_to(lambda out: self.write_edge(deployment, out, key=key), Path(folder))

    def sync_edge(self, folder: str | Path) -> dict[str, Any]:
        """Send the rows an edge export scored (those not sent before) to this server."""
        from modelyard.sdk import edge

        return edge.sync(self.upload_collected, Path(folder))

    # -- experiments ----------------------------------------------------------------------
    record_run = forward(Experiments.record_run)
    list_experiment_runs = forward(Experiments.list_experiment_runs)

    # -- users, tokens, webhooks, operations ----------------------------------------------
    whoami = forward(Access.whoami)
    create_user = forward(Access.create_user)
    list_users = forward(Access.list_users)
    grant = forward(Access.grant)
    revoke = forward(Access.revoke)
    create_token = forward(Access.create_token)
    list_tokens = forward(Access.list_tokens)
    revoke_token = forward(Access.revoke_token)
    create_webhook = forward(Webhooks.create_webhook)
    list_webhooks = forward(Webhooks.list_webhooks)
    get_webhook = forward(Webhooks.get_webhook)
    delete_webhook = forward(Webhooks.delete_webhook)
    list_webhook_deliveries = forward(Webhooks.list_webhook_deliveries)
    test_webhook = forward(Webhooks.test_webhook)
    doctor = forward(Operations.doctor)
    audit = forward(Operations.audit)
