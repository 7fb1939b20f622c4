"""Percentiles and timing summaries (standard library only: the reference tools' sides use
them too)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def pct(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method, as numpy's default) of ``values``."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def timing_summary(seconds: list[float]) -> dict[str, float]:
    """Median, p95, min and max of ``seconds``, in ms."""
    ms = [s * 1000 for s in seconds]
    return {
        "median_ms": statistics.median(ms),
        "p95_ms": pct(ms, 95),
        "min_ms": min(ms),
        "max_ms": max(ms),
    }


def rate_summary(durations_ms: list[float], seconds: float) -> dict[str, Any]:
    """``len(durations_ms)`` operations in ``seconds``: the rate and p50 / p95 / max latency."""
    n = len(durations_ms)
    return {
        "n": n,
        "seconds": seconds,
        "per_second": n / seconds,
        "p50_ms": statistics.median(durations_ms),
        "p95_ms": pct(durations_ms, 95),
        "max_ms": max(durations_ms),
    }


def timed_calls(call: Callable[[], Any], warmups: int, runs: int) -> tuple[Any, list[float]]:
    """``call`` ``warmups`` times untimed, then ``runs`` times timed: its last answer and
    each run's seconds."""
    for _ in range(warmups):
        call()
    durations = []
    answer = None
    for _ in range(runs):
        t = time.perf_counter()
        answer = call()
        durations.append(time.perf_counter() - t)
    return answer, durations
