"""The serving benchmark's model without a server: ``predict_proba`` timed in the
benchmark's process, the baselines the servers are compared with (one row, the mean batch
of a run, and 8 rows with OpenMP's default threads and with 1, alone and next to one
process spinning on a core)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from harness.log import log
from harness.payments import Workload
from harness.procfs import own_cpu_seconds
from harness.quiet import other_cpu, wait_quiet
from harness.stats import pct, timed_calls

ONE_ROW_CALLS = 1_000
PROBE_CALLS = 150


def one_row_timing(workload: Workload, calls: int = ONE_ROW_CALLS) -> dict[str, Any]:
    """The pipeline's own ``predict_proba`` on one-row frames, in this process: with
    the native thread pools as they are (OpenMP uses every core) and limited to 1 thread."""
    from threadpoolctl import threadpool_info, threadpool_limits

    frames = [workload.requests.iloc[[i]] for i in range(len(workload.requests))]
    model = workload.model

    def timed(calls: int) -> list[float]:
        for frame in frames[:50]:
            model.predict_proba(frame)
        out = []
        for i in range(calls):
            frame = frames[i % len(frames)]
            t = time.perf_counter()
            model.predict_proba(frame)
            out.append((time.perf_counter() - t) * 1000)
        return out

    openmp = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "openmp"]
    quiet = wait_quiet("in-process one-row timing")
    with other_cpu([]) as other:
        default = timed(calls)
        with threadpool_limits(1):
            single = timed(calls)
    result = {
        "quiet": quiet,
        "other_cpu_cores": other["other_cpu_cores"],
        "calls": calls,
        "default_threads": openmp[0] if openmp else None,
        "median_ms": statistics.median(default),
        "p99_ms": pct(default, 99),
        "one_thread_median_ms": statistics.median(single),
        "one_thread_p99_ms": pct(single, 99),
    }
    result["best_median_ms"] = min(result["median_ms"], result["one_thread_median_ms"])
    log(
        f"in-process one-row predict_proba: median {result['median_ms']:.2f} ms "
        f"({result['default_threads']} threads), {result['one_thread_median_ms']:.2f} ms (1)"
    )
    return result


def batch_call_ms(workload: Workload, rows: int, calls: int = 200) -> float:
    """In-process ``predict_proba`` on a ``rows``-row frame: median ms."""
    rows = max(1, min(rows, len(workload.requests)))
    frame = workload.requests.iloc[:rows]
    _, seconds = timed_calls(lambda: workload.model.predict_proba(frame), 10, calls)
    return statistics.median(seconds) * 1000


def openmp_probe(workload: Workload, calls: int = PROBE_CALLS) -> list[dict[str, Any]]:
    """``predict_proba`` on 8 rows in this process with OpenMP's default thread count and
    with 1 thread, first alone, then with one other process spinning on a core (as a busy
    event loop or any other work on the machine would)."""
    from threadpoolctl import threadpool_limits

    frame = workload.requests.head(8)
    model = workload.model
    cores = os.cpu_count() or 1
    out = []
    for busy in (0, 1):
        spinners = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)
        ]
        try:
            time.sleep(0.3)
            for threads in (cores, 1):
                with threadpool_limits(threads):
                    for _ in range(10):
                        model.predict_proba(frame)
                    times = []
                    cpu0 = own_cpu_seconds()
                    for _ in range(calls):
                        t = time.perf_counter()
                        model.predict_proba(frame)
                        times.append((time.perf_counter() - t) * 1000)
                    cpu = own_cpu_seconds() - cpu0
                out.append(
                    {
                        "busy_processes": busy,
                        "threads": threads,
                        "calls": calls,
                        "median_ms": statistics.median(times),
                        "p99_ms": pct(times, 99),
                        "max_ms": max(times),
                        "cpu_ms_per_call": cpu * 1000 / calls,
                    }
                )
        finally:
            for p in spinners:
                p.kill()
                p.wait()
    for r in out:
        log(
            f"OpenMP probe: {r['busy_processes']} busy, {r['threads']} thread(s): median "
            f"{r['median_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, CPU {r['cpu_ms_per_call']:.1f} ms"
        )
    return out
