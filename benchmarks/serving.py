"""Serving benchmark: modelyard's scoring server against ``mlflow models serve``, same run.

    make bench        # installs wrk (scripts/bench-deps.sh), runs every benchmark
    .venv/bin/python benchmarks/serving.py [--duration 20] [--batch-rows 1000000] [--quick]

The workload (``harness/payments.py``): a scikit-learn ``Pipeline`` (``ColumnTransformer``
one-hot encoding 4 string columns with ``handle_unknown="ignore"``, 8 numeric columns
passed through, then ``HistGradientBoostingClassifier``), 3 classes, trained on generated
data (fixed seed). One row per request.

1. Throughput at 16 connections: ``wrk -t2 -c16 --latency`` (``wrk_post.lua``: one JSON
   body per request, cycling through 1,000 generated rows) against ``modelyard server``
   with 1 and 2 workers (native ``/v1/deployments/payments/predict``; with 1 worker also
   the MLflow protocol at ``.../invocations``) and against ``mlflow models serve`` with
   its default worker count (1) and with 2, scored at ``/invocations`` with
   ``dataframe_split``. req/s, p50/p90/p99, non-2xx and socket errors, the server's CPU
   and resident memory, what other processes used meanwhile, and modelyard's
   ``/metrics`` batch histograms over the run. A multi-worker run whose connections
   landed unevenly on the workers is run again (twice at most; the fastest is kept).
   Diagnostics, not used for the goals: the 1-worker server with
   ``MODELYARD_MODEL_THREADS=1``; a second deployment with ``max_wait_ms: 2``; the
   2-worker server with a ``sitecustomize`` hook (``serving_gc.py``, on its
   ``PYTHONPATH``) that logs full garbage collections, measured before and after the
   hook freezes each worker's heap (``gc.freeze()``, on SIGUSR1); and, in this process,
   ``predict_proba`` on 8 rows with OpenMP's default threads and with 1, alone and next
   to one process spinning on a core.
2. One connection: ``wrk -t1 -c1`` p50/p99 against each server, next to the pipeline's
   own in-process one-row ``predict_proba`` (median of many calls, in this process).
3. Batch: 1,000,000 generated rows in a Parquet file; in-process ``predict_proba`` and
   ``predict`` over the whole frame against ``modelyard predict payments --input
   rows.parquet --output out.parquet`` (the CLI, embedded, wall time including process
   start) and ``Client().predict_file(...)`` in this process; the outputs are checked
   (row count, predictions equal the in-process ones, probabilities match).
4. Top factors: the cost per row of ``?explain=3`` for the pipeline (baseline Shapley)
   and for an XGBoost and a LightGBM model (TreeSHAP), on a server of their own
   (``serving_explain.py``).

Before any timing, each server's answers to 100 requests are checked against the
in-process predictions (and probabilities, where the protocol returns them). MLflow runs
from ``.bench/mlflow-venv`` (created on first use) with the same scikit-learn
version as the project (installed there if it differs); the fitted pipeline is handed
over as a joblib file and saved with ``mlflow.sklearn.save_model`` by
``mlflow_serving_side.py``. Every server listens on 127.0.0.1 only, in its own process
group, and is stopped when its phase ends, even on errors. wrk runs on the same 2 cores
as the server. Everything runs in one fresh temporary folder, deleted at the end.

The servers and their runs: ``serving_targets.py``; in-process timings:
``serving_inprocess.py``; batch: ``serving_batch.py``; modelyard's ``/metrics``:
``serving_metrics.py``. Results: the ``## Serving`` section of ``docs/benchmarks.md``
(``serving_report.py``, ``serving_findings.py``; regenerated, other sections kept) and
``docs/benchmarks/serving.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.log import log
from harness.payments import REQUEST_ROWS, TRAIN_ROWS, Workload, build_workload, deploy
from harness.references import MLFLOW
from harness.run import Run, int_list, parse, parser
from harness.sides import run_side
from harness.wrk import require_wrk, wrk_version
from serving_batch import bench_batch
from serving_explain import bench_explain
from serving_findings import find_problems
from serving_gc import write_gc_harness
from serving_inprocess import ONE_ROW_CALLS, PROBE_CALLS, one_row_timing, openmp_probe
from serving_report import SECTION, evaluate_goals, render_section
from serving_targets import (
    COMPILED,
    CONNECTIONS,
    DEPLOYMENT,
    SERVING_OPTIONS,
    VERIFY_ROWS,
    WAIT_DEPLOYMENT,
    WAIT_OPTIONS,
    bench_target,
    mlflow_serve_cmd,
    targets,
)


# -- modelyard and MLflow setup ----------------------------------------------------------
def register_modelyard(home: Path, workload: Workload, tmp: Path) -> dict[str, Any]:
    deployments = {DEPLOYMENT: SERVING_OPTIONS, WAIT_DEPLOYMENT: WAIT_OPTIONS}
    version, created = deploy(home, workload, tmp, DEPLOYMENT, deployments)
    d, wait = created[DEPLOYMENT], created[WAIT_DEPLOYMENT]
    ref = f"{DEPLOYMENT}:{version.version}"
    log(f"modelyard: logged {ref}, deployments {d.name!r} and {wait.name!r} created")
    compiled, compiled_key = compile_and_deploy(home, ref)
    return {
        "compiled": compiled,
        "version": ref,
        "flavor": version.flavor,
        "options": d.revision.options.to_dict(),
        "diagnostic_options": wait.revision.options.to_dict(),
        "keys": {
            DEPLOYMENT: d.new_keys["primary"],
            WAIT_DEPLOYMENT: wait.new_keys["primary"],
            COMPILED: compiled_key,
        },
    }


def compile_and_deploy(home: Path, ref: str) -> tuple[dict[str, Any], str]:
    """``models compile`` of the version (timed), and a deployment of the result."""
    import time

    from modelyard import Client, Settings

    with Client(settings=Settings(home=home, actor="bench")) as c:
        started = time.perf_counter()
        version = c.compile_version(ref)
        seconds = time.perf_counter() - started
        key = c.create_deployment(COMPILED, [version.ref], options=SERVING_OPTIONS)
    log(f"modelyard: compiled {ref} to {version.ref} in {seconds:.1f} s: {version.params}")
    info = {"version": version.ref, "seconds": seconds, "verification": version.params}
    return info, key.new_keys["primary"]


def save_mlflow_model(tmp: Path) -> tuple[Path, dict[str, Any]]:
    """The fitted pipeline saved as an MLflow model (``mlflow_serving_side.py``), with the
    scikit-learn version that fitted it (installed in MLflow's venv if it differs)."""
    import sklearn

    MLFLOW.match("scikit-learn", "sklearn", sklearn.__version__)
    target = tmp / "mlflow-model"
    cfg = {
        "model_path": str(tmp / "model.joblib"),
        "example_path": str(tmp / "example.parquet"),
        "save_dir": str(target),
        "sklearn_version": sklearn.__version__,
    }
    return target, run_side(MLFLOW, "mlflow_serving_side.py", cfg, tmp)


# -- main ------------------------------------------------------------------------------------
QUICK = {
    "duration": 2,
    "duration_one": 2,
    "warmup": 1,
    "mlflow_workers": [1],
    "batch_rows": 20_000,
    "train_rows": 5_000,
    "one_row_calls": 100,
    "probe_calls": 15,
}


def parse_args() -> argparse.Namespace:
    p = parser("modelyard serving vs mlflow models serve", reference=MLFLOW)
    p.add_argument("--duration", type=int, default=20, help="seconds per 16-connection run")
    p.add_argument("--duration-one", type=int, default=10, help="seconds per 1-connection run")
    p.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server")
    p.add_argument("--workers", type=int_list, default=[1, 2], help="modelyard (default 1,2)")
    p.add_argument(
        "--mlflow-workers",
        type=int_list,
        default=[1, 2],
        help="MLflow (default 1,2; 1 is its default)",
    )
    p.add_argument(
        "--no-diagnostic",
        dest="diagnostic",
        action="store_false",
        help="skip the diagnostic runs (MODELYARD_MODEL_THREADS=1, max_wait_ms: 2, GC)",
    )
    p.add_argument("--batch-rows", type=int, default=1_000_000, help="rows in the batch file")
    p.add_argument("--skip-batch", action="store_true", help="no batch measurement")
    p.add_argument("--skip-explain", action="store_true", help="no top-factors measurement")
    p.add_argument("--train-rows", type=int, default=TRAIN_ROWS, help="rows the model learns")
    p.add_argument(
        "--one-row-calls",
        type=int,
        default=ONE_ROW_CALLS,
        help="in-process one-row predict_proba calls timed",
    )
    p.add_argument(
        "--probe-calls",
        type=int,
        default=PROBE_CALLS,
        help="in-process 8-row predict_proba calls timed per OpenMP setting",
    )
    args = parse(p, QUICK)
    numbers = (args.duration, args.duration_one, args.warmup, args.batch_rows)
    if min(*numbers, args.train_rows, args.one_row_calls, args.probe_calls) < 1:
        p.error("durations and row counts must be at least 1")
    if not args.workers:
        p.error("--workers needs at least one worker count")
    if not args.mlflow_workers:
        args.skip_mlflow = True
    return args


def main() -> int:
    args = parse_args()
    require_wrk()
    import numpy
    import pandas
    import sklearn

    with Run("serving", SECTION, args, references=[MLFLOW]) as run:
        result, tmp = run.result, run.tmp
        result["versions"] = {
            "sklearn": sklearn.__version__,
            "pandas": pandas.__version__,
            "numpy": numpy.__version__,
        }
        result["wrk_version"] = wrk_version()
        result["parameters"] = {
            "connections": CONNECTIONS,
            "duration_s": args.duration,
            "duration_one_s": args.duration_one,
            "warmup_s": args.warmup,
            "workers": args.workers,
            "mlflow_workers": [] if args.skip_mlflow else args.mlflow_workers,
            "request_rows": REQUEST_ROWS,
            "verify_rows": VERIFY_ROWS,
            "serving_options": SERVING_OPTIONS,
            "batch_rows": None if args.skip_batch else args.batch_rows,
        }
        workload, result["workload"] = build_workload(tmp, args.train_rows)
        result["in_process"] = one_row_timing(workload, args.one_row_calls)
        result["openmp_probe"] = openmp_probe(workload, args.probe_calls)
        home = tmp / "home"
        registered = register_modelyard(home, workload, tmp)
        keys = registered.pop("keys")
        result["modelyard_deployment"] = registered
        mlflow_dir = None
        if not args.skip_mlflow:
            mlflow_dir, result["mlflow"] = save_mlflow_model(tmp)
            result["mlflow"]["serve_command"] = " ".join(
                ["mlflow", *mlflow_serve_cmd("<dir>", "PORT", 2)[1:]]
            )
        result["runs"] = [
            bench_target(t, args, workload, home, mlflow_dir, keys, tmp / t.key)
            for t in targets(args, write_gc_harness(tmp / "gc-harness"))
        ]
        if not args.skip_batch:
            result["batch"] = bench_batch(tmp, home, workload, args.batch_rows)
        if not args.skip_explain:
            result["explain"] = bench_explain(tmp, workload, args.train_rows)
        result["goals"] = evaluate_goals(result)
        result["problems"] = find_problems(result)
    run.publish(render_section(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
