"""One typed settings object, read from ``MODELYARD_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting modelyard reads. Each is documented in ``docs/configuration.md``."""

    model_config = SettingsConfigDict(env_prefix="MODELYARD_", extra="ignore")

    home: Path = Field(
        default=Path(".modelyard"),
        description="Folder holding the SQLite database, the local artifact store and caches.",
    )
    db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database, e.g. "
        "postgresql+psycopg://user@host/db. Default: SQLite file in the home.",
    )
    db_timeout: float = Field(
        default=10.0,
        ge=1,
        le=3600,
        description="Seconds a PostgreSQL statement may run, and (up to 5) connecting may "
        "take, before the call fails with 503: also when the server is frozen, not down.",
    )
    artifacts: str | None = Field(
        default=None,
        description="fsspec URL of the artifact store, e.g. s3://bucket/prefix. "
        "Default: the home's artifacts/ folder.",
    )
    artifacts_options: dict[str, Any] = Field(
        default_factory=dict,
        description="JSON object of fsspec storage options for the artifact store "
        '(e.g. {"endpoint_url": "http://127.0.0.1:9000"}).',
    )
    url: str | None = Field(
        default=None, description="URL of a modelyard server: the CLI and SDK then act remotely."
    )
    token: SecretStr | None = Field(default=None, description="API token for the server.")
    environment: str = Field(
        default="sandbox", description="Environment used when a reference names none."
    )
    auth: bool = Field(
        default=True,
        description="Require API tokens on the server. false is accepted only when the server "
        "listens on a loopback address.",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Token of the admin created on a server's first start (for CI and "
        "scripts); without it a token is generated and printed once.",
    )
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8600, description="Port the server listens on.")
    workers: int = Field(default=1, description="Server worker processes.")
    bundle_max_bytes: int = Field(
        default=16 << 30,
        gt=0,
        description="Largest bundle an import unpacks (all members together, decompressed).",
    )
    alert_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="How often each server worker looks for alert rules that are due.",
    )
    job_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="How often each server worker looks for batch jobs that are due.",
    )
    job_roots: str = Field(
        default="",
        description="Space-separated folders or URL prefixes (s3://bucket/prefix/) that batch "
        "jobs may read their input from and write their output to. Default: the home's "
        "jobs/ folder only.",
    )
    job_databases: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object naming the SQL databases batch jobs may write tables to: "
        '{"bi": "postgresql+psycopg://writer@warehouse/analytics"}. A job names one as '
        "--table bi:TABLE, so no job holds credentials.",
    )
    max_body_bytes: int = Field(
        default=16 << 20,
        ge=1024,
        description="Largest control-plane request body (JSON metadata, a package manifest "
        "of up to 10 MiB among them); larger ones are "
        "answered 413 unread. Scoring, dataset and bundle uploads have their own limits.",
    )
    max_upload_bytes: int = Field(
        default=8 << 30,
        ge=1024,
        description="Largest dataset upload (CSV or Parquet), spooled to disk as it arrives.",
    )
    request_head_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Seconds a request head may take to arrive, from its connection's "
        "opening or its first byte; past it the server closes the connection.",
    )
    request_idle_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Longest pause between two reads of a request body before the server "
        "closes the connection.",
    )
    webhook_allow: str = Field(
        default="",
        description="Comma-separated address ranges (CIDR) webhooks may reach although they "
        "are not public, e.g. 10.20.0.0/16 for a receiver on the internal network. "
        "Loopback, link-local, private and other non-public addresses are refused otherwise.",
    )
    public_metrics: bool = Field(
        default=False,
        description="Serve /metrics without credentials (it names deployments and model "
        "versions), for a scraper that cannot send a token.",
    )
    auth_failures_per_minute: int = Field(
        default=30,
        ge=1,
        description="Failed authentications one client address may make per minute, per "
        "server worker; beyond it every attempt from that address is answered 429 until the "
        "minute has passed.",
    )
    retention_days: int = Field(
        default=400,
        ge=1,
        le=36_500,
        description="How far back monitoring reports and alert rules read collected rows "
        "(a window that starts earlier is refused).",
    )
    poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="How often each server worker checks for new deployment revisions and keys.",
    )
    model_threads: int | None = Field(
        default=None,
        ge=1,
        description="Native threads (OpenMP, BLAS) per server worker for model calls. "
        "Default 1: online calls score a few rows, and workers must not oversubscribe the "
        "cores; add workers to use more cores.",
    )
    index_url: str | None = Field(
        default=None,
        description="Package index that model environments are built from. Default: the "
        "indexes pip is configured with on this machine (pip config list), else PyPI.",
    )
    extra_index_urls: str = Field(
        default="", description="More package indexes for model environments, space-separated."
    )
    find_links: str = Field(
        default="",
        description="Folders or pages of wheels for model environments, space-separated.",
    )
    wheel_cache: Path | None = Field(
        default=None,
        description="Where edge exports keep the wheels they carry (shared by every home of "
        "this user). Default: $XDG_CACHE_HOME/modelyard/wheels, else ~/.cache/modelyard/wheels.",
    )
    actor: str | None = Field(
        default=None,
        description="Name recorded as the actor of embedded changes. Default: the OS user.",
    )

    @property
    def resolved_wheel_cache(self) -> Path:
        if self.wheel_cache is not None:
            return self.wheel_cache.expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "modelyard" / "wheels"

    @field_validator("webhook_allow")
    @classmethod
    def _ranges(cls, value: str) -> str:
        import ipaddress

        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"{part.strip()!r} is not an address range (CIDR)") from None
        return value

    @property
    def resolved_job_roots(self) -> list[str]:
        """Where batch jobs may read and write: folders resolved, URL prefixes as given."""
        given = self.job_roots.split() or [str(self.resolved_home / "jobs")]
        return [p if "://" in p else str(Path(p).expanduser().resolve()) for p in given]

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.resolved_home / 'modelyard.db'}"

    @property
    def artifacts_url(self) -> str:
        return self.artifacts or str(self.resolved_home / "artifacts")

    @property
    def collected_url(self) -> str:
        """Where scored rows are kept (and, beside them, feedback): next to the artifacts
        when an artifact store is set, so every node of a server reads every node's rows;
        in the home otherwise."""
        if self.artifacts:
            return self.artifacts.rstrip("/") + "/collected"
        return str(self.resolved_home / "collected")

    @property
    def cache_dir(self) -> Path:
        return self.resolved_home / "cache"
