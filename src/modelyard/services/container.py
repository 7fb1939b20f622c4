"""Build every service from one ``Settings``; the CLI, the SDK and the server share this."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from modelyard.artifacts.store import ArtifactStore, open_store
from modelyard.domain.auth import Principal
from modelyard.domain.entities import AuditEvent
from modelyard.services.alerts import AlertService
from modelyard.services.auth import AuthService, require_admin
from modelyard.services.bundles import BundleService
from modelyard.services.datasets import DatasetService
from modelyard.services.deployments import DeploymentService
from modelyard.services.doctor import DoctorService
from modelyard.services.evaluations import EvaluationService
from modelyard.services.experiments import ExperimentService
from modelyard.services.monitoring import MonitoringService
from modelyard.services.packages import PackageService
from modelyard.services.promotions import PromotionService
from modelyard.services.registry import RegistryService
from modelyard.services.webhooks import WebhookService
from modelyard.settings import Settings
from modelyard.store import audit, migrate
from modelyard.store.database import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    artifacts: ArtifactStore
    packages: PackageService
    registry: RegistryService
    doctor: DoctorService
    auth: AuthService
    webhooks: WebhookService
    deployments: DeploymentService
    datasets: DatasetService
    monitoring: MonitoringService
    alerts: AlertService
    evaluations: EvaluationService
    promotions: PromotionService
    bundles: BundleService
    experiments: ExperimentService

    @classmethod
    def open(cls, settings: Settings) -> Services:
        home = settings.resolved_home
        home.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url)
        try:
            migrate.upgrade(db, home)
            artifacts = open_store(settings.artifacts_url, settings.artifacts_options)
        except BaseException:
            db.dispose()
            raise
        packages = PackageService(artifacts, home / "tmp", settings.cache_dir)
        registry = RegistryService(db, packages, settings.environment)
        datasets = DatasetService(db, artifacts, home / "tmp", settings.environment)
        registry.datasets = datasets
        deployments = DeploymentService(db, registry)
        monitoring = MonitoringService(
            db, registry, deployments, datasets, settings.collected_dir, settings.feedback_dir
        )
        evaluations = EvaluationService(db, registry, datasets)
        return cls(
            settings=settings,
            db=db,
            artifacts=artifacts,
            packages=packages,
            registry=registry,
            doctor=DoctorService(db, artifacts),
            auth=AuthService(db),
            webhooks=WebhookService(db),
            deployments=deployments,
            datasets=datasets,
            monitoring=monitoring,
            alerts=AlertService(db, deployments, monitoring),
            evaluations=evaluations,
            promotions=PromotionService(db, registry, evaluations),
            experiments=ExperimentService(db, settings.environment),
            bundles=BundleService(
                db, registry, datasets, evaluations, artifacts, home, settings.bundle_max_bytes
            ),
        )

    @property
    def local_actor(self) -> str:
        """The embedded home's single local admin."""
        if self.settings.actor:
            return self.settings.actor
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "local"

    def audit_events(
        self,
        *,
        by: Principal,
        subject_prefix: str | None = None,
        action: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditEvent]:
        require_admin(by, "read the audit log")
        with self.db.read() as session:
            return audit.list_events(
                session,
                subject_prefix=subject_prefix,
                action=action,
                after_seq=after_seq,
                limit=limit,
            )

    def ping_database(self) -> None:
        with self.db.read() as session:
            from modelyard.store.registry import list_environments

            list_environments(session)

    def close(self) -> None:
        self.db.dispose()
