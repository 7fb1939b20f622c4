"""Request and response bodies of the control plane, as pydantic models (the OpenAPI schema).

Responses are built from domain entities with ``from_entity``; nothing here holds rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from modelyard.domain import auth as auth_domain
from modelyard.domain import entities
from modelyard.domain.names import KEY_PATTERN

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
TagValue = Annotated[str, StringConstraints(max_length=5000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable error code, e.g. not_found.")
    message: str = Field(description="One line saying what is wrong.")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


#: The OpenAPI request body of a route that takes raw bytes (an upload, a bundle).
BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "required": True,
    }
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": "error"} for s in statuses}


# -- registry ----------------------------------------------------------------------------


class LineageOut(BaseModel):
    datasets: list[str]
    source: str | None
    git_commit: str | None
    promoted_from: str | None


class VersionOut(BaseModel):
    ref: str
    environment: str
    name: str
    version: int
    package_digest: str
    flavor: str
    signature: dict[str, Any] | None
    requirements: list[str]
    size_bytes: int
    status: Literal["ready", "archived"]
    description: str
    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    aliases: list[str]
    lineage: LineageOut
    created_by: str
    created_at: datetime
    locked: bool = False

    @classmethod
    def from_entity(cls, v: entities.ModelVersion) -> VersionOut:
        return cls(
            ref=v.ref,
            environment=v.environment,
            name=v.name,
            version=v.version,
            package_digest=v.package_digest,
            flavor=v.flavor,
            signature=v.signature,
            requirements=list(v.requirements),
            size_bytes=v.size_bytes,
            status=v.status,
            description=v.description,
            tags=v.tags,
            metrics=v.metrics,
            params=v.params,
            aliases=list(v.aliases),
            lineage=LineageOut(
                datasets=list(v.lineage.datasets),
                source=v.lineage.source,
                git_commit=v.lineage.git_commit,
                promoted_from=v.lineage.promoted_from,
            ),
            created_by=v.created_by,
            created_at=v.created_at,
            locked=v.locked,
        )


class ModelOut(BaseModel):
    full_name: str
    environment: str
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_version: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_entity(cls, m: entities.Model) -> ModelOut:
        return cls(
            full_name=m.full_name,
            environment=m.environment,
            name=m.name,
            description=m.description,
            tags=m.tags,
            aliases=m.aliases,
            latest_version=m.latest_version,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class ModelDetailOut(BaseModel):
    model: ModelOut
    versions: list[VersionOut]


class VersionPage(BaseModel):
    items: list[VersionOut]
    next_page_token: str | None


class SearchIn(Strict):
    filter: str = Field(default="", max_length=10_000, description="Filter expression.")
    order_by: list[str] = Field(default_factory=list, max_length=10)
    max_results: int = Field(default=100, ge=1, le=1000)
    page_token: str | None = Field(default=None, max_length=1000)
    environment: str | None = Field(default=None, max_length=128)


class AliasIn(Strict):
    version: int = Field(ge=1, le=2**31 - 1)


class AliasChangeOut(BaseModel):
    environment: str
    name: str
    alias: str
    version: int | None
    previous_version: int | None

    @classmethod
    def from_entity(cls, c: entities.AliasChange) -> AliasChangeOut:
        return cls(
            environment=c.environment,
            name=c.name,
            alias=c.alias,
            version=c.version,
            previous_version=c.previous_version,
        )


class TagsIn(Strict):
    set: dict[Key, TagValue] = Field(default_factory=dict, description="Tags to set.")
    remove: list[Key] = Field(default_factory=list, description="Tag keys to remove.")


class ModelUpdateIn(TagsIn):
    description: str | None = Field(default=None, max_length=10_000)


class MetricsIn(Strict):
    metrics: dict[Key, Annotated[float, Field(allow_inf_nan=False)]]


class ArchiveIn(Strict):
    restore: bool = False


# -- operations --------------------------------------------------------------------------


class AuditEventOut(BaseModel):
    seq: int
    time: datetime
    actor: str
    action: str
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str

    @classmethod
    def from_entity(cls, e: entities.AuditEvent) -> AuditEventOut:
        return cls(
            seq=e.seq,
            time=e.time,
            actor=e.actor,
            action=e.action,
            subject=e.subject,
            before=e.before,
            after=e.after,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


class FindingOut(BaseModel):
    severity: Literal["error", "warning", "info"]
    kind: str
    subject: str
    message: str


class DoctorOut(BaseModel):
    ok: bool
    versions_checked: int
    objects_checked: int
    findings: list[FindingOut]

    @classmethod
    def from_entity(cls, r: entities.DoctorReport) -> DoctorOut:
        return cls(
            ok=r.ok,
            versions_checked=r.versions_checked,
            objects_checked=r.objects_checked,
            findings=[
                FindingOut(severity=f.severity, kind=f.kind, subject=f.subject, message=f.message)
                for f in r.findings
            ],
        )


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


# -- users and tokens --------------------------------------------------------------------


class UserIn(Strict):
    name: str = Field(min_length=1, max_length=128)
    is_admin: bool = False


class UserOut(BaseModel):
    name: str
    is_admin: bool
    disabled: bool
    roles: dict[str, list[str]]
    created_at: datetime

    @classmethod
    def from_entity(cls, u: auth_domain.User) -> UserOut:
        return cls(
            name=u.name,
            is_admin=u.is_admin,
            disabled=u.disabled,
            roles={env: list(r) for env, r in u.roles.items()},
            created_at=u.created_at,
        )


class GrantIn(Strict):
    environment: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=16)


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=128)
    user: str | None = Field(default=None, max_length=128)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    user: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_entity(cls, t: auth_domain.Token) -> TokenOut:
        return cls(
            id=t.id,
            user=t.user,
            name=t.name,
            prefix=t.prefix,
            created_at=t.created_at,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
            revoked_at=t.revoked_at,
        )


class IssuedTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(description="The token itself. Shown once: store it now.")


class WhoAmI(BaseModel):
    name: str
    is_admin: bool
    roles: dict[str, list[str]]
