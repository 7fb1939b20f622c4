"""Monitoring reports (``/api/v1/deployments/{name}/monitoring``), alert rules and alerts
(``/api/v1/alerts``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from modelyard.api.deps import PrincipalDep, ServicesDep
from modelyard.api.schemas import Strict, errors
from modelyard.domain.monitoring import Alert, AlertRule

router = APIRouter(prefix="/api/v1", responses=errors(400, 401, 403, 404, 422))
Deployment = Annotated[str, Path(max_length=128)]
Moment = Annotated[
    str | None,
    Query(max_length=64, description="ISO time (UTC if no zone) or a duration before now: 1h, 7d"),
]


@router.get("/deployments/{name}/monitoring", response_model=dict[str, Any], tags=["monitoring"])
async def report(
    name: Deployment,
    svc: ServicesDep,
    who: PrincipalDep,
    since: Moment = None,
    until: Moment = None,
    against: Annotated[
        str | None,
        Query(max_length=140, description="baseline (default), previous, or SINCE..UNTIL"),
    ] = None,
    store: bool = True,
) -> dict[str, Any]:
    """Drift per feature, prediction drift, data quality and live performance of the
    deployment's live traffic over ``[since, until)`` (default: the last 24 hours). The
    report is stored, so ``/monitoring/history`` can draw trends."""
    return await run_in_threadpool(
        svc.monitoring.report,
        name,
        actor=who,
        since=since,
        until=until,
        against=against,
        store=store,
    )


@router.get(
    "/deployments/{name}/monitoring/history",
    response_model=list[dict[str, Any]],
    tags=["monitoring"],
)
def history(
    name: Deployment,
    svc: ServicesDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Stored reports' summaries, newest first."""
    return svc.monitoring.history(name, actor=who, limit=limit)


@router.get(
    "/deployments/{name}/monitoring/reports/{report_id}",
    response_model=dict[str, Any],
    tags=["monitoring"],
)
def stored(
    name: Deployment,
    report_id: Annotated[int, Path(ge=1, le=2**62)],
    svc: ServicesDep,
    who: PrincipalDep,
) -> dict[str, Any]:
    return svc.monitoring.stored(name, report_id, actor=who)


# -- alerts ---------------------------------------------------------------------------------
class RuleIn(Strict):
    deployment: str = Field(max_length=128)
    name: str = Field(max_length=128)
    signal: str = Field(max_length=64)
    threshold: float
    op: Literal[">", ">=", "<", "<="] = ">"
    feature: str | None = Field(None, max_length=250)
    window: str = Field("1h", max_length=32, description="e.g. 15m, 1h, 7d")
    every: str = Field("5m", max_length=32, description="how often the scheduler evaluates")


class RuleOut(BaseModel):
    id: int
    deployment: str
    environment: str
    name: str
    signal: str
    feature: str | None
    op: str
    threshold: float
    window_seconds: int
    every_seconds: int
    next_run_at: datetime
    created_by: str
    created_at: datetime
    description: str

    @classmethod
    def of(cls, rule: AlertRule) -> RuleOut:
        return cls.model_validate(rule.to_dict())


class AlertOut(BaseModel):
    id: int
    rule_id: int
    rule: str
    deployment: str
    environment: str
    state: str
    value: float | None
    last_value: float | None
    message: str
    fired_at: datetime
    last_evaluated_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls.model_validate(alert.to_dict())


class EvaluateIn(Strict):
    deployment: str = Field(max_length=128)


@router.get("/alerts", response_model=list[AlertOut], tags=["alerts"])
def list_alerts(
    svc: ServicesDep,
    who: PrincipalDep,
    deployment: Annotated[str | None, Query(max_length=128)] = None,
    state: Annotated[Literal["firing", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[AlertOut]:
    """Alerts, newest first: firing ones stay one alert until they resolve."""
    found = svc.alerts.list_alerts(actor=who, deployment=deployment, state=state, limit=limit)
    return [AlertOut.of(a) for a in found]


@router.get("/alerts/rules", response_model=list[RuleOut], tags=["alerts"])
def list_rules(
    svc: ServicesDep,
    who: PrincipalDep,
    deployment: Annotated[str | None, Query(max_length=128)] = None,
) -> list[RuleOut]:
    return [RuleOut.of(r) for r in svc.alerts.list_rules(actor=who, deployment=deployment)]


@router.post(
    "/alerts/rules",
    response_model=RuleOut,
    status_code=201,
    tags=["alerts"],
    responses=errors(409),
)
def create_rule(body: RuleIn, svc: ServicesDep, who: PrincipalDep) -> RuleOut:
    rule = svc.alerts.create_rule(
        body.deployment,
        actor=who,
        name=body.name,
        signal=body.signal,
        threshold=body.threshold,
        op=body.op,
        feature=body.feature,
        window=body.window,
        every=body.every,
    )
    return RuleOut.of(rule)


@router.delete("/alerts/rules/{deployment}/{name}", response_model=RuleOut, tags=["alerts"])
def delete_rule(
    deployment: Deployment,
    name: Annotated[str, Path(max_length=128)],
    svc: ServicesDep,
    who: PrincipalDep,
) -> RuleOut:
    return RuleOut.of(svc.alerts.delete_rule(deployment, name, actor=who))


@router.post("/alerts/evaluate", response_model=list[dict[str, Any]], tags=["alerts"])
async def evaluate(body: EvaluateIn, svc: ServicesDep, who: PrincipalDep) -> list[dict[str, Any]]:
    """Evaluate a deployment's rules now, as the scheduler would."""
    return await run_in_threadpool(svc.alerts.evaluate, body.deployment, actor=who)
