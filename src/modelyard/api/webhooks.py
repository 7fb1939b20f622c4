"""``/api/v1/webhooks``: subscriptions, their delivery log and a test event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from modelyard.api.deps import PrincipalDep, ServicesDep
from modelyard.api.schemas import Strict, errors
from modelyard.domain.webhooks import Delivery, Webhook

router = APIRouter(
    prefix="/api/v1/webhooks", tags=["webhooks"], responses=errors(400, 401, 403, 404, 422)
)

Id = Annotated[int, Path(ge=1, le=2**62)]


class WebhookIn(Strict):
    url: str = Field(min_length=1, max_length=2000)
    events: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=50, description="Patterns: version.created, alias.*, *"
    )
    environment: str | None = Field(default=None, max_length=128)
    secret: str | None = Field(default=None, min_length=16, max_length=128)


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    environment: str | None
    active: bool
    created_by: str
    created_at: datetime

    @classmethod
    def from_entity(cls, w: Webhook) -> WebhookOut:
        return cls(
            id=w.id,
            url=w.url,
            events=list(w.events),
            environment=w.environment,
            active=w.active,
            created_by=w.created_by,
            created_at=w.created_at,
        )


class CreatedWebhookOut(BaseModel):
    webhook: WebhookOut
    secret: str = Field(description="HMAC secret of the signatures. Shown once.")


class DeliveryOut(BaseModel):
    id: int
    delivery_id: int
    event_seq: int
    event_type: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: float
    ok: bool
    created_at: datetime

    @classmethod
    def from_entity(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            delivery_id=d.delivery_id,
            event_seq=d.event_seq,
            event_type=d.event_type,
            attempt=d.attempt,
            status_code=d.status_code,
            error=d.error,
            duration_ms=d.duration_ms,
            ok=d.ok,
            created_at=d.created_at,
        )


class TestOut(BaseModel):
    delivery_id: int


@router.post("", response_model=CreatedWebhookOut, status_code=201)
def create(body: WebhookIn, svc: ServicesDep, who: PrincipalDep) -> CreatedWebhookOut:
    webhook, secret = svc.webhooks.create(
        body.url, body.events, by=who, environment=body.environment, secret=body.secret
    )
    return CreatedWebhookOut(webhook=WebhookOut.from_entity(webhook), secret=secret)


@router.get("", response_model=list[WebhookOut])
def list_(svc: ServicesDep, who: PrincipalDep) -> list[WebhookOut]:
    return [WebhookOut.from_entity(w) for w in svc.webhooks.list(by=who)]


@router.get("/{webhook_id}", response_model=WebhookOut)
def get(webhook_id: Id, svc: ServicesDep, who: PrincipalDep) -> WebhookOut:
    return WebhookOut.from_entity(svc.webhooks.get(webhook_id, by=who))


@router.delete("/{webhook_id}", response_model=WebhookOut)
def delete(webhook_id: Id, svc: ServicesDep, who: PrincipalDep) -> WebhookOut:
    return WebhookOut.from_entity(svc.webhooks.delete(webhook_id, by=who))


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def deliveries(
    webhook_id: Id,
    svc: ServicesDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    return [
        DeliveryOut.from_entity(d) for d in svc.webhooks.deliveries(webhook_id, by=who, limit=limit)
    ]


@router.post("/{webhook_id}/test", response_model=TestOut, status_code=202)
def test(webhook_id: Id, svc: ServicesDep, who: PrincipalDep) -> TestOut:
    return TestOut(delivery_id=svc.webhooks.test(webhook_id, by=who))
