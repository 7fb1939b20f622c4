"""Monitoring reports (``/api/v1/deployments/{name}/monitoring``), alert rules and alerts
(``/api/v1/alerts``)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from modelyard.api.deps import ScopeDep
from modelyard.api.schemas import errors
from modelyard.domain.monitoring import Alert, AlertRule
from modelyard.domain.reports import (
    AlertOutcome,
    LatestPredictions,
    MoneyView,
    MonitoringReport,
    ReportListing,
)
from modelyard.wire.monitoring import EvaluateAlertsBody, RuleBody

router = APIRouter(prefix="/api/v1", responses=errors(400, 401, 403, 404, 422))
Deployment = Annotated[str, Path(max_length=128)]
Moment = Annotated[
    str | None,
    Query(max_length=64, description="ISO time (UTC if no zone) or a duration before now: 1h, 7d"),
]


@router.get("/deployments/{name}/monitoring", response_model=MonitoringReport, tags=["monitoring"])
async def monitor(
    name: Deployment,
    api: ScopeDep,
    since: Moment = None,
    until: Moment = None,
    against: Annotated[
        str | None,
        Query(max_length=140, description="baseline (default), previous, or SINCE..UNTIL"),
    ] = None,
    store: bool = True,
    offset: Annotated[
        str | None,
        Query(max_length=32, description="the window ends this long before now (60d)"),
    ] = None,
    by: Annotated[
        str | None,
        Query(max_length=128, description="per segment: an input or key column"),
    ] = None,
) -> MonitoringReport:
    """Drift per feature, prediction drift, data quality and live performance of the
    deployment's live traffic over ``[since, until)`` (default: the last 24 hours). The
    report is stored, so ``/monitoring/history`` can draw trends."""
    return await run_in_threadpool(
        api.monitoring.monitor,
        name,
        since=since,
        until=until,
        against=against,
        store=store,
        offset=offset,
        by=by,
    )


@router.get("/deployments/{name}/money", response_model=MoneyView, tags=["monitoring"])
async def money(
    name: Deployment,
    api: ScopeDep,
    since: Moment = None,
    until: Moment = None,
    offset: Annotated[
        str | None,
        Query(max_length=32, description="the window ends this long before now (60d)"),
    ] = None,
    by: Annotated[
        str | None, Query(max_length=128, description="per value of an input or key column")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> MoneyView:
    """The amount expected in each class, per ``by`` value, and expected against realized
    once outcomes mature (a deployment with an ``amount_column``)."""
    return await run_in_threadpool(
        api.monitoring.money, name, since=since, until=until, offset=offset, by=by, limit=limit
    )


@router.get(
    "/deployments/{name}/latest",
    response_model=LatestPredictions,
    tags=["monitoring"],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def latest_predictions(
    name: Deployment,
    api: ScopeDep,
    key: Annotated[str | None, Query(max_length=128, description="a key column")] = None,
    since: Moment = None,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Any:
    """Each key's newest live prediction: one URL a spreadsheet's or BI tool's web
    connector reads with an ``Authorization: Bearer`` token (``format=csv`` for CSV)."""
    found = await run_in_threadpool(
        api.monitoring.latest_predictions, name, key=key, since=since, limit=limit
    )
    if format == "json":
        return found
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=found["columns"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(found["rows"])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


@router.get(
    "/deployments/{name}/monitoring/history",
    response_model=list[ReportListing],
    tags=["monitoring"],
)
def list_monitoring_reports(
    name: Deployment, api: ScopeDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> list[ReportListing]:
    """Stored reports' summaries, newest first."""
    return api.monitoring.list_monitoring_reports(name, limit=limit)


@router.get(
    "/deployments/{name}/monitoring/reports/{report_id}",
    response_model=MonitoringReport,
    tags=["monitoring"],
)
def get_monitoring_report(
    name: Deployment, report_id: Annotated[int, Path(ge=1, le=2**62)], api: ScopeDep
) -> MonitoringReport:
    return api.monitoring.get_monitoring_report(name, report_id)


# -- alerts ---------------------------------------------------------------------------------
@router.get("/alerts", response_model=list[Alert], tags=["alerts"])
def list_alerts(
    api: ScopeDep,
    deployment: Annotated[str | None, Query(max_length=128)] = None,
    state: Annotated[Literal["firing", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[Alert]:
    """Alerts, newest first: firing ones stay one alert until they resolve."""
    return api.alerts.list_alerts(deployment=deployment, state=state, limit=limit)


@router.get("/alerts/rules", response_model=list[AlertRule], tags=["alerts"])
def list_alert_rules(
    api: ScopeDep, deployment: Annotated[str | None, Query(max_length=128)] = None
) -> list[AlertRule]:
    return api.alerts.list_alert_rules(deployment=deployment)


@router.post(
    "/alerts/rules",
    response_model=AlertRule,
    status_code=201,
    tags=["alerts"],
    responses=errors(409),
)
def create_alert_rule(body: RuleBody, api: ScopeDep) -> AlertRule:
    return api.alerts.create_alert_rule(
        body.deployment,
        body.name,
        body.signal,
        body.threshold,
        op=body.op,
        feature=body.feature,
        window=body.window,
        every=body.every,
        offset=body.offset,
        segment=body.segment,
    )


@router.delete("/alerts/rules/{deployment}/{name}", response_model=AlertRule, tags=["alerts"])
def delete_alert_rule(
    deployment: Deployment, name: Annotated[str, Path(max_length=128)], api: ScopeDep
) -> AlertRule:
    return api.alerts.delete_alert_rule(deployment, name)


@router.post("/alerts/evaluate", response_model=list[AlertOutcome], tags=["alerts"])
async def evaluate_alerts(body: EvaluateAlertsBody, api: ScopeDep) -> list[AlertOutcome]:
    """Evaluate a deployment's rules now, as the scheduler would."""
    return await run_in_threadpool(api.alerts.evaluate_alerts, body.deployment)
