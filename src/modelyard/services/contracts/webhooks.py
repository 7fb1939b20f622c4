"""Webhook subscriptions: signed deliveries of audit events (installation admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from modelyard.domain.webhooks import CreatedWebhook, Delivery, Webhook


class Webhooks(Protocol):
    def create_webhook(
        self,
        url: str,
        events: list[str],
        *,
        environment: str | None = None,
        secret: str | None = None,
    ) -> CreatedWebhook:
        """Subscribe ``url`` to events matching ``events`` (``model.*``, ``*``), of one
        environment or all; the signing secret is in the result, shown this once."""
        ...

    def list_webhooks(self) -> list[Webhook]:
        """Every subscription."""
        ...

    def get_webhook(self, webhook_id: int) -> Webhook:
        """One subscription (its deliveries: ``list_webhook_deliveries``)."""
        ...

    def delete_webhook(self, webhook_id: int) -> Webhook:
        """Stop delivering to a subscription."""
        ...

    def list_webhook_deliveries(self, webhook_id: int, *, limit: int = 100) -> list[Delivery]:
        """Delivery attempts to a subscription, newest first."""
        ...

    def test_webhook(self, webhook_id: int) -> int:
        """Queue a ``webhook.test`` event for this subscription only; its delivery id."""
        ...
