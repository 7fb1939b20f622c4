"""Monitoring benchmark: what collection costs scoring, and how fast a full report is
against Evidently 0.7 on the same data, in the same run.

    make bench        # runs every benchmark
    .venv/bin/python benchmarks/monitoring.py [--duration 20] [--rows 1000000] [--quick]

1. Collection overhead. The serving benchmark's setup (``harness/payments.py``: the
   one-hot + HistGradientBoosting pipeline on 12 features, one row per request, ``wrk``
   with 16 connections on the same 2 cores, ``modelyard server --workers 2``). Two
   deployments of the same version: ``collect`` (sampling 1.0, every request recorded)
   and ``nocollect`` (sampling 0.0), measured alternately (on, off, off, on, on, off) so
   a slow drift of the machine hits both equally. Overhead = 1 - mean(on) / mean(off).
   Afterwards the collected rows are counted against the answered requests.
2. Scale. A 100,000-row training set of the same 12 features is registered as a dataset
   and the pipeline is registered with it (which stores its baseline). 1,000,000 rows of
   traffic, with three features shifted, are scored in process and written as collected
   Parquet files by the real collector (``Collector``/``Record``), 1,000 rows per
   request, over two hours of a deployment. Timed: the full report
   (``MonitoringService.report``: drift of all 12 features, prediction drift, null /
   type-error / out-of-bounds rates, stored), median of 3 runs; and ``modelyard monitor
   --json`` as a user runs it (process start included). Evidently 0.7's
   ``Report([DataDriftPreset()]).run(current, reference)`` on the same 1,000,000 and
   100,000 rows (its data drift report only: less than modelyard's), in its own venv
   ``.bench/evidently-venv``, timed around ``run`` alone (reading the Parquet files into
   pandas is not counted for it), median of 3. Both tools' drifted columns are listed.

Results: the ``## Monitoring`` section of ``docs/benchmarks.md`` and
``docs/benchmarks/monitoring.json``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness.log import log
from harness.payments import CATEGORICAL, FEATURES, NUMERIC, SEED, build_workload, deploy, generate
from harness.references import EVIDENTLY
from harness.run import Run, parse, parser
from harness.servers import modelyard_command, modelyard_env, modelyard_server
from harness.sides import run_side
from harness.wrk import require_wrk, run_wrk, wrk_version

SECTION = "## Monitoring"
OPTIONS = {"max_batch_size": 256, "max_wait_ms": 0}
BASELINE_ROWS = 100_000
ROWS_PER_REQUEST = 1_000
SHIFTED = {"amount": "x 1.3", "distance_km": "+ 60 km", "carrier": "dhl 30% -> 10%"}
OVERHEAD_GOAL = 0.10
SCALE_GOAL_S = 5.0
SCALE_GOAL_RATIO = 10.0
RUNS = 3


# -- 1. collection overhead -------------------------------------------------------------------
def bench_overhead(tmp: Path, seconds: int) -> dict[str, Any]:
    workload, _ = build_workload(tmp)
    home = tmp / "overhead-home"
    deployments = {
        name: {**OPTIONS, "sampling": s} for name, s in (("collect", 1.0), ("nocollect", 0.0))
    }
    _, created = deploy(home, workload, tmp, "payments", deployments)
    keys = {name: d.new_keys["primary"] for name, d in created.items()}
    runs: list[dict[str, Any]] = []
    with modelyard_server(tmp, 2, home=home) as server:
        for name in ("collect", "nocollect", "nocollect", "collect", "collect", "nocollect"):
            load = {
                "path": f"/v1/deployments/{name}/predict",
                "bodies": workload.native_bodies,
                "connections": 16,
                "threads": 2,
                "auth": f"Bearer {keys[name]}",
            }
            # warm: the first requests of a deployment load nothing, but fill caches
            run_wrk(server.url, seconds=2, **load)
            result = run_wrk(server.url, seconds=seconds, **load)
            result.pop("stdout", None)
            result["deployment"] = name
            if result["non_2xx"] or result["socket_errors"]:
                raise SystemExit(
                    f"{name}: {result['non_2xx']} non-2xx answers, "
                    f"{result['socket_errors']} socket errors: not a valid run"
                )
            runs.append(result)
            log(
                f"  {name}: {result['per_second']:.0f} req/s, p99 {result['p99_ms']:.1f} ms, "
                f"non-2xx {result['non_2xx']}"
            )
    on = [r["per_second"] for r in runs if r["deployment"] == "collect"]
    off = [r["per_second"] for r in runs if r["deployment"] == "nocollect"]
    collected = count_collected(home / "collected" / "deployment=collect")
    answered = sum(r["requests"] for r in runs if r["deployment"] == "collect")
    return {
        "runs": runs,
        "on_per_second": statistics.mean(on),
        "off_per_second": statistics.mean(off),
        "overhead": 1 - statistics.mean(on) / statistics.mean(off),
        "on_p99_ms": statistics.mean(r["p99_ms"] for r in runs if r["deployment"] == "collect"),
        "off_p99_ms": statistics.mean(r["p99_ms"] for r in runs if r["deployment"] == "nocollect"),
        "collected_rows": collected,
        "answered_with_collection": answered,
        "dropped_rows": dropped(server_log=server.log_path),
        "wrk": wrk_version(),
        "seconds_per_run": seconds,
    }


def count_collected(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.rglob("part-*.parquet"))


def dropped(server_log: Path) -> int:
    text = server_log.read_text(errors="replace") if server_log.exists() else ""
    return text.count("could not write")


# -- 2. scale ---------------------------------------------------------------------------------
def shifted_traffic(rows: int) -> Any:
    import numpy as np

    frame = generate(rows, seed=SEED + 7)
    rng = np.random.default_rng(SEED + 8)
    frame["amount"] = np.round(frame["amount"] * 1.3, 2)
    frame["distance_km"] = frame["distance_km"] + 60.0
    carriers = ["dhl", "ups", "dpd", "gls", "postnl", "hermes", "fedex"]
    frame["carrier"] = rng.choice(carriers, rows, p=[0.1, 0.25, 0.2, 0.17, 0.12, 0.1, 0.06])
    return frame


def write_collected(root: Path, deployment: str, variant: str, frame: Any, model: Any) -> float:
    """The traffic as the server would have collected it: real ``Record``s through the real
    collector, over the two hours before now."""
    import numpy as np

    from modelyard.monitoring.collector import Collector, Record
    from modelyard.monitoring.lake import Lake

    started = time.perf_counter()
    predictions = model.predict(frame)
    probabilities = model.predict_proba(frame)
    collector = Collector(Lake.open(str(root)), max_rows=len(frame) + 1)
    columns = {c: frame[c].to_numpy() for c in FEATURES}
    now = datetime.now(UTC)
    n = len(frame)
    for i, start in enumerate(range(0, n, ROWS_PER_REQUEST)):
        part = slice(start, min(n, start + ROWS_PER_REQUEST))
        rows = part.stop - part.start
        collector.add(
            Record(
                request_id=f"bench-{i}",
                time=now
                - timedelta(minutes=110)
                + timedelta(seconds=6.5 * i * ROWS_PER_REQUEST / 1000),
                deployment=deployment,
                revision=1,
                variant=variant,
                role="live",
                status=200,
                latency_ms=5.0,
                inputs={c: values[part] for c, values in columns.items()},
                predictions=np.asarray(predictions[part]),
                probabilities=probabilities[part],
                rows=rows,
            )
        )
        if collector._rows >= 100_000:
            collector.flush()
    collector.flush()
    return time.perf_counter() - started


def bench_scale(tmp: Path, rows: int, evidently_version: str) -> dict[str, Any]:
    from modelyard import Client, Settings

    workload, _ = build_workload(tmp)
    home = tmp / "scale-home"
    baseline = generate(BASELINE_ROWS, seed=SEED + 5)
    traffic = shifted_traffic(rows)
    baseline_path, traffic_path = tmp / "reference.parquet", tmp / "current.parquet"
    baseline.to_parquet(baseline_path, index=False)
    traffic.to_parquet(traffic_path, index=False)
    settings = Settings(home=home, actor="bench")
    with Client(settings=settings) as c:
        t0 = time.perf_counter()
        training = c.register_dataset("orders", baseline_path)
        t1 = time.perf_counter()
        version = c.log_model(
            workload.model,
            "orders",
            input_example=baseline.head(50),
            datasets=[training.ref],
            git_commit=None,
        )
        t2 = time.perf_counter()
        c.create_deployment("orders", [version.ref])
        log(
            f"registered {training.ref} ({t1 - t0:.1f} s) and {version.ref} with its baseline "
            f"({t2 - t1:.1f} s)"
        )
        write_s = write_collected(
            Path(settings.collected_url),
            "orders",
            f"orders:{version.version}",
            traffic,
            workload.model,
        )
        log(f"wrote {rows:,} collected rows in {write_s:.1f} s")
        times, reports = [], []
        for _ in range(RUNS):
            t = time.perf_counter()
            report = c.monitor("orders", since="3h")
            times.append(time.perf_counter() - t)
            reports.append(report)
            log(f"  modelyard report: {times[-1]:.2f} s, {report['rows']:,} rows")
    section = reports[-1]["variants"][0]
    t = time.perf_counter()
    proc = subprocess.run(
        modelyard_command("monitor", "orders", "--since", "3h", "--json"),
        capture_output=True,
        text=True,
        env=modelyard_env(home),
        check=False,
    )
    cli_s = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"modelyard monitor failed: {proc.stderr[-2000:]}")
    cli_rows = json.loads(proc.stdout)["rows"]
    log(f"  modelyard monitor (CLI, process start included): {cli_s:.2f} s")
    evidently = run_evidently(baseline_path, traffic_path, tmp, evidently_version)
    return {
        "rows": rows,
        "baseline_rows": BASELINE_ROWS,
        "features": len(FEATURES),
        "numerical": NUMERIC,
        "categorical": CATEGORICAL,
        "shifted": SHIFTED,
        "collected_files": len(list(Path(settings.collected_url).rglob("part-*.parquet"))),
        "collected_bytes": sum(
            f.stat().st_size for f in Path(settings.collected_url).rglob("*.parquet")
        ),
        "register_dataset_s": t1 - t0,
        "register_with_baseline_s": t2 - t1,
        "report_s": times,
        "report_median_s": statistics.median(times),
        "cli_s": cli_s,
        "cli_rows": cli_rows,
        "drifted": section["drifted_features"],
        "prediction_drift": section["prediction"]["drift"],
        "methods": {f["feature"]: f["drift"]["method"] for f in section["features"]},
        "scores": {f["feature"]: f["drift"]["score"] for f in section["features"]},
        "evidently": evidently,
    }


# -- Evidently --------------------------------------------------------------------------------
def run_evidently(reference: Path, current: Path, tmp: Path, version: str) -> dict[str, Any]:
    cfg = {"reference": str(reference), "current": str(current), "runs": RUNS}
    result = run_side(EVIDENTLY, "evidently_side.py", cfg, tmp)
    result["version"] = version
    for t in result["run_s"]:
        log(f"  Evidently {version} DataDriftPreset: {t:.2f} s")
    return result


# -- results ----------------------------------------------------------------------------------
def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        SECTION,
        "",
        f"Run {result['date']} on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB, "
        f"{m['os']}, Python {m['python']}; git {result['modelyard_git']}. "
        f"Command: `{result['command']}`.",
        "",
    ]
    o = result.get("overhead")
    if o:
        goal = "met" if o["overhead"] <= OVERHEAD_GOAL else "NOT met"
        lines += [
            "### Collection overhead",
            "",
            "`modelyard server --workers 2`, the serving benchmark's pipeline, one row per "
            f"request, `{o['wrk']}` with 16 connections, {o['seconds_per_run']} s per run, "
            "runs alternated (on, off, off, on, on, off).",
            "",
            "| deployment | sampling | req/s (mean) | p99 ms (mean) |",
            "|---|---|---|---|",
            f"| collect | 1.0 | {o['on_per_second']:,.0f} | {o['on_p99_ms']:.1f} |",
            f"| nocollect | 0.0 | {o['off_per_second']:,.0f} | {o['off_p99_ms']:.1f} |",
            "",
            f"Overhead of collecting every request: **{o['overhead']:.1%}** of throughput "
            f"(goal ≤ {OVERHEAD_GOAL:.0%}: **{goal}**). Rows collected: "
            f"{o['collected_rows']:,} for {o['answered_with_collection']:,} requests answered "
            "in the measured runs (the warm-up runs are collected too).",
            "",
            "| run | deployment | req/s | p50 ms | p99 ms | non-2xx |",
            "|---|---|---|---|---|---|",
            *[
                f"| {i + 1} | {r['deployment']} | {r['per_second']:,.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['non_2xx']} |"
                for i, r in enumerate(o["runs"])
            ],
            "",
        ]
    s = result.get("scale")
    if s:
        e = s["evidently"]
        ratio = statistics.median(e["run_s"]) / s["report_median_s"]
        speed = "met" if s["report_median_s"] <= SCALE_GOAL_S else "NOT met"
        versus = "met" if ratio >= SCALE_GOAL_RATIO else "NOT met"
        lines += [
            "### Report at scale",
            "",
            f"{s['rows']:,} collected rows x {s['features']} features ({len(s['numerical'])} "
            f"numerical, {len(s['categorical'])} categorical) in {s['collected_files']} Parquet "
            f"files ({s['collected_bytes'] / 1e6:.0f} MB) against a {s['baseline_rows']:,}-row "
            f"baseline; shifted: {', '.join(f'{k} ({v})' for k, v in s['shifted'].items())}.",
            "",
            "| tool | what | seconds (median of 3) |",
            "|---|---|---|",
            f"| modelyard | full report: drift of 12 features, prediction drift, quality; stored | "
            f"**{s['report_median_s']:.2f}** |",
            "| modelyard | `modelyard monitor --json`, process start included | "
            f"{s['cli_s']:.2f} |",
            f"| Evidently {e['version']} | `Report([DataDriftPreset()]).run(current, reference)` "
            f"(data drift only; pandas frames already in memory) | "
            f"{statistics.median(e['run_s']):.2f} |",
            "",
            f"Goal: ≤ {SCALE_GOAL_S:.0f} s — **{speed}**; ≥ {SCALE_GOAL_RATIO:.0f}x faster than "
            f"Evidently — **{versus}** ({ratio:.1f}x). Evidently also took "
            f"{e['read_s']:.1f} s to read the two Parquet files into pandas, not counted.",
            "",
            f"Drifted, modelyard: {', '.join(sorted(s['drifted'])) or 'none'}; Evidently: "
            f"{', '.join(sorted(e['drifted'])) or 'none'}. Registering the 100,000-row dataset "
            f"took {s['register_dataset_s']:.1f} s and the version with its baseline (profile "
            f"and predictions on every row) {s['register_with_baseline_s']:.1f} s.",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    p = parser("modelyard monitoring benchmark")
    p.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--skip-overhead", action="store_true")
    p.add_argument("--skip-scale", action="store_true")
    args = parse(p, {"duration": 2, "rows": 20_000})
    if not args.skip_overhead:
        require_wrk()
    references = [] if args.skip_scale else [EVIDENTLY]
    with Run("monitoring", SECTION, args, references=references) as run:
        result, tmp = run.result, run.tmp
        if not args.skip_overhead:
            log("collection overhead")
            (tmp / "overhead").mkdir()
            result["overhead"] = bench_overhead(tmp / "overhead", args.duration)
        if not args.skip_scale:
            log("report at scale")
            (tmp / "scale").mkdir()
            result["scale"] = bench_scale(tmp / "scale", args.rows, run.versions["evidently"])
    run.publish(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
