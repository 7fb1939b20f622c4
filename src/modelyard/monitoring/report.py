"""Monitoring signals for one deployment over one window, computed from the collected
Parquet files: data drift per feature, prediction drift and data quality against a
reference profile (the baseline of the version that served, or an earlier window), and
live performance from the feedback joined by request id and row.

DuckDB reads the files (only the hours in the window, only the columns needed); numpy and
scipy do the statistics (``monitoring.drift``); scikit-learn the performance metrics.
Nothing here touches the metadata store: ``services.monitoring`` decides what to compare
and stores the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelyard.domain.reports import Baseline
from modelyard.monitoring import metrics
from modelyard.monitoring.collector import INPUT_PREFIX, KEY_PREFIX
from modelyard.monitoring.drift import (
    categorical_drift,
    numerical_drift,
    psi,
    wasserstein_normalized,
)
from modelyard.monitoring.lake import Lake, connect
from modelyard.monitoring.profile import OTHER, CategoricalProfile, NumericalProfile, Profile

PREDICTION = "prediction"
#: Numerical drift is measured on a uniform sample of at most this many current values
#: (the reference side is itself a sample of at most 10,000): the distance then differs
#: from the full window's by about 1/sqrt(n) of a standard deviation (0.002 here),
#: far below the 0.1 threshold, and a report over millions of rows stays fast.
DISTANCE_SAMPLE = 200_000


# -- reading --------------------------------------------------------------------------------
def window_files(lake: Lake, deployment: str, since: datetime, until: datetime) -> list[str]:
    """The collected files of the hours that overlap ``[since, until)``."""
    first, last = since.strftime("%Y-%m-%dT%H"), until.strftime("%Y-%m-%dT%H")
    folder = f"deployment={deployment}"
    found: list[str] = []
    for hour in lake.folders(folder):
        name = hour.removeprefix("hour=")
        if hour.startswith("hour=") and first <= name <= last:
            found.extend(lake.parts(folder, hour))
    return sorted(found)


def feedback_files(lake: Lake, deployment: str) -> list[str]:
    return lake.parts(f"deployment={deployment}")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


# the newest feedback for each scored row (a correction sent later wins)
FEEDBACK_CTE = (
    'WITH fb AS (SELECT request_id, "row", arg_max(actual, time) AS actual '
    'FROM read_parquet(?, union_by_name=true) GROUP BY request_id, "row") '
)


class Window:
    """The live rows of one deployment between two times, read through DuckDB."""

    def __init__(
        self,
        lake: Lake,
        deployment: str,
        since: datetime,
        until: datetime,
        segment: tuple[str, str] | None = None,
    ) -> None:
        self.deployment = deployment
        self.files = window_files(lake, deployment, since, until)
        self.since = since
        self.until = until
        self.con = connect()
        lake.attach(self.con)
        self.columns: list[str] = []
        if self.files:
            described = self.con.execute(
                "DESCRIBE SELECT * FROM read_parquet(?, union_by_name=true)", [self.files]
            ).fetchall()
            self.columns = [str(r[0]) for r in described]
        # ``segment``: only the rows whose collected column equals the value
        only = "" if segment is None else f" AND d.{quote(segment[0])} = {literal(segment[1])}"
        self.where = "role = 'live' AND time >= ? AND time < ?" + only

    _FEEDBACK = FEEDBACK_CTE

    def values(self, column: str, limit: int) -> list[str]:
        """The most frequent values of a collected column among the window's live rows."""
        if not self.files or column not in self.columns:
            return []
        found = self.con.execute(
            f"SELECT CAST({quote(column)} AS VARCHAR) AS v, count(*) "
            "FROM read_parquet(?, union_by_name=true) d "
            f"WHERE {self.where} AND {quote(column)} IS NOT NULL "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
            [self.files, self.since, self.until, limit],
        ).fetchall()
        return [str(v) for v, _ in found]

    def variants(self) -> dict[str, int]:
        if not self.files:
            return {}
        rows = self.con.execute(
            "SELECT variant, count(*) FROM read_parquet(?, union_by_name=true) d "
            f"WHERE {self.where} GROUP BY variant ORDER BY 2 DESC",
            [self.files, self.since, self.until],
        ).fetchall()
        return {str(v): int(n) for v, n in rows}

    def inputs(self) -> list[str]:
        return [c[len(INPUT_PREFIX) :] for c in self.columns if c.startswith(INPUT_PREFIX)]

    def table(self, names: Iterable[str], variant: str | None = None) -> pa.Table:
        """The chosen columns (inputs by their own name) of the window's live rows; an
        input no file has comes back as nulls."""
        wanted = list(dict.fromkeys(names))
        if not self.files:  # nothing was collected in the window
            return pa.table({name: pa.array([], pa.string()) for name in wanted})
        select = []
        for name in wanted:
            column = name if name in (PREDICTION, "request_id", "row") else INPUT_PREFIX + name
            select.append(
                f"{quote(column)} AS {quote(name)}"
                if column in self.columns
                else f"NULL AS {quote(name)}"
            )
        where, params = self.where, [self.files, self.since, self.until]
        if variant is not None:
            where += " AND variant = ?"
            params.append(variant)
        return self.con.sql(
            f"SELECT {', '.join(select) or '1'} FROM read_parquet(?, union_by_name=true) d "
            f"WHERE {where}",
            params=params,
        ).to_arrow_table()

    def labelled(
        self, lake: Lake, matured: str = "d.time", now: datetime | None = None
    ) -> pa.Table:
        """(prediction, actual) for every live row that has feedback in ``lake``; the
        newest wins. ``matured``: SQL on row ``d`` that says its label counts at ``now``
        (``monitoring.maturity``)."""
        lake.attach(self.con)
        feedback = feedback_files(lake, self.deployment)
        if not self.files or not feedback or PREDICTION not in self.columns:
            return pa.table(
                {PREDICTION: pa.array([], pa.string()), "actual": pa.array([], pa.string())}
            )
        return self.con.sql(
            self._FEEDBACK + "SELECT d.prediction AS prediction, fb.actual AS actual "
            "FROM read_parquet(?, union_by_name=true) d "
            'JOIN fb ON d.request_id = fb.request_id AND d."row" = fb."row" '
            f"WHERE {self.where} AND {matured} <= ?",
            params=[feedback, self.files, self.since, self.until, now or self.until],
        ).to_arrow_table()

    def with_labels(self, table: pa.Table, lake: Lake) -> pa.Table:
        """``table`` (with ``request_id`` and ``row``) plus ``actual``: the newest feedback
        in ``lake`` for each row, or null."""
        lake.attach(self.con)
        feedback = feedback_files(lake, self.deployment)
        if not feedback:
            return table.append_column("actual", pa.nulls(table.num_rows, pa.string()))
        self.con.register("labelled_rows", table)
        try:
            return self.con.sql(
                self._FEEDBACK + "SELECT s.*, fb.actual AS actual FROM labelled_rows s "
                'LEFT JOIN fb ON s.request_id = fb.request_id AND s."row" = fb."row"',
                params=[feedback],
            ).to_arrow_table()
        finally:
            self.con.unregister("labelled_rows")

    def latest_by_key(self, key: str, outcomes: pa.Table) -> pa.Table:
        """For each outcome (``idx``, ``value``, ``observed_at``), the live row whose key
        column ``key`` equals ``value`` scored last at or before ``observed_at``:
        (``idx``, ``request_id``, ``row``); outcomes without one are left out."""
        column = KEY_PREFIX + key
        if column not in self.columns:
            return pa.table({"idx": pa.array([], pa.int64())})
        self.con.register("outcomes", outcomes)
        try:
            return self.con.sql(
                'SELECT o.idx, d.request_id, d."row" FROM outcomes o '
                f"JOIN read_parquet(?, union_by_name=true) d ON d.{quote(column)} = o.value "
                "AND d.time <= o.observed_at AND d.role = 'live' "
                'QUALIFY row_number() OVER (PARTITION BY o.idx ORDER BY d.time DESC, d."row" '
                "DESC) = 1",
                params=[self.files],
            ).to_arrow_table()
        finally:
            self.con.unregister("outcomes")

    def close(self) -> None:
        self.con.close()


# -- comparing --------------------------------------------------------------------------------
def _numbers(column: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """The column as float64 with NaN for nulls, and how many values were not numbers."""
    if (
        pa.types.is_integer(column.type)
        or pa.types.is_floating(column.type)
        or pa.types.is_boolean(column.type)
        or pa.types.is_null(column.type)
    ):
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), 0
    import pandas as pd

    raw = column.to_pandas()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    errors = int((raw.notna().to_numpy() & np.isnan(values)).sum())
    return values, errors


def _sample(values: np.ndarray) -> np.ndarray:
    if values.size <= DISTANCE_SAMPLE:
        return values
    rng = np.random.default_rng(0)  # the same window gives the same report
    return values[rng.choice(values.size, DISTANCE_SAMPLE, replace=False)]


def category_counts(column: pa.ChunkedArray) -> dict[str, int]:
    if pa.types.is_null(column.type):
        return {}
    if pa.types.is_boolean(column.type):  # pandas spells them True/False, as baselines do
        column = pc.if_else(column, "True", "False")
    elif not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    counted = pc.value_counts(column.combine_chunks().drop_null())
    return {
        str(v): int(n)
        for v, n in zip(
            counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
        )
    }


def _rate(part: float, whole: float) -> float:
    return float(part / whole) if whole else 0.0


def compare_feature(name: str, reference: Any, column: pa.ChunkedArray) -> dict[str, Any]:
    rows = len(column)
    out: dict[str, Any] = {"feature": name, "kind": reference.kind, "rows": rows}
    if isinstance(reference, NumericalProfile):
        values, type_errors = _numbers(column)
        present = values[~np.isnan(values)]
        nulls = rows - present.size - type_errors
        outside = 0
        if reference.count and present.size:
            outside = int(
                np.count_nonzero((present < reference.minimum) | (present > reference.maximum))
            )
        out.update(
            null_rate=_rate(nulls, rows),
            type_error_rate=_rate(type_errors, rows),
            out_of_bounds_rate=_rate(outside, present.size),
            drift=None,
        )
        if present.size and reference.sample.size:
            current = _sample(present)
            found = numerical_drift(name, reference.sample, current)
            out["drift"] = found.to_dict()
            out["wasserstein"] = (
                found.score
                if found.method == "wasserstein"
                else wasserstein_normalized(reference.sample, current)
            )
            out["psi"] = psi(reference.sample, current)
            out["drift_sample"] = int(current.size)
        return out
    assert isinstance(reference, CategoricalProfile)
    counts = category_counts(column)
    present = sum(counts.values())
    known = reference.counts
    unseen = 0 if OTHER in known else sum(n for k, n in counts.items() if k not in known)
    out.update(
        null_rate=_rate(rows - present, rows),
        type_error_rate=0.0,
        out_of_bounds_rate=_rate(unseen, present),
        drift=None,
    )
    if present and reference.count:
        out["drift"] = categorical_drift(name, known, counts).to_dict()
    return out


def compare(reference: Baseline, table: pa.Table, features: list[str]) -> dict[str, Any]:
    """Drift and quality of each feature and of the predictions, against ``reference``
    (a baseline: ``{"features": {...}, "predictions": {...}}`` of profile dicts)."""
    ref_features = Profile.from_dict({"rows": 0, "features": reference["features"]}).features
    results = [
        compare_feature(f, ref_features[f], table.column(f)) for f in features if f in ref_features
    ]
    drifted = [r["feature"] for r in results if r["drift"] and r["drift"]["drifted"]]
    prediction = None
    ref_predictions = Profile.from_dict(
        {"rows": 0, "features": reference.get("predictions") or {}}
    ).features
    if PREDICTION in ref_predictions and PREDICTION in table.column_names:
        prediction = compare_feature(
            PREDICTION, ref_predictions[PREDICTION], table.column(PREDICTION)
        )
    compared = [r for r in results if r["drift"] is not None]
    return {
        "features": results,
        "drifted_features": drifted,
        "drift_share": _rate(len(drifted), len(compared)),
        "prediction": prediction,
        "quality": {
            key: max((r[key] for r in results), default=0.0)
            for key in ("null_rate", "type_error_rate", "out_of_bounds_rate")
        },
    }


def window_profile(table: pa.Table, features: list[str]) -> Baseline:
    """A window of collected rows as a reference, shaped like a baseline."""
    profile = Profile.of(table.select(features).to_pandas()) if features else Profile()
    predictions: dict[str, Any] = {}
    if PREDICTION in table.column_names:
        column = table.column(PREDICTION)
        numeric = pa.types.is_floating(column.type)
        import pandas as pd

        frame = pd.DataFrame({PREDICTION: column.to_numpy(zero_copy_only=False)})
        if not numeric:
            frame[PREDICTION] = frame[PREDICTION].astype(str)
        predictions = Profile.of(frame).to_dict()["features"]
    return {
        "rows": table.num_rows,
        "features": profile.to_dict()["features"],
        "predictions": predictions,
    }


# -- performance --------------------------------------------------------------------------------
def performance(labelled: pa.Table, regression: bool) -> dict[str, Any] | None:
    """Live performance over the rows that have feedback."""
    if labelled.num_rows == 0:
        return None
    if regression:
        import pandas as pd

        predicted = pc.cast(labelled.column(PREDICTION), pa.float64()).to_numpy(
            zero_copy_only=False
        )
        actual = pd.to_numeric(labelled.column("actual").to_pandas(), errors="coerce")
        return metrics.regression(actual.to_numpy(dtype=np.float64, na_value=np.nan), predicted)
    return metrics.classification(
        pc.cast(labelled.column("actual"), pa.string()).to_pylist(),
        pc.cast(labelled.column(PREDICTION), pa.string()).to_pylist(),
    )
