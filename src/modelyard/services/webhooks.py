"""Webhook subscriptions: create, list, delete, the delivery log and test deliveries.

Managing subscriptions needs an installation admin. Events reach the outbox from
``audit.append`` (in the transaction of the change); ``services/dispatcher.py`` sends
them. See docs/webhooks.md.
"""

from __future__ import annotations

import secrets as secrets_mod
from typing import Any
from urllib.parse import urlsplit

from modelyard.domain.auth import Principal
from modelyard.domain.clock import utcnow
from modelyard.domain.errors import InvalidInput, NotFound
from modelyard.domain.webhooks import CreatedWebhook, Delivery, Webhook, check_patterns
from modelyard.services import lookup
from modelyard.services.auth import require_admin
from modelyard.services.egress import Egress
from modelyard.store.unit import Store, Tx

SECRET_PREFIX = "whsec_"
MIN_SECRET = 16
MAX_SECRET = 128
MAX_URL = 2000
MAX_LOG = 1000


def new_secret() -> str:
    return SECRET_PREFIX + secrets_mod.token_urlsafe(32)


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host; returned stripped."""
    text = url.strip() if isinstance(url, str) else ""
    if not text or len(text) > MAX_URL or any(c.isspace() for c in text):
        raise InvalidInput(f"invalid webhook URL {url!r}", url=url)
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise InvalidInput(f"invalid webhook URL {url!r}", url=url) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"a webhook URL must be an absolute http:// or https:// URL, not {url!r}", url=url
        )
    del port
    return text


_PORTS = {"http": 80, "https": 443}


def target(url: str) -> tuple[str, int]:
    """The host and port a webhook URL connects to."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or _PORTS[parts.scheme]


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what the audit log keeps (paths and query
    strings of webhook URLs often carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class WebhookService:
    def __init__(self, store: Store, principal: Principal, egress: Egress) -> None:
        self.principal = principal
        self.store = store
        self.egress = egress

    def create_webhook(
        self,
        url: str,
        events: list[str] | tuple[str, ...],
        *,
        environment: str | None = None,
        secret: str | None = None,
    ) -> CreatedWebhook:
        """Subscribe ``url`` to events matching ``events``; returns ``(webhook, secret)``.
        The secret signs every delivery and is shown only here."""
        require_admin(self.principal, "manage webhooks")
        clean_url = check_url(url)
        self.egress.refuse(*target(clean_url))  # refused now rather than at each delivery
        patterns = check_patterns(events)
        if secret is None:
            secret = new_secret()
        elif not MIN_SECRET <= len(secret) <= MAX_SECRET or not secret.isprintable():
            raise InvalidInput(
                f"a webhook secret must be {MIN_SECRET}-{MAX_SECRET} printable characters"
            )
        with self.store.write() as tx:
            if environment is not None:
                lookup.check_environment(tx, environment)
            webhook = tx.webhooks.add(
                url=clean_url,
                secret=secret,
                events=patterns,
                environment=environment,
                created_by=self.principal.name,
                created_at=utcnow(),
            )
            tx.audit.append(
                actor=self.principal.name,
                action="webhook.created",
                subject=f"webhook:{webhook.id}",
                after=_described(webhook),
            )
        return CreatedWebhook(webhook, secret)

    def list_webhooks(self) -> list[Webhook]:
        require_admin(self.principal, "list webhooks")
        with self.store.read() as tx:
            return tx.webhooks.subscriptions()

    def get_webhook(self, webhook_id: int) -> Webhook:
        require_admin(self.principal, "read webhooks")
        with self.store.read() as tx:
            return _found(tx, webhook_id)

    def delete_webhook(self, webhook_id: int) -> Webhook:
        """Remove a subscription, its undelivered events and its delivery log."""
        require_admin(self.principal, "manage webhooks")
        with self.store.write() as tx:
            webhook = _found(tx, webhook_id)
            tx.webhooks.delete(webhook_id)
            tx.audit.append(
                actor=self.principal.name,
                action="webhook.deleted",
                subject=f"webhook:{webhook_id}",
                before=_described(webhook),
            )
            return webhook

    def list_webhook_deliveries(self, webhook_id: int, *, limit: int = 100) -> list[Delivery]:
        """The delivery log: one entry per attempt, newest first."""
        require_admin(self.principal, "read webhooks")
        if not 1 <= limit <= MAX_LOG:
            raise InvalidInput(f"limit must be between 1 and {MAX_LOG}", limit=limit)
        with self.store.read() as tx:
            _found(tx, webhook_id)
            return tx.webhooks.deliveries(webhook_id, limit)

    def webhook_stats(self, webhook_id: int) -> dict[str, int]:
        """How many events of this subscription are pending, delivered and failed."""
        require_admin(self.principal, "read webhooks")
        with self.store.read() as tx:
            _found(tx, webhook_id)
            return tx.webhooks.outbox_counts(webhook_id)

    def test_webhook(self, webhook_id: int) -> int:
        """Queue a ``webhook.test`` event for this subscription only; returns its
        delivery id (the ``Modelyard-Delivery`` header the receiver will see)."""
        require_admin(self.principal, "test webhooks")
        with self.store.write() as tx:
            webhook = _found(tx, webhook_id)
            now = utcnow()
            seq = tx.audit.append(
                actor=self.principal.name,
                action="webhook.tested",
                subject=f"webhook:{webhook_id}",
            )
            return tx.webhooks.enqueue_test(webhook, seq=seq, time=now, actor=self.principal.name)


def _found(tx: Tx, webhook_id: int) -> Webhook:
    webhook = tx.webhooks.get(webhook_id)
    if webhook is None:
        raise NotFound(f"webhook {webhook_id} does not exist", webhook=webhook_id)
    return webhook


def _described(webhook: Webhook) -> dict[str, Any]:
    """What the audit log keeps of a subscription: no secret, no path or query string."""
    return {
        "url": origin(webhook.url),
        "events": list(webhook.events),
        "environment": webhook.environment,
    }
