"""The Evidently side of ``monitoring.py``: runs in ``.bench/evidently-venv``.

Reads the reference and current Parquet files into pandas (timed apart), then times
``Report([DataDriftPreset()]).run(current, reference)`` ``--runs`` times and prints one
``BENCH_RESULT {...}`` line: the times and the columns Evidently found drifted.
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

RESULT_PREFIX = "BENCH_RESULT "


def drifted_columns(result: dict) -> list[str]:  # type: ignore[type-arg]
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


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--reference", required=True)
    p.add_argument("--current", required=True)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    t = time.perf_counter()
    reference = pd.read_parquet(args.reference)
    current = pd.read_parquet(args.current)
    read_s = time.perf_counter() - t
    times, result = [], {}
    for _ in range(args.runs):
        report = Report([DataDriftPreset()])
        t = time.perf_counter()
        evaluation = report.run(current, reference)
        times.append(time.perf_counter() - t)
        result = evaluation.dict()
    print(
        RESULT_PREFIX
        + json.dumps(
            {
                "read_s": read_s,
                "run_s": times,
                "drifted": drifted_columns(result),
                "metrics": [
                    {
                        "name": str(m.get("metric_id") or m.get("metric_name")),
                        "value": m.get("value"),
                    }
                    for m in result.get("metrics", [])
                ][:40],
            },
            default=str,
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
