"""Each key's latest prediction: what a spreadsheet or BI tool reads of a deployment (one
row per value of a key column, the newest live scoring of it, online or in batch).

The query runs on a ``Window`` (its DuckDB connection and files)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.monitoring.collector import KEY_PREFIX
from modelyard.monitoring.report import quote

if TYPE_CHECKING:
    from modelyard.monitoring.report import Window


def latest(
    data: Window, key: str, keys: tuple[str, ...], classes: list[str], limit: int
) -> list[dict[str, Any]]:
    """For each value of key column ``key`` (at most ``limit``, in key order): every key
    column, ``prediction``, ``probability_<class>``, ``model_version`` and ``scored_at``
    of its newest live row."""
    column = KEY_PREFIX + key
    if not data.files or column not in data.columns:
        return []
    present = [k for k in keys if KEY_PREFIX + k in data.columns]
    picks = [f"d.{quote(KEY_PREFIX + k)} AS {quote(k)}" for k in present]
    has_proba = "probabilities" in data.columns
    proba = "d.probabilities" if has_proba else "NULL"
    rows = data.con.execute(
        f"SELECT {', '.join(picks)}, CAST(d.prediction AS VARCHAR), {proba}, d.variant, d.time "
        f"FROM read_parquet(?, union_by_name=true) d WHERE {data.where} "
        f"AND d.{quote(column)} IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY d.{quote(column)} "
        'ORDER BY d.time DESC, d."row" DESC) = 1 '
        f"ORDER BY d.{quote(column)} LIMIT ?",
        [data.files, data.since, data.until, limit],
    ).fetchall()
    found = []
    n = len(present)
    for row in rows:
        item: dict[str, Any] = dict(zip(present, row[:n], strict=True))
        item["prediction"] = row[n]
        values = row[n + 1]
        fits = values is not None and len(values) == len(classes)
        for j, c in enumerate(classes):
            item[f"probability_{c}"] = float(values[j]) if fits else None
        item["model_version"] = row[n + 2]
        item["scored_at"] = row[n + 3].isoformat()
        found.append(item)
    return found
