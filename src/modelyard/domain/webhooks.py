"""Webhook subscriptions, their delivery log, event patterns and payload signatures.

A subscription names the events it wants with fnmatch-style patterns over audit actions
(``version.*``, ``alias.moved``, ``*``) and optionally one environment. Every delivery is
signed: ``Modelyard-Signature: sha256=<hex>`` is the HMAC-SHA256, keyed with the
subscription's secret, of ``f"{timestamp}.{body}"`` where ``timestamp`` is the
``Modelyard-Timestamp`` header. ``verify_signature`` checks it (receivers may use it).

Pure values and functions: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase

from pydantic import computed_field

from modelyard.domain.errors import InvalidInput

# Audit actions that exist today; later issues add their own families below.
KNOWN_ACTIONS: tuple[str, ...] = (
    "model.created",
    "model.updated",
    "model.deleted",
    "version.created",
    "version.tags_changed",
    "version.metrics_logged",
    "version.archived",
    "version.restored",
    "version.deleted",
    "alias.set",
    "alias.moved",
    "alias.deleted",
    "user.created",
    "user.bootstrapped",
    "role.granted",
    "role.revoked",
    "token.created",
    "token.revoked",
    "deployment.created",
    "deployment.updated",
    "deployment.rolled_back",
    "deployment.deleted",
    "deployment.keys_regenerated",
    "dataset.registered",
    "alert.rule_created",
    "alert.rule_deleted",
    "alert.fired",
    "alert.resolved",
    "evaluation.created",
    "environment.gates_changed",
    "promotion.requested",
    "promotion.approved",
    "promotion.rejected",
    "promotion.blocked",
    "promotion.completed",
    "key.trusted",
    "bundle.imported",
)
# Families a pattern may name: today's, plus the ones later issues add events to.
KNOWN_FAMILIES: frozenset[str] = frozenset(
    {a.split(".", 1)[0] for a in KNOWN_ACTIONS}
    | {"deployment", "promotion", "dataset", "evaluation", "alert"}
)
# Events about subscriptions themselves are audited but never routed to subscribers;
# ``webhook.test`` reaches only the subscription it tests.
UNROUTED_FAMILY = "webhook"
TEST_EVENT = "webhook.test"

SIGNATURE_PREFIX = "sha256="
_PATTERN = re.compile(r"^[a-z0-9_*?.\-]{1,100}$")


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription. The secret is shown once, when it is created, and never again."""

    id: int
    url: str
    events: tuple[str, ...]
    environment: str | None
    active: bool
    created_by: str
    created_at: datetime

    def wants(self, action: str, environment: str | None) -> bool:
        return routes(self.events, self.environment, action, environment)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery attempt of one event to one subscription (the delivery log)."""

    id: int
    webhook_id: int
    delivery_id: int  # the outbox id, sent as ``Modelyard-Delivery``; stable across retries
    event_seq: int
    event_type: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: float
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    """A new subscription and its signing secret (shown this once)."""

    webhook: Webhook
    secret: str = field(repr=False)


def environment_of(subject: str) -> str | None:
    """``model_version:ENV/name:3``, ``alias:ENV/name@a``, ``model:ENV/name`` -> ``ENV``.
    Subjects without an environment (``user:…``, ``token:…``) give None."""
    _, sep, rest = subject.partition(":")
    if not sep:
        return None
    env, slash, _ = rest.partition("/")
    return env if slash and env else None


def routes(
    patterns: tuple[str, ...] | list[str],
    subscribed_env: str | None,
    action: str,
    environment: str | None,
) -> bool:
    """Does a subscription with these patterns (and environment) receive this event?"""
    if subscribed_env is not None and subscribed_env != environment:
        return False
    return any(fnmatchcase(action, p) for p in patterns)


def check_patterns(events: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate and de-duplicate event patterns (order kept)."""
    if isinstance(events, str):
        raise InvalidInput("events must be a list of patterns, not a string")
    out: list[str] = []
    for pattern in events:
        if not isinstance(pattern, str) or not _PATTERN.match(pattern):
            raise InvalidInput(
                f"invalid event pattern {pattern!r}: use lower-case actions with * or ? "
                "(e.g. 'version.*', 'alias.moved', '*')",
                pattern=pattern,
            )
        if pattern != "*" and not _names_known_event(pattern):
            families = ", ".join(sorted(KNOWN_FAMILIES))
            raise InvalidInput(
                f"event pattern {pattern!r} matches no known event (families: {families})",
                pattern=pattern,
            )
        if pattern not in out:
            out.append(pattern)
    if not out:
        raise InvalidInput("a webhook needs at least one event pattern (e.g. 'version.*')")
    return tuple(out)


def _names_known_event(pattern: str) -> bool:
    if any(fnmatchcase(a, pattern) for a in (*KNOWN_ACTIONS, TEST_EVENT)):
        return True
    family, dot, _ = pattern.partition(".")
    return bool(dot) and family in KNOWN_FAMILIES


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The ``Modelyard-Signature`` header value for a body sent at ``timestamp``."""
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    header: str | None,
    *,
    tolerance: float | None = None,
) -> bool:
    """True when ``header`` (``Modelyard-Signature``) signs ``body`` sent at ``timestamp``
    (``Modelyard-Timestamp``) with ``secret``. Compare the raw body bytes as received.
    With ``tolerance`` (seconds), also refuse timestamps further than that from now
    (protection against replays)."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if tolerance is not None and abs(time.time() - sent_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, str(timestamp).strip(), body), header.strip())
