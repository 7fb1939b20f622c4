"""Tables of the metadata store, one module per aggregate. Every constraint is named;
Alembic migrates them (``Base.metadata`` holds every table once this package is imported)."""

from __future__ import annotations

from modelyard.domain.clock import utcnow
from modelyard.store.tables.alerts import AlertRow, AlertRuleRow
from modelyard.store.tables.audit import AuditEventRow, AuditHeadRow
from modelyard.store.tables.auth import RoleBindingRow, TokenRow, UserRow
from modelyard.store.tables.base import Base, UTCDateTime, core
from modelyard.store.tables.bundles import BundleImportRow, InstallationRow, TrustedKeyRow
from modelyard.store.tables.datasets import DatasetRow, DatasetVersionRow, VersionBaselineRow
from modelyard.store.tables.deployments import (
    DeploymentRow,
    RevisionRow,
    RevisionVariantRow,
    ServingChangeRow,
    ServingWorkerRow,
)
from modelyard.store.tables.evaluations import EvaluationRow
from modelyard.store.tables.experiments import ExperimentRunRow
from modelyard.store.tables.jobs import BatchJobRow, BatchJobRunRow
from modelyard.store.tables.monitoring import MonitoringReportRow
from modelyard.store.tables.promotions import PromotionRequestRow
from modelyard.store.tables.registry import (
    AliasRow,
    EnsembleMemberRow,
    EnvironmentRow,
    ModelRow,
    ModelTagRow,
    ModelVersionRow,
    PackageRow,
    VersionDatasetRow,
    VersionMetricRow,
    VersionParamRow,
    VersionTagRow,
)
from modelyard.store.tables.webhooks import WebhookDeliveryRow, WebhookOutboxRow, WebhookRow

__all__ = [
    "AlertRow",
    "AlertRuleRow",
    "AliasRow",
    "AuditEventRow",
    "AuditHeadRow",
    "Base",
    "BatchJobRow",
    "BatchJobRunRow",
    "BundleImportRow",
    "DatasetRow",
    "DatasetVersionRow",
    "DeploymentRow",
    "EnsembleMemberRow",
    "EnvironmentRow",
    "EvaluationRow",
    "ExperimentRunRow",
    "InstallationRow",
    "ModelRow",
    "ModelTagRow",
    "ModelVersionRow",
    "MonitoringReportRow",
    "PackageRow",
    "PromotionRequestRow",
    "RevisionRow",
    "RevisionVariantRow",
    "RoleBindingRow",
    "ServingChangeRow",
    "ServingWorkerRow",
    "TokenRow",
    "TrustedKeyRow",
    "UTCDateTime",
    "UserRow",
    "VersionBaselineRow",
    "VersionDatasetRow",
    "VersionMetricRow",
    "VersionParamRow",
    "VersionTagRow",
    "WebhookDeliveryRow",
    "WebhookOutboxRow",
    "WebhookRow",
    "core",
    "utcnow",
]
