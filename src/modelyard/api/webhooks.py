"""``/api/v1/webhooks``: subscriptions, their delivery log and a test event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from modelyard.api.deps import ScopeDep
from modelyard.api.schemas import errors
from modelyard.domain.webhooks import CreatedWebhook, Delivery, Webhook
from modelyard.wire.webhooks import TestQueued, WebhookBody

router = APIRouter(
    prefix="/api/v1/webhooks", tags=["webhooks"], responses=errors(400, 401, 403, 404, 422)
)

Id = Annotated[int, Path(ge=1, le=2**62)]


@router.post("", response_model=CreatedWebhook, status_code=201)
def create_webhook(body: WebhookBody, api: ScopeDep) -> CreatedWebhook:
    """The answer's ``secret`` signs every delivery: shown this once."""
    return api.webhooks.create_webhook(
        body.url, body.events, environment=body.environment, secret=body.secret
    )


@router.get("", response_model=list[Webhook])
def list_webhooks(api: ScopeDep) -> list[Webhook]:
    return api.webhooks.list_webhooks()


@router.get("/{webhook_id}", response_model=Webhook)
def get_webhook(webhook_id: Id, api: ScopeDep) -> Webhook:
    return api.webhooks.get_webhook(webhook_id)


@router.delete("/{webhook_id}", response_model=Webhook)
def delete_webhook(webhook_id: Id, api: ScopeDep) -> Webhook:
    return api.webhooks.delete_webhook(webhook_id)


@router.get("/{webhook_id}/deliveries", response_model=list[Delivery])
def list_webhook_deliveries(
    webhook_id: Id, api: ScopeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[Delivery]:
    return api.webhooks.list_webhook_deliveries(webhook_id, limit=limit)


@router.post("/{webhook_id}/test", response_model=TestQueued, status_code=202)
def test_webhook(webhook_id: Id, api: ScopeDep) -> TestQueued:
    return TestQueued(delivery_id=api.webhooks.test_webhook(webhook_id))
