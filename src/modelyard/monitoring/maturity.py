"""When a label counts. A deployment's outcomes mature a number of days after scoring, or
after a date column of the row (an invoice's due date) plus days: until then a row is
**pending**, whatever feedback it has (an invoice not yet due is not "on time"), and is
never counted as a class. Performance per cohort: the week the rows were scored.

The queries run on a report's ``Window`` (its DuckDB connection and files)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from modelyard.domain.reports import Cohort
from modelyard.monitoring.collector import INPUT_PREFIX, KEY_PREFIX
from modelyard.monitoring.report import FEEDBACK_CTE, PREDICTION, feedback_files, quote

if TYPE_CHECKING:
    from modelyard.monitoring.lake import Lake
    from modelyard.monitoring.report import Window


@dataclass(frozen=True, slots=True)
class Maturity:
    days: float = 0.0
    column: str = ""  # an input or key column holding a date (empty: the scoring time)
    is_key: bool = False

    def matures_at(self, columns: list[str]) -> str:
        """SQL for when the label of collected row ``d`` matures (the scoring time when
        the row has no date in ``column``)."""
        base = "d.time"
        collected = (KEY_PREFIX if self.is_key else INPUT_PREFIX) + self.column
        if self.column and collected in columns:
            base = f"coalesce(try_cast(d.{quote(collected)} AS TIMESTAMPTZ), d.time)"
        return f"({base} + to_seconds({float(self.days) * 86400}))"


def pending(data: Window, maturity: Maturity, now: datetime) -> int:
    """Live rows of the window whose label has not matured at ``now``."""
    if not data.files:
        return 0
    found = data.con.execute(
        "SELECT count(*) FROM read_parquet(?, union_by_name=true) d "
        f"WHERE {data.where} AND {maturity.matures_at(data.columns)} > ?",
        [data.files, data.since, data.until, now],
    ).fetchone()
    return int(found[0]) if found else 0


def cohorts(
    data: Window, lake: Lake, maturity: Maturity, now: datetime, regression: bool
) -> list[Cohort]:
    """Per scoring week (Monday, UTC): rows, pending rows, matured rows with a label, and
    their accuracy (or mean absolute error, for a regressor)."""
    if not data.files or PREDICTION not in data.columns:
        return []
    feedback = feedback_files(lake, data.deployment)
    lake.attach(data.con)
    matures = maturity.matures_at(data.columns)
    hit = (
        "abs(try_cast(d.prediction AS DOUBLE) - try_cast(fb.actual AS DOUBLE))"
        if regression
        else "CAST(CAST(d.prediction AS VARCHAR) = fb.actual AS INTEGER)"
    )
    joined = (
        'LEFT JOIN fb ON d.request_id = fb.request_id AND d."row" = fb."row"'
        if feedback
        else "LEFT JOIN (SELECT NULL AS actual) fb ON false"
    )
    rows = data.con.execute(
        (FEEDBACK_CTE if feedback else "")
        + "SELECT date_trunc('week', d.time AT TIME ZONE 'UTC') AS week, count(*), "
        f"count(*) FILTER (WHERE {matures} > ?), "
        f"count(fb.actual) FILTER (WHERE {matures} <= ?), "
        f"avg({hit}) FILTER (WHERE {matures} <= ? AND fb.actual IS NOT NULL) "
        f"FROM read_parquet(?, union_by_name=true) d {joined} "
        f"WHERE {data.where} GROUP BY 1 ORDER BY 1",
        [*([feedback] if feedback else []), now, now, now, data.files, data.since, data.until],
    ).fetchall()
    found: list[Cohort] = []
    for week, n, waiting, labelled, value in rows:
        cohort = Cohort(week=week.date().isoformat(), rows=n, pending=waiting, labelled=labelled)
        cohort["mae" if regression else "accuracy"] = None if value is None else float(value)
        found.append(cohort)
    return found
