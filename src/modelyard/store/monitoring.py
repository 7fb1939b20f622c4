"""Stored monitoring reports: ``Reports`` keeps each report whole, with its summary numbers
beside it for trends, and answers with ids, dicts and ``StoredReport``, never rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.reports import MonitoringReport, ReportSummary
from modelyard.store.tables import MonitoringReportRow, core

_REPORTS = core(MonitoringReportRow)
REFERENCE_LENGTH = 200  # the column's width: a longer reference label is cut


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A stored report without its sections: what a trend line is drawn from."""

    id: int
    since: datetime
    until: datetime
    reference: str
    summary: ReportSummary
    created_at: datetime


class Reports:
    """Monitoring reports of deployments, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        deployment: str,
        environment: str,
        since: datetime,
        until: datetime,
        reference: str,
        rows: int,
        summary: dict[str, Any],
        report: dict[str, Any],
        actor: str,
    ) -> int:
        """Store a report (kept as JSON; values JSON cannot hold are kept as text)."""
        return int(
            self.session.execute(
                sa.insert(_REPORTS)
                .values(
                    deployment=deployment,
                    environment=environment,
                    since=since,
                    until=until,
                    reference=reference[:REFERENCE_LENGTH],
                    rows=rows,
                    summary=summary,
                    report=json.dumps(report, default=str),
                    created_by=actor,
                )
                .returning(_REPORTS.c.id)
            ).scalar_one()
        )

    def summaries(self, deployment: str, *, limit: int) -> list[StoredReport]:
        """A deployment's reports, newest first, at most ``limit``."""
        rows = self.session.execute(
            sa.select(
                _REPORTS.c.id,
                _REPORTS.c.since,
                _REPORTS.c.until,
                _REPORTS.c.reference,
                _REPORTS.c.summary,
                _REPORTS.c.created_at,
            )
            .where(_REPORTS.c.deployment == deployment)
            .order_by(_REPORTS.c.id.desc())
            .limit(limit)
        )
        return [StoredReport(*row) for row in rows]

    def get(self, deployment: str, report_id: int) -> MonitoringReport | None:
        """A report of this deployment, as stored (``None``: none, or another's)."""
        text = self.session.scalar(
            sa.select(_REPORTS.c.report).where(
                _REPORTS.c.id == report_id, _REPORTS.c.deployment == deployment
            )
        )
        return None if text is None else cast(MonitoringReport, json.loads(text))
