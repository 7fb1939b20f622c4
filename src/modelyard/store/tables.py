"""Tables of the metadata store. Every constraint is named; Alembic migrates them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


class EnvironmentRow(Base):
    __tablename__ = "environments"

    name: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # what a promotion into this environment must pass (see domain/promotions.py)
    gates: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (sa.UniqueConstraint("environment", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(sa.String(128))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # The last version number handed out; bumped by an UPDATE ... RETURNING in the same
    # transaction that inserts the version, so numbers are gap-free under concurrency.
    last_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelTagRow(Base):
    __tablename__ = "model_tags"

    model_id: Mapped[int] = mapped_column(
        sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class PackageRow(Base):
    """A package known to the store. ``pending`` until a version that uses it commits."""

    __tablename__ = "packages"
    __table_args__ = (sa.CheckConstraint("state in ('pending', 'ready')", name="state"),)

    digest: Mapped[str] = mapped_column(sa.String(71), primary_key=True)  # "sha256:<64 hex>"
    manifest: Mapped[str] = mapped_column(sa.Text)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    file_count: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        sa.UniqueConstraint("model_id", "version"),
        sa.CheckConstraint("status in ('ready', 'archived')", name="status"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_model_versions_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("models.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column()
    package_digest: Mapped[str] = mapped_column(
        sa.String(71), sa.ForeignKey("packages.digest", ondelete="RESTRICT"), index=True
    )
    flavor: Mapped[str] = mapped_column(sa.String(64))
    signature: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    requirements: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default="ready")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    git_commit: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    promoted_from: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    # imported from a signed bundle: its package and metadata cannot be edited here
    locked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VersionTagRow(Base):
    __tablename__ = "version_tags"
    __table_args__ = (sa.Index("ix_version_tags_key_value", "key", "value"),)

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(5000))


class VersionMetricRow(Base):
    __tablename__ = "version_metrics"
    __table_args__ = (sa.Index("ix_version_metrics_key_value", "key", "value"),)

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[float] = mapped_column(sa.Float)


class VersionParamRow(Base):
    __tablename__ = "version_params"
    __table_args__ = (sa.Index("ix_version_params_key_value", "key", "value"),)

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(5000))


class VersionDatasetRow(Base):
    """Lineage: the dataset versions a model version was trained or evaluated on."""

    __tablename__ = "version_datasets"

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    dataset: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), default="training")


class AliasRow(Base):
    __tablename__ = "aliases"
    __table_args__ = (sa.Index("ix_aliases_alias", "alias"),)

    model_id: Mapped[int] = mapped_column(
        sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="RESTRICT"), index=True
    )
    previous_version: Mapped[int | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(200))


class AuditHeadRow(Base):
    """One row: the last audit sequence number and hash. Updating it serialises writers."""

    __tablename__ = "audit_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_subject", "subject"),
        sa.Index("ix_audit_events_time", "time"),
    )

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(100))
    subject: Mapped[str] = mapped_column(sa.String(400))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    is_admin: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TokenRow(Base):
    """An API token: only the sha256 of the secret is kept."""

    __tablename__ = "tokens"
    __table_args__ = (sa.UniqueConstraint("secret_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RoleBindingRow(Base):
    __tablename__ = "role_bindings"
    __table_args__ = (
        sa.CheckConstraint(
            "role in ('viewer', 'developer', 'deployer', 'approver', 'admin')", name="role"
        ),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(16), primary_key=True)


class WebhookRow(Base):
    """A subscription: events matching ``events`` (and ``environment``) are POSTed to ``url``."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.Text)
    secret: Mapped[str] = mapped_column(sa.String(128))
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    environment: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookOutboxRow(Base):
    """An event waiting for (or done with) delivery to one subscription. Written in the
    transaction of the change it reports, so an accepted event survives a crash."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_seq"),
        sa.Index("ix_webhook_outbox_due", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_seq: Mapped[int] = mapped_column(sa.BigInteger)
    event_type: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # a dispatcher claims a row until then, so several server workers never send it twice
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class WebhookDeliveryRow(Base):
    """One delivery attempt, for the delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_outbox.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column()
    status_code: Mapped[int | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    duration_ms: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeploymentRow(Base):
    """A named web service. ``current_revision`` is what serves; scoring keys are hashed."""

    __tablename__ = "deployments"
    __table_args__ = (sa.UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    description: Mapped[str] = mapped_column(sa.Text, default="")
    current_revision: Mapped[int] = mapped_column(default=0)
    last_revision: Mapped[int] = mapped_column(default=0)
    primary_key_hash: Mapped[str] = mapped_column(sa.String(64))
    primary_key_prefix: Mapped[str] = mapped_column(sa.String(16))
    primary_key_created_at: Mapped[datetime] = mapped_column(default=utcnow)
    secondary_key_hash: Mapped[str] = mapped_column(sa.String(64))
    secondary_key_prefix: Mapped[str] = mapped_column(sa.String(16))
    secondary_key_created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RevisionRow(Base):
    """An immutable revision: its variants and serving options as JSON."""

    __tablename__ = "deployment_revisions"
    __table_args__ = (
        sa.UniqueConstraint("deployment_id", "number"),
        sa.CheckConstraint("action in ('create', 'update', 'rollback')", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(sa.ForeignKey("deployments.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    variants: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    options: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    action: Mapped[str] = mapped_column(sa.String(16))
    rolled_back_to: Mapped[int | None] = mapped_column(nullable=True)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RevisionVariantRow(Base):
    """Which model versions a revision pins: lets the registry refuse to delete or archive a
    version that a deployment's current revision serves."""

    __tablename__ = "revision_variants"

    revision_id: Mapped[int] = mapped_column(
        sa.ForeignKey("deployment_revisions.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DatasetRow(Base):
    __tablename__ = "datasets"
    __table_args__ = (sa.UniqueConstraint("environment", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(sa.String(128))
    last_version: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersionRow(Base):
    """An immutable dataset version: a file in the artifact store, its schema and profile."""

    __tablename__ = "dataset_versions"
    __table_args__ = (sa.UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(sa.ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    digest: Mapped[str] = mapped_column(sa.String(80), index=True)
    format: Mapped[str] = mapped_column(sa.String(16))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    columns: Mapped[list[list[str]]] = mapped_column(sa.JSON)
    profile: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text, default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VersionBaselineRow(Base):
    """A model version's baseline: the profile of its training data and of its predictions
    on that data, what monitoring compares production against."""

    __tablename__ = "version_baselines"

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    dataset: Mapped[str] = mapped_column(sa.String(300))
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    profile: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MonitoringReportRow(Base):
    """A stored monitoring report: its summary numbers (for trends) and the whole report."""

    __tablename__ = "monitoring_reports"
    __table_args__ = (sa.Index("ix_monitoring_reports_deployment_id", "deployment", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment: Mapped[str] = mapped_column(sa.String(128))
    environment: Mapped[str] = mapped_column(sa.String(128))
    since: Mapped[datetime] = mapped_column()
    until: Mapped[datetime] = mapped_column()
    reference: Mapped[str] = mapped_column(sa.String(200))
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    report: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRuleRow(Base):
    """A rule the server's scheduler evaluates every ``every_seconds`` over the last
    ``window_seconds``; ``next_run_at`` is claimed with a guarded UPDATE, so one worker runs it."""

    __tablename__ = "alert_rules"
    __table_args__ = (sa.UniqueConstraint("deployment_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(sa.ForeignKey("deployments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(128))
    signal: Mapped[str] = mapped_column(sa.String(64))
    feature: Mapped[str | None] = mapped_column(sa.String(250), nullable=True)
    op: Mapped[str] = mapped_column(sa.String(2))
    threshold: Mapped[float] = mapped_column(sa.Float)
    window_seconds: Mapped[int] = mapped_column()
    every_seconds: Mapped[int] = mapped_column()
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRow(Base):
    """One firing of a rule: open while it fires, resolved when the signal clears."""

    __tablename__ = "alerts"
    __table_args__ = (sa.Index("ix_alerts_rule_id_state", "rule_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("alert_rules.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    last_value: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)


class EvaluationRow(Base):
    """A version scored on a dataset version: its metrics, kept with both."""

    __tablename__ = "evaluations"
    __table_args__ = (sa.Index("ix_evaluations_version_id", "version_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("model_versions.id", ondelete="CASCADE"))
    dataset: Mapped[str] = mapped_column(sa.String(300), index=True)
    label: Mapped[str] = mapped_column(sa.String(250))
    kind: Mapped[str] = mapped_column(sa.String(16))  # classification | regression
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromotionRequestRow(Base):
    """A request to copy a version into another environment, with its gates' results and
    approvals; ``state``: pending, blocked (a gate failed), rejected, promoted."""

    __tablename__ = "promotion_requests"
    __table_args__ = (sa.Index("ix_promotion_requests_state", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(300))  # env/name:version
    source_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True
    )
    target_environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    state: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    gates: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    required_approvals: Mapped[int] = mapped_column(default=0)
    requested_by: Mapped[str] = mapped_column(sa.String(200))
    decided_by: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    decision_comment: Mapped[str] = mapped_column(sa.Text, default="")
    result: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstallationRow(Base):
    """One row: this installation's identity, named in the bundles it exports."""

    __tablename__ = "installation"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    installation_id: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrustedKeyRow(Base):
    """A public Ed25519 key whose bundles this installation imports."""

    __tablename__ = "trusted_keys"
    __table_args__ = (sa.UniqueConstraint("name"), sa.UniqueConstraint("key_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    key_id: Mapped[str] = mapped_column(sa.String(64))
    public_key: Mapped[str] = mapped_column(sa.String(128))  # base64 of the 32 raw bytes
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BundleImportRow(Base):
    """A bundle imported here (by the sha256 of its signed metadata): importing it again
    reports this version and writes nothing."""

    __tablename__ = "bundle_imports"

    bundle_digest: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(sa.String(400))
    key_id: Mapped[str] = mapped_column(sa.String(64))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExperimentRunRow(Base):
    """One training run of an experiment: its parameters, the fingerprint of the data it
    saw, and its metrics on the holdout."""

    __tablename__ = "experiment_runs"
    __table_args__ = (sa.Index("ix_experiment_runs_experiment", "environment", "experiment", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("environments.name", ondelete="RESTRICT")
    )
    experiment: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(300))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    data_fingerprint: Mapped[str] = mapped_column(sa.String(80))
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def core(row: type[Base]) -> sa.Table:
    """The Core table behind a mapped class: hot paths skip the ORM's per-statement work."""
    table = row.__table__
    assert isinstance(table, sa.Table)
    return table
