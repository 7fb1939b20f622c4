"""One caller's view of every service: the embedded implementation of ``contracts.Api``.

Services are made on first use, in dependency order, each bound to the caller's
principal; binding costs a few object creations, so the server binds per request.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from modelyard.domain.auth import Principal
from modelyard.services.alerts import SCHEDULER, AlertService
from modelyard.services.auth import AccessService
from modelyard.services.bundles import BundleService
from modelyard.services.datasets import DatasetService
from modelyard.services.deployments import DeploymentService, serving_dependents
from modelyard.services.edge import EdgeService
from modelyard.services.egress import Egress
from modelyard.services.ensembles import ensemble_dependents
from modelyard.services.evaluations import EvaluationService
from modelyard.services.experiments import ExperimentService
from modelyard.services.job_runs import Places
from modelyard.services.jobs import JobService
from modelyard.services.monitoring import MonitoringService
from modelyard.services.operations import OperationsService
from modelyard.services.promotions import PromotionService
from modelyard.services.registry import RegistryService
from modelyard.services.versions import VersionWriter
from modelyard.services.webhooks import WebhookService

if TYPE_CHECKING:
    from modelyard.services.container import Services


class Scope:
    def __init__(self, services: Services, principal: Principal) -> None:
        self.services = services
        self.principal = principal

    @property
    def _default_environment(self) -> str:
        return self.services.settings.environment

    @cached_property
    def datasets(self) -> DatasetService:
        s = self.services
        return DatasetService(
            s.store,
            s.artifacts,
            s.home / "tmp",
            self._default_environment,
            self.principal,
        )

    @cached_property
    def versions(self) -> VersionWriter:
        s = self.services
        return VersionWriter(
            s.store,
            s.packages,
            s.packager,
            s.manifests,
            self.datasets,
            s.models,
            self._default_environment,
            self.principal,
        )

    @cached_property
    def registry(self) -> RegistryService:
        return RegistryService(
            self.services.store,
            self.versions,
            self._default_environment,
            self.principal,
            dependents=(serving_dependents, ensemble_dependents),
        )

    @cached_property
    def deployments(self) -> DeploymentService:
        return DeploymentService(
            self.services.store,
            self.registry,
            self.services.scorers,
            self.services.models,
            self.principal,
        )

    @cached_property
    def monitoring(self) -> MonitoringService:
        s = self.services
        return MonitoringService(
            s.store,
            self.registry,
            self.deployments,
            self.datasets,
            s.collected,
            s.feedback,
            self.principal,
            timedelta(days=s.settings.retention_days),
        )

    @cached_property
    def alerts(self) -> AlertService:
        return AlertService(self.services.store, self.deployments, self.monitoring, self.principal)

    @cached_property
    def jobs(self) -> JobService:
        s = self.services
        places = Places(
            s.settings.resolved_job_roots, s.settings.artifacts_options, s.settings.job_databases
        )
        runner = self if self.principal == SCHEDULER else s.bind(SCHEDULER)
        return JobService(s.store, self.deployments, places, runner, self.principal)

    @cached_property
    def evaluations(self) -> EvaluationService:
        s = self.services
        return EvaluationService(s.store, self.registry, self.datasets, s.models, self.principal)

    @cached_property
    def promotions(self) -> PromotionService:
        return PromotionService(self.services.store, self.registry, self.principal)

    @cached_property
    def bundles(self) -> BundleService:
        s = self.services
        return BundleService(
            s.store,
            self.registry,
            self.datasets,
            self.evaluations,
            s.artifacts,
            s.home,
            self.principal,
            s.settings.bundle_max_bytes,
        )

    @cached_property
    def experiments(self) -> ExperimentService:
        return ExperimentService(self.services.store, self._default_environment, self.principal)

    @cached_property
    def access(self) -> AccessService:
        s = self.services
        return AccessService(s.store, self.principal, forget=s.authenticator.forget)

    @cached_property
    def webhooks(self) -> WebhookService:
        egress = Egress.from_text(self.services.settings.webhook_allow)
        return WebhookService(self.services.store, self.principal, egress)

    @cached_property
    def operations(self) -> OperationsService:
        return OperationsService(self.services.store, self.services.artifacts, self.principal)

    @cached_property
    def edge(self) -> EdgeService:
        from modelyard.services.container import indexes_of

        s = self.services
        return EdgeService(
            s.store,
            s.artifacts,
            s.home,
            s.collected,
            s.settings.resolved_wheel_cache,
            indexes_of(s.settings),
            self.principal,
        )

    def close(self) -> None:
        """A scope owns nothing: the services it came from are closed by their owner."""
