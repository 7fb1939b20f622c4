"""Deployments: a named web service pinning exact model versions, changed only by revisions.

A revision is immutable: its variants (a model version, a weight, live or shadow) and its
serving options. Live weights add up to 100; shadow variants receive a copy of at most
``MAX_SHADOW`` percent of the requests and never answer the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import computed_field

from modelyard.domain.errors import InvalidInput

MAX_SHADOW = 50
KEY_SLOTS = ("primary", "secondary")
VARIANT_SPEC = re.compile(r"^(?P<ref>[^=]+?)(?:=(?P<weight>\d+(?:\.\d+)?))?$")


class Role(StrEnum):
    LIVE = "live"
    SHADOW = "shadow"


class UnseenCategories(StrEnum):
    ALLOW = "allow"  # pass to the model (an encoder with handle_unknown="ignore" copes)
    REJECT = "reject"  # 422 naming the field and the known categories


class NonFinite(StrEnum):
    REJECT = "reject"  # "nan", "inf" as text in a float column: 422 (a missing value is null)
    ALLOW = "allow"  # passed to the model as NaN or infinity


MAX_KEYS = 16
_KEY = re.compile(r"[^,\x00-\x1f]{1,128}")


@dataclass(frozen=True, slots=True)
class ServingOptions:
    """How a revision serves. Defaults favour latency: no added wait, a bounded queue."""

    max_batch_size: int = 256  # rows per model call
    max_wait_ms: float = 0.0  # extra wait to fill a batch once the model is free
    max_queue: int = 1024  # requests waiting per variant before load is shed
    timeout_ms: float = 30_000.0  # a request waiting longer is answered 504
    max_body_bytes: int = 32 * 1024 * 1024
    unseen_categories: UnseenCategories = UnseenCategories.ALLOW
    non_finite: NonFinite = NonFinite.REJECT
    sampling: float = 1.0  # share of scored requests recorded for monitoring
    # what one replica asks of a cluster, and how far it scales (``modelyard k8s render``)
    cpu: float = 1.0  # cores requested per replica
    memory_mb: int = 1024  # memory requested per replica (and its limit)
    min_replicas: int = 1
    max_replicas: int = 4
    # columns that ride along with each row (an invoice id): never given to the model,
    # echoed in answers and batch outputs, kept with collected rows
    keys: tuple[str, ...] = ()
    # when an outcome counts: this many days after scoring, or after the date in
    # ``maturity_column`` (an input or key column); before that a row is pending
    maturity_days: float = 0.0
    maturity_column: str = ""
    # an input or key column holding each row's amount: the money view (``services.money``)
    amount_column: str = ""

    def __post_init__(self) -> None:
        bad_key = next((k for k in self.keys if not _KEY.fullmatch(k)), None)
        checks = [
            (1 <= self.max_batch_size <= 1_000_000, "max_batch_size must be 1..1000000"),
            (0 <= self.max_wait_ms <= 1000, "max_wait_ms must be 0..1000"),
            (1 <= self.max_queue <= 1_000_000, "max_queue must be 1..1000000"),
            (1 <= self.timeout_ms <= 3_600_000, "timeout_ms must be 1..3600000"),
            (1024 <= self.max_body_bytes <= 2**31, "max_body_bytes must be 1 KiB..2 GiB"),
            (0 <= self.sampling <= 1, "sampling must be 0..1"),
            (0.05 <= self.cpu <= 256, "cpu must be 0.05..256 cores"),
            (64 <= self.memory_mb <= 4_194_304, "memory_mb must be 64..4194304"),
            (1 <= self.min_replicas <= 1000, "min_replicas must be 1..1000"),
            (1 <= self.max_replicas <= 1000, "max_replicas must be 1..1000"),
            (
                self.min_replicas <= self.max_replicas,
                f"max_replicas ({self.max_replicas}) must be at least min_replicas "
                f"({self.min_replicas})",
            ),
            (len(self.keys) <= MAX_KEYS, f"at most {MAX_KEYS} key columns"),
            (len(set(self.keys)) == len(self.keys), "a key column is named twice"),
            (bad_key is None, f"invalid key column {bad_key!r}: 1 to 128 characters, no comma"),
            (0 <= self.maturity_days <= 3650, "maturity_days must be 0..3650"),
            (len(self.maturity_column) <= 128, "maturity_column is at most 128 characters"),
            (len(self.amount_column) <= 128, "amount_column is at most 128 characters"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidInput(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_batch_size": self.max_batch_size,
            "max_wait_ms": self.max_wait_ms,
            "max_queue": self.max_queue,
            "timeout_ms": self.timeout_ms,
            "max_body_bytes": self.max_body_bytes,
            "unseen_categories": str(self.unseen_categories),
            "non_finite": str(self.non_finite),
            "sampling": self.sampling,
            "cpu": self.cpu,
            "memory_mb": self.memory_mb,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "keys": list(self.keys),
            "maturity_days": self.maturity_days,
            "maturity_column": self.maturity_column,
            "amount_column": self.amount_column,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ServingOptions:
        data = dict(data or {})
        known = set(cls().to_dict())
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(
                f"unknown serving option {unknown[0]!r}: known are {', '.join(sorted(known))}"
            )
        try:
            if "unseen_categories" in data:
                data["unseen_categories"] = UnseenCategories(data["unseen_categories"])
            if "non_finite" in data:
                data["non_finite"] = NonFinite(data["non_finite"])
            for key in (
                "max_batch_size", "max_queue", "max_body_bytes", "memory_mb", "min_replicas",
                "max_replicas",
            ):  # fmt: skip
                if key in data:
                    data[key] = _int(data[key], key)
            for key in ("max_wait_ms", "timeout_ms", "sampling", "cpu", "maturity_days"):
                if key in data:
                    data[key] = float(data[key])
            if "keys" in data:
                data["keys"] = _names(data["keys"])
            for text in ("maturity_column", "amount_column"):
                if text in data:
                    data[text] = str(data[text]).strip()
        except ValueError as e:
            raise InvalidInput(f"invalid serving option: {e}") from None
        return cls(**data)

    def merged(self, changes: dict[str, Any] | None) -> ServingOptions:
        if not changes:
            return self
        return ServingOptions.from_dict({**self.to_dict(), **changes})


def _names(value: Any) -> tuple[str, ...]:
    """Key columns as a list of names, or one string of names separated by commas."""
    if isinstance(value, str):
        return tuple(n.strip() for n in value.split(",") if n.strip())
    if isinstance(value, list | tuple) and all(isinstance(n, str) for n in value):
        return tuple(value)
    raise ValueError("keys must be a list of column names")


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not float(value).is_integer():
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    return int(value)


@dataclass(frozen=True, slots=True)
class VariantSpec:
    """What a caller asks for: ``payments:3=90``, ``payments@champion``, ``sandbox/x:2``."""

    ref: str
    weight: float | None
    role: Role

    @classmethod
    def parse(cls, text: str, role: Role = Role.LIVE) -> VariantSpec:
        match = VARIANT_SPEC.match(text.strip())
        if not match:
            raise InvalidInput(f"invalid model spec {text!r}: expected NAME:VERSION[=WEIGHT]")
        weight = match["weight"]
        return cls(match["ref"].strip(), float(weight) if weight is not None else None, role)


@dataclass(frozen=True, slots=True)
class Variant:
    """One pinned model version in a revision."""

    name: str  # "payments:3": how responses and the modelyard-variant header name it
    environment: str
    model: str
    version: int
    package_digest: str
    weight: float
    role: Role
    # the row top factors of a model without its own TreeSHAP start from (each input's
    # median or most frequent value in the version's training baseline; None without one)
    explain_reference: dict[str, float | str | None] | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ref(self) -> str:
        return f"{self.environment}/{self.model}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name,
            "environment": self.environment,
            "model": self.model,
            "version": self.version,
            "package_digest": self.package_digest,
            "weight": self.weight,
            "role": str(self.role),
        }
        if self.explain_reference is not None:
            found["explain_reference"] = self.explain_reference
        return found

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variant:
        return cls(
            data["name"],
            data["environment"],
            data["model"],
            int(data["version"]),
            data["package_digest"],
            float(data["weight"]),
            Role(data["role"]),
            data.get("explain_reference"),
        )


def check_variants(variants: list[Variant]) -> list[Variant]:
    """Weights must make sense: live weights total 100 (a lone live variant defaults to 100),
    shadows get at most ``MAX_SHADOW`` percent, a version appears once."""
    live = [v for v in variants if v.role is Role.LIVE]
    if not live:
        raise InvalidInput("a deployment needs at least one live model (--model NAME:VERSION)")
    names = [v.name for v in variants]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise InvalidInput(f"model {duplicate} is listed twice")
    for v in variants:
        if not 0 <= v.weight <= 100:
            raise InvalidInput(f"weight of {v.name} must be 0..100, got {v.weight:g}")
        if v.role is Role.SHADOW and not 0 < v.weight <= MAX_SHADOW:
            raise InvalidInput(
                f"shadow {v.name} must receive 1..{MAX_SHADOW} percent of requests, "
                f"got {v.weight:g}"
            )
    total = sum(v.weight for v in live)
    if abs(total - 100) > 1e-9:
        raise InvalidInput(f"live weights must add up to 100, got {total:g}")
    return variants


def default_weights(specs: list[VariantSpec]) -> list[float]:
    """Live specs without a weight share what the weighted ones leave; a shadow without a
    weight mirrors 10 percent of requests, a cautious default."""
    live = [s for s in specs if s.role is Role.LIVE]
    given = sum(s.weight for s in live if s.weight is not None)
    open_slots = sum(1 for s in live if s.weight is None)
    share = (100 - given) / open_slots if open_slots else 0.0
    out = []
    for s in specs:
        if s.weight is not None:
            out.append(s.weight)
        elif s.role is Role.LIVE:
            out.append(share)
        else:
            out.append(10.0)
    return out


@dataclass(frozen=True, slots=True)
class Revision:
    deployment: str
    number: int
    variants: tuple[Variant, ...]
    options: ServingOptions
    action: str  # create | update | rollback
    rolled_back_to: int | None
    created_by: str
    created_at: datetime

    @property
    def live(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.role is Role.LIVE)

    @property
    def shadows(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.role is Role.SHADOW)


@dataclass(frozen=True, slots=True)
class ScoringKey:
    slot: str
    prefix: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Deployment:
    name: str
    environment: str
    description: str
    revision: Revision
    keys: tuple[ScoringKey, ...]
    created_by: str
    created_at: datetime
    updated_at: datetime
    new_keys: dict[str, str] = field(default_factory=dict)  # secrets, only when just made

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scoring_url(self) -> str:
        return f"/v1/deployments/{self.name}/predict"

    def with_new_keys(self, keys: dict[str, str]) -> Deployment:
        return replace(self, new_keys=keys)


@dataclass(frozen=True, slots=True)
class BatchTarget:
    """What a batch job scores a file with: one live variant of a deployment (a file is
    scored by one version, not split like traffic)."""

    deployment: Deployment
    variant: Variant


#: A server worker reports what it serves when that changes and at least this often.
WORKER_REPORT_SECONDS = 2.0
#: A worker not heard from for this long is gone (killed, or cut off): nobody waits for it.
WORKER_GONE_SECONDS = 10.0
#: The longest one ``wait_deployment`` call waits.
MAX_WAIT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Rollout:
    """A revision every live server worker serves: ``workers`` of them (0 when no server
    runs on this store)."""

    deployment: str
    revision: int
    workers: int


@dataclass(frozen=True, slots=True)
class ServingState:
    """What a scoring worker needs to know of a deployment, polled every half second: the
    current revision's variants and options and the hashes of its two scoring keys (never
    a key)."""

    name: str
    environment: str
    revision: int
    key_hashes: tuple[str, str]
    variants: list[dict[str, Any]]
    options: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environment": self.environment,
            "revision": self.revision,
            "key_hashes": list(self.key_hashes),
            "variants": self.variants,
            "options": self.options,
        }

    @classmethod
    def from_dict(cls, s: dict[str, Any]) -> ServingState:
        return cls(
            str(s["name"]),
            str(s["environment"]),
            int(s["revision"]),
            (str(s["key_hashes"][0]), str(s["key_hashes"][1])),
            list(s["variants"]),
            dict(s["options"]),
        )
