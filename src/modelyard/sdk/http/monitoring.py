"""Monitoring and alerts over HTTP."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from modelyard.domain.datasets import DatasetVersion
from modelyard.domain.monitoring import Alert, AlertRule, FeedbackResult
from modelyard.domain.reports import (
    AlertOutcome,
    LatestPredictions,
    MoneyView,
    MonitoringReport,
    ReportListing,
)
from modelyard.sdk.http.transport import Http


def _moment(value: str | datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class HttpMonitoring:
    def __init__(self, http: Http) -> None:
        self.http = http

    def monitor(
        self,
        deployment: str,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        against: str | None = None,
        store: bool = True,
        offset: str | None = None,
        by: str | None = None,
    ) -> MonitoringReport:
        return self.http.get(
            f"/api/v1/deployments/{deployment}/monitoring",
            MonitoringReport,
            since=_moment(since),
            until=_moment(until),
            against=against,
            store=store,
            offset=offset,
            by=by,
        )

    def money(
        self,
        deployment: str,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        offset: str | None = None,
        by: str | None = None,
        limit: int = 1000,
    ) -> MoneyView:
        return self.http.get(
            f"/api/v1/deployments/{deployment}/money",
            MoneyView,
            since=_moment(since),
            until=_moment(until),
            offset=offset,
            by=by,
            limit=limit,
        )

    def latest_predictions(
        self,
        deployment: str,
        *,
        key: str | None = None,
        since: str | datetime | None = None,
        limit: int = 100_000,
    ) -> LatestPredictions:
        return self.http.get(
            f"/api/v1/deployments/{deployment}/latest",
            LatestPredictions,
            key=key,
            since=_moment(since),
            limit=limit,
        )

    def list_monitoring_reports(self, deployment: str, *, limit: int = 100) -> list[ReportListing]:
        path = f"/api/v1/deployments/{deployment}/monitoring/history"
        return self.http.get(path, list[ReportListing], limit=limit)

    def get_monitoring_report(self, deployment: str, report_id: int) -> MonitoringReport:
        path = f"/api/v1/deployments/{deployment}/monitoring/reports/{report_id}"
        return self.http.get(path, MonitoringReport)

    def send_feedback(
        self, deployment: str, items: list[dict[str, Any]], *, key: str | None = None
    ) -> FeedbackResult:
        path = f"/v1/deployments/{deployment}/feedback"
        params = {"key": key} if key else None
        return FeedbackResult(**self.http.request("POST", path, json=items, params=params).json())

    def snapshot_dataset(
        self,
        name: str,
        *,
        deployment: str | None = None,
        dataset: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        with_feedback: bool = False,
        environment: str | None = None,
        drop: Iterable[str] = (),
        mask: Iterable[str] = (),
        description: str = "",
    ) -> DatasetVersion:
        body = {
            "name": name,
            "environment": environment,
            "deployment": deployment,
            "dataset": dataset,
            "drop": list(drop),
            "mask": list(mask),
            "since": _moment(since),
            "until": _moment(until),
            "with_feedback": with_feedback,
            "description": description,
        }
        return self.http.post("/api/v1/datasets/snapshots", DatasetVersion, body)


class HttpAlerts:
    def __init__(self, http: Http) -> None:
        self.http = http

    def create_alert_rule(
        self,
        deployment: str,
        name: str,
        signal: str,
        threshold: float,
        *,
        op: str = ">",
        feature: str | None = None,
        window: str = "1h",
        every: str = "5m",
        offset: str | None = None,
        segment: str | None = None,
    ) -> AlertRule:
        body = {
            "deployment": deployment,
            "name": name,
            "signal": signal,
            "threshold": threshold,
            "op": op,
            "feature": feature,
            "window": str(window),
            "every": str(every),
            "offset": None if offset is None else str(offset),
            "segment": segment,
        }
        return self.http.post("/api/v1/alerts/rules", AlertRule, body)

    def list_alert_rules(self, *, deployment: str | None = None) -> list[AlertRule]:
        return self.http.get("/api/v1/alerts/rules", list[AlertRule], deployment=deployment)

    def delete_alert_rule(self, deployment: str, name: str) -> AlertRule:
        return self.http.delete(f"/api/v1/alerts/rules/{deployment}/{name}", AlertRule)

    def list_alerts(
        self, *, deployment: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Alert]:
        return self.http.get(
            "/api/v1/alerts", list[Alert], deployment=deployment, state=state, limit=limit
        )

    def evaluate_alerts(self, deployment: str) -> list[AlertOutcome]:
        body = {"deployment": deployment}
        return self.http.post("/api/v1/alerts/evaluate", list[AlertOutcome], body)
