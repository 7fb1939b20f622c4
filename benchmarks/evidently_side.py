"""The Evidently side of ``monitoring.py``: runs in ``.bench/evidently-venv``
(``harness.references.EVIDENTLY``).

Reads the reference and current Parquet files into pandas (timed apart), then times
``Report([DataDriftPreset()]).run(current, reference)`` ``runs`` times and reports the
times and the columns Evidently found drifted. Config and result: ``harness.sides``.
"""

from __future__ import annotations

import time
from typing import Any

from harness.sides import side_main


def drifted_columns(result: dict[str, Any]) -> list[str]:
    found = []
    for metric in result.get("metrics", []):
        name = str(metric.get("metric_id") or metric.get("metric_name") or "")
        value = metric.get("value")
        if "ValueDrift" in name and isinstance(value, int | float):
            column = (
                name.split("column=", 1)[1].split(",", 1)[0].rstrip(")")
                if "column=" in name
                else name
            )
            threshold = 0.1
            if "threshold=" in name:
                threshold = float(name.split("threshold=", 1)[1].split(",", 1)[0].rstrip(")"))
            method = name.split("method=", 1)[1].split(",", 1)[0] if "method=" in name else ""
            # p-value methods drift below the threshold, distances above it
            is_p_value = "p_value" in method or "test" in method.lower()
            if (value < threshold) if is_p_value else (value >= threshold):
                found.append(column)
    return found


def run(cfg: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    t = time.perf_counter()
    reference = pd.read_parquet(cfg["reference"])
    current = pd.read_parquet(cfg["current"])
    read_s = time.perf_counter() - t
    times, result = [], {}
    for _ in range(int(cfg["runs"])):
        report = Report([DataDriftPreset()])
        t = time.perf_counter()
        evaluation = report.run(current, reference)
        times.append(time.perf_counter() - t)
        result = evaluation.dict()
    return {
        "read_s": read_s,
        "run_s": times,
        "drifted": drifted_columns(result),
        "metrics": [
            {"name": str(m.get("metric_id") or m.get("metric_name")), "value": m.get("value")}
            for m in result.get("metrics", [])
        ][:40],
    }


if __name__ == "__main__":
    raise SystemExit(side_main(__doc__, run, "evidently"))
