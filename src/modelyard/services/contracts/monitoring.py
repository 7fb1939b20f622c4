"""Monitoring: drift, data quality and live performance of deployments; ground truth;
collected data back into datasets; alert rules and alerts.

A moment (``since``, ``until``) is an ISO time or a span back from now (``24h``, ``7d``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from modelyard.domain.datasets import DatasetVersion
    from modelyard.domain.monitoring import Alert, AlertRule, FeedbackResult
    from modelyard.domain.reports import (
        AlertOutcome,
        LatestPredictions,
        MoneyView,
        MonitoringReport,
        ReportListing,
    )


class Monitoring(Protocol):
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
        """Drift per feature, prediction drift, data quality and live performance over a
        window (default: the last 24 hours), against each served version's baseline, or
        ``against`` ``previous`` / ``SINCE..UNTIL`` (another window). ``offset`` (``60d``)
        moves the window back: spans in ``since``/``until`` count back from now minus it,
        so labels that arrive late can be read where they have arrived. ``by`` (an input or
        key column): the same per segment, for its 20 most frequent values."""
        ...

    def list_monitoring_reports(self, deployment: str, *, limit: int = 100) -> list[ReportListing]:
        """The stored reports of a deployment, newest first (their summaries)."""
        ...

    def latest_predictions(
        self,
        deployment: str,
        *,
        key: str | None = None,
        since: str | datetime | None = None,
        limit: int = 100_000,
    ) -> LatestPredictions:
        """For a deployment with key columns: each value of ``key`` (default: its first
        key) with its newest live prediction (online or batch) since ``since`` (default:
        every collected row kept), in key order, at most ``limit``. Over HTTP also as CSV
        (``?format=csv``), for spreadsheets and BI tools."""
        ...

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
        """For a classifier whose deployment names an ``amount_column``: the amount
        expected in each class over a window (default: the last 24 hours), per value of
        ``by`` (an input or key column, e.g. ``customer_id``; the ``limit`` largest), and,
        over the items whose outcome matured, expected against realized. With key
        columns, each value of the first key counts once (its latest scoring)."""
        ...

    def get_monitoring_report(self, deployment: str, report_id: int) -> MonitoringReport:
        """One stored report, whole."""
        ...

    def send_feedback(
        self, deployment: str, items: list[dict[str, Any]], *, key: str | None = None
    ) -> FeedbackResult:
        """Ground truth for scored rows, ``[{"request_id": ..., "actual": ..., "row": 0}]``;
        or outcomes by ``key`` (a key column of the deployment), ``[{key: value, "actual":
        ..., "observed_at": ISO}]``, each labelling the latest live prediction of its key
        made before it was observed. A later answer for the same row replaces an earlier
        one. What was accepted, and the outcomes whose key no prediction had."""
        ...

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
        """Register a deployment's collected live inputs, or a copy of dataset version
        ``dataset`` (e.g. production data into the sandbox), as a dataset version, with
        ``drop`` columns removed and ``mask`` columns replaced by keyed hashes."""
        ...


class Alerts(Protocol):
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
        """A rule the server evaluates every ``every`` over the last ``window`` (ending
        ``offset`` before now, for labels that arrive late), on the rows of one
        ``segment`` (``COLUMN=VALUE``) or all: it fires (and sends webhooks) when
        ``signal op threshold``."""
        ...

    def list_alert_rules(self, *, deployment: str | None = None) -> list[AlertRule]:
        """Alert rules, of one deployment or of all the caller may read."""
        ...

    def delete_alert_rule(self, deployment: str, name: str) -> AlertRule:
        """Delete a rule and the alerts it raised (the audit log keeps the rule)."""
        ...

    def list_alerts(
        self, *, deployment: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Alerts, newest first (``state``: firing or resolved)."""
        ...

    def evaluate_alerts(self, deployment: str) -> list[AlertOutcome]:
        """Evaluate a deployment's rules now (as the scheduler would) and say what each
        found."""
        ...
