"""The registry's entities as plain, immutable values (no ORM, no I/O).

Each is also its JSON shape on the wire (``modelyard.wire``): pydantic reads the fields,
and ``computed_field`` adds a derived value (``ref``) to what is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import computed_field

from modelyard.domain.reports import Json, Signature

T = TypeVar("T")

VersionStatus = Literal["ready", "archived"]


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    description: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Model:
    environment: str
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_version: int | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def full_name(self) -> str:
        return f"{self.environment}/{self.name}"


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a version came from."""

    datasets: tuple[str, ...] = ()
    source: str | None = None
    git_commit: str | None = None
    promoted_from: str | None = None
    compiled_from: str | None = None  # the version this is a compiled (ONNX) copy of


@dataclass(frozen=True, slots=True)
class ModelVersion:
    environment: str
    name: str
    version: int
    package_digest: str
    flavor: str
    signature: Signature | None
    requirements: tuple[str, ...]
    size_bytes: int
    status: VersionStatus
    description: str
    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    aliases: tuple[str, ...]
    lineage: Lineage
    created_by: str
    created_at: datetime
    locked: bool = False  # imported from a signed bundle: metadata not editable here

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ref(self) -> str:
        return f"{self.environment}/{self.name}:{self.version}"


@dataclass(frozen=True, slots=True)
class AliasChange:
    environment: str
    name: str
    alias: str
    version: int | None
    previous_version: int | None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    time: datetime
    actor: str
    action: str
    subject: str
    before: dict[str, Json] | None  # the subject as it was, as it became
    after: dict[str, Json] | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class DoctorFinding:
    severity: Literal["error", "warning", "info"]
    kind: str
    subject: str
    message: str


@dataclass(frozen=True, slots=True)
class DoctorReport:
    findings: list[DoctorFinding] = field(default_factory=list)
    versions_checked: int = 0
    objects_checked: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)
