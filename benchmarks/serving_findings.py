"""Findings in modelyard that a serving benchmark run's numbers show, for the
``## Serving`` section: each with its cause (file:line references are to the code measured;
the causes were confirmed by the experiments named in each)."""

from __future__ import annotations

from typing import Any

from harness.report import plural
from serving_report import default_runs, run_label
from serving_targets import WAIT_DEPLOYMENT


def _model_threads(run: dict[str, Any], cores: int) -> int:
    given = run["env"].get("MODELYARD_MODEL_THREADS")
    return int(given) if given else max(1, cores // run["workers"])


def find_problems(result: dict[str, Any]) -> list[str]:
    """Findings in modelyard that this run's numbers show (file:line references are to the
    code measured; the causes were confirmed by the experiments named in each)."""
    problems: list[str] = []
    cores = int(result["machine"]["cores"] or 1)
    runs = {r["key"]: r for r in result["runs"]}
    base, diag = runs.get("modelyard-w1"), runs.get("modelyard-w1-threads1")
    probe = {(r["busy_processes"], r["threads"]): r for r in result.get("openmp_probe", [])}
    if (
        base
        and diag
        and cores > 1
        and diag["c1"]["server_cpu_ms_per_request"] < 0.8 * base["c1"]["server_cpu_ms_per_request"]
    ):
        slower = base["c1"]["p50_ms"] > diag["c1"]["p50_ms"] + 0.2
        text = (
            f"`modelyard server` gives each worker's model cores / workers native threads "
            f"(`cli/server.py:47`: {cores} OpenMP threads for 1 worker here), which buys "
            "nothing for online scoring and costs CPU"
            + (" and latency" if slower else "")
            + ". With 1 worker, 1 connection: "
            f"{base['c1']['server_cpu_ms_per_request']:.1f} ms of server CPU per request, "
            f"p50 {base['c1']['p50_ms']:.2f} ms, against "
            f"{diag['c1']['server_cpu_ms_per_request']:.1f} ms and "
            f"{diag['c1']['p50_ms']:.2f} ms with `MODELYARD_MODEL_THREADS=1`; 16 connections: "
            f"{base['c16']['per_second']:.0f} req/s at "
            f"{base['c16']['server_cpu_ms_per_request']:.2f} ms CPU per request against "
            f"{diag['c16']['per_second']:.0f} req/s at "
            f"{diag['c16']['server_cpu_ms_per_request']:.2f} ms. The gradient boosting "
            "predicts tree by tree, one OpenMP parallel region per tree (300 here), and "
            "OpenMP's idle threads spin between regions."
        )
        spin, one = probe.get((1, cores)), probe.get((1, 1))
        alone, alone1 = probe.get((0, cores)), probe.get((0, 1))
        if spin and one and alone and alone1:
            text += (
                f" Measured in-process in the same run (8-row `predict_proba`): {cores} "
                f"threads cost {alone['cpu_ms_per_call']:.1f} ms of CPU per call against "
                f"{alone1['cpu_ms_per_call']:.1f} ms with 1 (median "
                f"{alone['median_ms']:.1f} vs {alone1['median_ms']:.1f} ms); with one other "
                f"process busy on a core, p99 is {spin['p99_ms']:.0f} ms with {cores} "
                f"threads against {one['p99_ms']:.1f} ms with 1 (max {spin['max_ms']:.0f} ms): "
                "each region's barrier waits for a thread the scheduler has parked. In a "
                "worker the event loop is such a busy thread, and so is any other load on "
                "the host: while this benchmark was being written, a test suite ran on the "
                "same 2 cores, model calls in a 1-worker server took about 0.9 s each (30 "
                "calls in 26 s, from `/metrics`) and the server answered nothing for seconds "
                "at a time."
            )
        text += (
            " A default of 1 thread per worker for online scoring (batch scoring can still "
            "use every core) avoids both."
        )
        problems.append(text)
    for r in default_runs(result, "modelyard") + [d for d in (diag,) if d]:
        b = r.get("batching") or {}
        call, same = b.get("mean_model_call_ms"), b.get("in_process_call_ms_same_rows")
        if _model_threads(r, cores) == 1 and call and same and call > 1.4 * same:
            problems.append(
                f"{run_label(r)}, {r['workers']} worker(s), 16 connections: a model call took "
                f"{call:.1f} ms on average for {b['mean_rows_per_call']:.1f} rows "
                f"(`modelyard_model_call_seconds`), the same `predict_proba` "
                f"{same:.1f} ms in-process. The model runs in a model worker process "
                "(`runtimes/worker.py`): a call's time includes sending the columns as "
                "Arrow, the worker rebuilding the DataFrame, the reply, the wake-ups of both "
                "processes, and waiting behind the other call in flight for the same model "
                "(`serving/batcher.py`, `IN_FLIGHT`)."
            )
            break

    gc_run = next((r for r in result["runs"] if r["key"].endswith("-gc")), None)
    frozen = (gc_run or {}).get("extra", {}).get("gc_frozen")
    if gc_run and frozen and gc_run["c16"].get("gc", {}).get("max_ms", 0) > 20:
        before, after = gc_run["c16"], frozen
        g0, g1 = before["gc"], after["gc"]
        objects = (gc_run.get("frozen") or {}).get("objects") or [0]
        counted = plural(g0["full_collections"], "full (generation 2) collection")
        others = [
            w["max_ms"]
            for r in result["runs"]
            if r["tool"] == "modelyard"
            for w in (r["c16"], *(r.get("extra") or {}).values())
            if w is not frozen
        ]
        problems.append(
            f"Full garbage collections stall the workers: with {gc_run['workers']} workers "
            f"at 16 connections, {counted} in {before['seconds']:.0f} s took up to "
            f"{g0['max_ms']:.0f} ms "
            f"({g0['total_ms']:.0f} ms in all; logged by a `gc.callbacks` hook, diagnostic "
            f"row `full collections logged`), and the run's p99 was {before['p99_ms']:.0f} ms, "
            f"max {before['max_ms']:.0f} ms: every request in flight in that worker waits. "
            f"A worker holds about {max(objects):,} objects tracked by the collector once it "
            "has loaded the model "
            "(modelyard, FastAPI, SQLAlchemy, pandas, scikit-learn, the pipeline), and "
            "each full collection walks all of them. The same server after `gc.freeze()` in "
            "each worker (sent by the benchmark through the same hook; diagnostic row `heap "
            "frozen`): "
            + (
                f"{plural(g1['full_collections'], 'full collection')} of at most "
                f"{g1['max_ms']:.1f} ms"
                if g1["full_collections"]
                else "no full collection"
            )
            + f", p99 {after['p99_ms']:.0f} ms, max {after['max_ms']:.0f} "
            f"ms, {after['per_second']:.0f} req/s (before: {before['per_second']:.0f})"
            + (
                f"; every other modelyard run at 16 connections here has a max latency of "
                f"{min(others):.0f}-{max(others):.0f} ms"
                if others
                else ""
            )
            + ". A model worker freezes its heap once it has loaded a model "
            "(`runtimes/worker.py`), but a server worker never freezes its own startup "
            "heap; a `gc.collect(); gc.freeze()` at the end of the app's startup would "
            "remove these pauses."
        )

    def single_share(r: dict[str, Any]) -> float:
        b = r.get("batching") or {}
        hist = b.get("rows_histogram") or []
        return hist[0]["count"] / b["model_calls"] if hist and b.get("model_calls") else 0.0

    defaults = default_runs(result, "modelyard")
    worst = max(defaults, key=single_share) if defaults else None
    if worst and single_share(worst) > 0.3:
        b = worst["batching"]
        single, calls = b["rows_histogram"][0]["count"], b["model_calls"]
        text = (
            f"With {worst['workers']} worker(s) at 16 connections, {single:,} of "
            f"{calls:,} model calls ({single / calls:.0%}) scored a single row while the "
            f"others averaged {(b['rows_scored'] - single) / max(1, calls - single):.1f}: "
            "with the default `max_wait_ms: 0` the batcher dispatches the first request "
            "that finds the model idle on its own (`serving/batcher.py:69-71`), so after "
            "a batch the next arrival can take a whole model call for one row (a call "
            "costs about the same for 1 row as for 8 with this pipeline) while the rest "
            "queue behind it."
        )
        wait = next(
            (
                (r, w)
                for r in result["runs"]
                for w in (r.get("extra") or {}).values()
                if w.get("deployment") == WAIT_DEPLOYMENT
            ),
            None,
        )
        if wait:
            r, w = wait
            costly = w["p99_ms"] > 1.2 * r["c16"]["p99_ms"]
            faster = w["per_second"] > 1.1 * r["c16"]["per_second"]
            text += (
                f" A deployment of the same version with `max_wait_ms: 2` "
                f"(diagnostic row, {r['workers']} workers) does {w['per_second']:.0f} "
                f"req/s, p99 {w['p99_ms']:.0f} ms, against {r['c16']['per_second']:.0f} "
                f"req/s, p99 {r['c16']['p99_ms']:.0f} ms with the default"
                + (
                    ": the fixed wait buys throughput with tail latency, so the default is a "
                    "trade-off, not a bug."
                    if costly
                    else ". The default favours the latency of a lightly loaded server; "
                    "under load a short wait pays for itself."
                    if faster
                    else ": no clear difference in this run."
                )
                + " A dispatch that first lets the event loop queue the requests it has "
                "already read might recover part of it without a fixed delay (not measured "
                "here)."
            )
        problems.append(text)
    return problems
