"""Webhook subscriptions over HTTP."""

from __future__ import annotations

from modelyard.domain.webhooks import CreatedWebhook, Delivery, Webhook
from modelyard.sdk.http.transport import Http


class HttpWebhooks:
    def __init__(self, http: Http) -> None:
        self.http = http

    def create_webhook(
        self,
        url: str,
        events: list[str],
        *,
        environment: str | None = None,
        secret: str | None = None,
    ) -> CreatedWebhook:
        body = {"url": url, "events": events, "environment": environment, "secret": secret}
        return self.http.post("/api/v1/webhooks", CreatedWebhook, body)

    def list_webhooks(self) -> list[Webhook]:
        return self.http.get("/api/v1/webhooks", list[Webhook])

    def get_webhook(self, webhook_id: int) -> Webhook:
        return self.http.get(f"/api/v1/webhooks/{webhook_id}", Webhook)

    def delete_webhook(self, webhook_id: int) -> Webhook:
        return self.http.delete(f"/api/v1/webhooks/{webhook_id}", Webhook)

    def list_webhook_deliveries(self, webhook_id: int, *, limit: int = 100) -> list[Delivery]:
        path = f"/api/v1/webhooks/{webhook_id}/deliveries"
        return self.http.get(path, list[Delivery], limit=limit)

    def test_webhook(self, webhook_id: int) -> int:
        found = self.http.request("POST", f"/api/v1/webhooks/{webhook_id}/test").json()
        return int(found["delivery_id"])
