"""Serving benchmark: modelyard's scoring server against ``mlflow models serve``, same run.

    make bench        # installs wrk (scripts/bench-deps.sh), runs every benchmark
    .venv/bin/python benchmarks/serving.py [--duration 20] [--batch-rows 1000000]

The workload (``serving_workload.py``): a scikit-learn ``Pipeline`` (``ColumnTransformer``
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
   2-worker server with a ``sitecustomize`` hook (``GC_SITECUSTOMIZE``, on its
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

Before any timing, each server's answers to 100 requests are checked against the
in-process predictions (and probabilities, where the protocol returns them). MLflow runs
from ``.bench/mlflow-venv`` (``registry.py`` creates it) with the same scikit-learn
version as the project (installed there if it differs); the fitted pipeline is handed
over as a joblib file and saved with ``mlflow.sklearn.save_model`` by
``mlflow_serving_side.py``. Every server listens on 127.0.0.1 only, in its own process
group, and is stopped when its phase ends, even on errors. wrk runs on the same 2 cores
as the server. Everything runs in one fresh temporary folder, deleted at the end.

Results: the ``## Serving`` section of ``docs/benchmarks.md`` (regenerated; other sections
are kept) and ``docs/benchmarks/serving.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Siblings (sys.path[0] when run as a script).
from mlflow_server_side import (
    TICK,
    RssSampler,
    read_stat,
    tree_cpu_seconds,
    tree_pids,
    wait_idle,
)
from registry import (
    MLFLOW_PIN,
    REPO,
    RESULT_PREFIX,
    _command,
    _load_average,
    _venv_python,
    _yes,
    ensure_mlflow_venv,
    log,
    machine_info,
    pct,
    publish,
)
from server import (
    ADMIN_TOKEN,
    MB,
    Server,
    _clean_env,
    _git_revision,
    _int_list,
    _mlflow_env,
    _own_cpu_seconds,
    _tool_path,
    free_port,
    serve,
)
from serving_workload import CATEGORICAL, CLASSES, FEATURES, NUMERIC, SEED, generate, train

MLFLOW_SERVING_SIDE = Path(__file__).resolve().with_name("mlflow_serving_side.py")
WRK_SCRIPT = Path(__file__).resolve().with_name("wrk_post.lua")
DOCS = REPO / "docs" / "benchmarks.md"
JSON_OUT = REPO / "docs" / "benchmarks" / "serving.json"
SECTION = "## Serving"

DEPLOYMENT = "payments"
NATIVE_PATH = f"/v1/deployments/{DEPLOYMENT}/predict"
MLFLOW_PROTOCOL_PATH = f"/v1/deployments/{DEPLOYMENT}/invocations"
SERVING_OPTIONS = {"max_batch_size": 256, "max_wait_ms": 0}
# a diagnostic deployment of the same version: waits up to 2 ms for a batch to fill
WAIT_DEPLOYMENT = "payments-wait2"
WAIT_OPTIONS = {"max_batch_size": 256, "max_wait_ms": 2}
TRAIN_ROWS = 50_000
REQUEST_ROWS = 1_000  # distinct rows the load generator cycles through
VERIFY_ROWS = 100
ONE_ROW_CALLS = 1_000
CONNECTIONS = 16

THROUGHPUT_GOAL_RATIO = 20.0
P99_GOAL_MS = 50.0
ONE_CONNECTION_GOAL_MS = 1.0  # p50 above the in-process one-row predict_proba
BATCH_GOAL_RATIO = 0.8
DESIGN_MLFLOW = "38 req/s, p50 395 ms"  # the design docs' figure for MLflow on this class
QUIET_CORES = 0.15  # other processes' CPU below which the machine counts as quiet
QUIET_WAIT_S = 90.0  # per phase, at most
DISTURBED_CORES = 0.25  # other processes' CPU during a run above which it is flagged


# -- the workload ------------------------------------------------------------------------
@dataclass
class Workload:
    model: Any
    requests: Any  # pd.DataFrame, the rows the load generator sends
    expected_labels: Any  # np.ndarray
    expected_proba: Any  # np.ndarray, columns in model.classes_ order
    native_bodies: Path
    mlflow_bodies: Path
    native_lines: list[bytes]
    mlflow_lines: list[bytes]


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts of plain Python values."""
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
        for rec in frame.to_dict(orient="records")
    ]


def build_workload(tmp: Path) -> tuple[Workload, dict[str, Any]]:
    import joblib

    log(f"training the pipeline on {TRAIN_ROWS:,} generated rows")
    t0 = time.perf_counter()
    model, X, y = train(TRAIN_ROWS)
    train_s = time.perf_counter() - t0
    if list(model.classes_) != sorted(CLASSES):
        raise SystemExit(f"unexpected classes {model.classes_}")
    joblib.dump(model, tmp / "model.joblib")
    X.head(200).to_parquet(tmp / "example.parquet", index=False)
    requests = generate(REQUEST_ROWS, seed=SEED + 2)
    records = _records(requests)
    native = [json.dumps({"inputs": [r]}).encode() for r in records]
    mlflow = [
        json.dumps(
            {"dataframe_split": {"columns": FEATURES, "data": [[r[c] for c in FEATURES]]}}
        ).encode()
        for r in records
    ]
    native_path, mlflow_path = tmp / "bodies-native.jsonl", tmp / "bodies-mlflow.jsonl"
    native_path.write_bytes(b"\n".join(native) + b"\n")
    mlflow_path.write_bytes(b"\n".join(mlflow) + b"\n")
    workload = Workload(
        model,
        requests,
        model.predict(requests),
        model.predict_proba(requests),
        native_path,
        mlflow_path,
        native,
        mlflow,
    )
    info = {
        "train_rows": TRAIN_ROWS,
        "train_s": train_s,
        "train_accuracy": float((model.predict(X) == y).mean()),
        "class_shares": {c: float((y == c).mean()) for c in CLASSES},
        "numeric_columns": NUMERIC,
        "categorical_columns": CATEGORICAL,
        "request_rows": REQUEST_ROWS,
        "native_body_example": native[0].decode(),
        "mlflow_body_example": mlflow[0].decode(),
    }
    return workload, info


def one_row_timing(workload: Workload) -> dict[str, Any]:
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
        default = timed(ONE_ROW_CALLS)
        with threadpool_limits(1):
            single = timed(ONE_ROW_CALLS)
    result = {
        "quiet": quiet,
        "other_cpu_cores": other["other_cpu_cores"],
        "calls": ONE_ROW_CALLS,
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
    for _ in range(10):
        workload.model.predict_proba(frame)
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        workload.model.predict_proba(frame)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def openmp_probe(workload: Workload, calls: int = 150) -> list[dict[str, Any]]:
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
                    cpu0 = _own_cpu_seconds()
                    for _ in range(calls):
                        t = time.perf_counter()
                        model.predict_proba(frame)
                        times.append((time.perf_counter() - t) * 1000)
                    cpu = _own_cpu_seconds() - cpu0
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


# -- modelyard and MLflow setup ----------------------------------------------------------
def register_modelyard(home: Path, workload: Workload, tmp: Path) -> dict[str, Any]:
    import pandas as pd

    from modelyard import Client, Settings

    example = pd.read_parquet(tmp / "example.parquet")
    with Client(settings=Settings(home=home, actor="bench")) as c:
        version = c.log_model(workload.model, DEPLOYMENT, input_example=example, git_commit=None)
        ref = f"{DEPLOYMENT}:{version.version}"
        d = c.create_deployment(DEPLOYMENT, [ref], options=SERVING_OPTIONS)
        wait = c.create_deployment(WAIT_DEPLOYMENT, [ref], options=WAIT_OPTIONS)
    log(f"modelyard: logged {ref}, deployments {d.name!r} and {wait.name!r} created")
    return {
        "version": ref,
        "flavor": version.flavor,
        "options": d.revision.options.to_dict(),
        "diagnostic_options": wait.revision.options.to_dict(),
        "keys": {DEPLOYMENT: d.new_keys["primary"], WAIT_DEPLOYMENT: wait.new_keys["primary"]},
    }


def _mlflow_sklearn_version() -> str:
    return subprocess.run(
        [str(_venv_python()), "-c", "import sklearn; print(sklearn.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        env=_mlflow_env(),
    ).stdout.strip()


def ensure_same_sklearn() -> str:
    """The MLflow venv must unpickle with the scikit-learn version that fitted the model."""
    import sklearn

    ours = sklearn.__version__
    theirs = _mlflow_sklearn_version()
    if theirs != ours:
        log(f"MLflow venv has scikit-learn {theirs}; installing {ours} there")
        subprocess.run(
            [
                str(_venv_python()),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"scikit-learn=={ours}",
            ],
            check=True,
            env=_mlflow_env(),
        )
        theirs = _mlflow_sklearn_version()
    if theirs != ours:
        raise SystemExit(f"scikit-learn {theirs} in the MLflow venv, {ours} here")
    return ours


def save_mlflow_model(tmp: Path) -> tuple[Path, dict[str, Any]]:
    import sklearn

    target = tmp / "mlflow-model"
    cfg = {
        "model_path": str(tmp / "model.joblib"),
        "example_path": str(tmp / "example.parquet"),
        "save_dir": str(target),
        "sklearn_version": sklearn.__version__,
    }
    config = tmp / "mlflow-serving-config.json"
    config.write_text(json.dumps(cfg))
    proc = subprocess.run(
        [str(_venv_python()), str(MLFLOW_SERVING_SIDE), "--config", str(config)],
        stdout=subprocess.PIPE,
        text=True,
        env=_mlflow_env(),
        check=False,
        cwd=str(tmp),
    )
    if proc.returncode != 0:
        raise SystemExit(f"the MLflow side failed (exit {proc.returncode})")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return target, json.loads(line[len(RESULT_PREFIX) :])
    raise SystemExit("the MLflow side printed no result")


# -- servers -----------------------------------------------------------------------------
@dataclass
class Target:
    key: str
    tool: str  # modelyard | MLflow
    workers: int
    path: str
    bodies: str  # native | mlflow
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""
    diagnostic: bool = False  # not a default configuration: not used for the goals
    extras: list[Extra] = field(default_factory=list)  # more 16-connection runs, same server
    one_connection: bool = True
    label: str = ""
    gc_log: bool = False  # diagnostic: log full collections; an extra may freeze the heap


@dataclass
class Extra:
    key: str  # mlflow_protocol | wait2
    deployment: str
    path: str
    bodies: str
    label: str
    freeze_first: bool = False  # gc.freeze() in every worker before this run


def modelyard_server(target: Target, home: Path, work: Path) -> Any:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = _clean_env(("MODELYARD_",))
    env.update({"MODELYARD_HOME": str(home), "MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN})
    env.update(target.env)
    cmd = [
        _tool_path(Path(sys.executable).parent, "modelyard"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(target.workers),
    ]
    return serve(cmd, env, f"http://127.0.0.1:{port}", "/readyz", work / "server.log")


def mlflow_serve_cmd(model_dir: Path | str, port: int | str, workers: int) -> list[str]:
    cmd = [
        str(_venv_python().parent / "mlflow"),
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
    ]
    if workers != 1:  # 1 is its default
        cmd += ["-w", str(workers)]
    return cmd


def mlflow_server(target: Target, model_dir: Path, work: Path) -> Any:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = _mlflow_env()
    # it runs `uvicorn ...` through bash: the MLflow venv's, not whatever PATH finds first
    env["PATH"] = f"{_venv_python().parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = mlflow_serve_cmd(model_dir, port, target.workers)
    return serve(cmd, env, f"http://127.0.0.1:{port}", "/ping", work / "server.log")


def wait_all_workers_ready(url: str, workers: int) -> None:
    """``/readyz`` speaks for the worker that answers: ask on fresh connections until
    enough consecutive answers are 200 that every worker has very likely answered."""
    import httpx

    needed = 1 if workers == 1 else 10 * workers
    streak = 0
    deadline = time.monotonic() + 120
    while streak < needed:
        if time.monotonic() > deadline:
            raise SystemExit("not every modelyard worker became ready")
        with contextlib.suppress(httpx.HTTPError):
            ok = httpx.get(url + "/readyz", timeout=5).status_code == 200
            streak = streak + 1 if ok else 0
            if not ok:
                time.sleep(0.2)


# -- correctness before timing -----------------------------------------------------------
def verify(url: str, path: str, bodies: str, workload: Workload, headers: dict[str, str]) -> Any:
    import httpx
    import numpy as np

    lines = workload.native_lines if bodies == "native" else workload.mlflow_lines
    classes = [str(c) for c in workload.model.classes_]
    labels_ok = proba_checked = 0
    max_diff = 0.0
    headers = {**headers, "Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
        for i in range(VERIFY_ROWS):
            r = client.post(path, content=lines[i])
            if r.status_code != 200:
                raise SystemExit(f"{url}{path}: HTTP {r.status_code} {r.text[:300]}")
            body = r.json()
            predictions = body["predictions"]
            if predictions == [workload.expected_labels[i]]:
                labels_ok += 1
            if "probabilities" in body:
                if body.get("classes") != classes:
                    raise SystemExit(f"classes {body.get('classes')} != {classes}")
                got = np.asarray(body["probabilities"], dtype=np.float64)
                diff = float(np.max(np.abs(got - workload.expected_proba[i : i + 1])))
                max_diff = max(max_diff, diff)
                proba_checked += 1
    same = labels_ok == VERIFY_ROWS and max_diff <= 1e-9
    result = {
        "requests": VERIFY_ROWS,
        "labels_equal": labels_ok,
        "probabilities_checked": proba_checked,
        "max_probability_diff": max_diff,
        "same_as_in_process": same,
    }
    if not same:
        raise SystemExit(f"{url}{path} does not answer what the model predicts: {result}")
    return result


# -- the rest of the machine --------------------------------------------------------------
def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (``/proc/stat``, all cores)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    return (sum(values) - values[3] - values[4]) / TICK  # less idle and iowait


@contextlib.contextmanager
def other_cpu(own_pids: list[int]) -> Iterator[dict[str, float]]:
    """CPU used during the block by processes other than this one, its children waited for
    in the block, and ``own_pids`` (a server's tree), in cores: other work on the machine
    (the benchmark shares it) that skews the numbers."""
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    busy0, mine0 = machine_busy_seconds(), _own_cpu_seconds() + _children_cpu()
    tree0 = tree_cpu_seconds(own_pids)
    try:
        yield out
    finally:
        seconds = time.perf_counter() - t0
        ours = _own_cpu_seconds() + _children_cpu() - mine0 + tree_cpu_seconds(own_pids) - tree0
        out["other_cpu_cores"] = max(0.0, machine_busy_seconds() - busy0 - ours) / seconds


def wait_quiet(what: str, own_pids: list[int] | None = None) -> dict[str, float]:
    """Wait (at most ``QUIET_WAIT_S``) until other processes use under ``QUIET_CORES``."""
    start = time.monotonic()
    while True:
        with other_cpu(own_pids or []) as probe:
            time.sleep(2.0)
        waited = time.monotonic() - start
        if probe["other_cpu_cores"] < QUIET_CORES or waited > QUIET_WAIT_S:
            if waited > 3:
                log(
                    f"{what}: waited {waited:.0f} s for other work to end "
                    f"(still {probe['other_cpu_cores']:.2f} cores)"
                )
            return {"waited_s": waited, "other_cpu_cores": probe["other_cpu_cores"]}
        time.sleep(3.0)


# -- wrk -----------------------------------------------------------------------------------
def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wrk_version() -> str:
    proc = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (proc.stdout or proc.stderr).splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


def run_wrk(
    url: str,
    path: str,
    bodies: Path,
    *,
    connections: int,
    threads: int,
    seconds: int,
    auth: str | None,
) -> dict[str, Any]:
    env = {**os.environ, "BENCH_PATH": path, "BENCH_BODIES": str(bodies)}
    env["BENCH_AUTH"] = auth or ""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    cpu0 = _children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    cpu = _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stderr[-2000:]}")
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no summary:\n{proc.stdout[-2000:]}")
    raw = json.loads(line[len("WRK_JSON ") :])
    seconds_run = raw["duration_us"] / 1e6
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "command": " ".join(["wrk", *cmd[1:-3], "wrk_post.lua", "<url>"]),
        "connections": connections,
        "threads": threads,
        "seconds": seconds_run,
        "requests": raw["requests"],
        "per_second": raw["requests"] / seconds_run,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "p999_ms": raw["p999_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "non_2xx": raw["status"],
        "socket_errors": socket_errors,
        "socket_errors_detail": {k: raw[k] for k in ("connect", "read", "write", "timeout")},
        "wrk_cpu_cores": cpu / seconds_run,
        "stdout": proc.stdout.strip().splitlines(),
    }


def measured_wrk(server: Server, sampler: RssSampler, **kwargs: Any) -> dict[str, Any]:
    """``run_wrk`` on an idle server, with the server's CPU and peak resident memory over
    the run, and what other processes used."""
    settled = wait_idle(server.pid)  # the previous run's queue has drained
    pids = tree_pids(server.pid)
    by_pid0 = {p: stat[1] for p in pids if (stat := read_stat(p)) is not None}
    cpu0 = tree_cpu_seconds(pids)
    started = time.time()
    with sampler.measure() as window, other_cpu(pids) as other:
        result = run_wrk(server.url, **kwargs)
    cpu = tree_cpu_seconds(pids) - cpu0
    result["window"] = [started, time.time()]
    by_pid = {p: stat[1] - by_pid0[p] for p in by_pid0 if (stat := read_stat(p)) is not None}
    result["process_cpu_s"] = sorted(by_pid.values(), reverse=True)
    result["other_cpu_cores"] = other["other_cpu_cores"]
    result["waited_for_idle_server_s"] = settled
    result["server_cpu_cores"] = cpu / result["seconds"]
    result["server_cpu_ms_per_request"] = cpu * 1000 / max(1, result["requests"])
    result["server_peak_rss_mb"] = window.server_peak / MB
    result["server_processes"] = window.processes
    log(
        f"  {kwargs['connections']:>2} conn {kwargs['path']}: {result['per_second']:.0f} req/s, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"non-2xx {result['non_2xx']}, socket errors {result['socket_errors']}, "
        f"other processes {result['other_cpu_cores']:.2f} cores"
    )
    return result


# -- modelyard's /metrics ------------------------------------------------------------------
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def parse_metrics(text: str) -> dict[str, dict[str, Any]]:
    """One worker's batching series, by deployment, from its ``/metrics``."""
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        if not line.startswith("modelyard_") or "deployment=" not in line:
            continue
        name, _, rest = line.partition("{")
        labels_text, _, value_text = rest.rpartition("}")
        labels = dict(_LABEL.findall(labels_text))
        value = float(value_text.strip().split()[0])
        out = found.setdefault(
            labels["deployment"], {"rows": {}, "requests": {}, "sums": {}, "created": None}
        )
        sums = out["sums"]
        if name == "modelyard_batch_rows_bucket":
            out["rows"][labels["le"]] = value
        elif name == "modelyard_batch_requests_bucket":
            out["requests"][labels["le"]] = value
        elif name == "modelyard_batch_rows_created":
            out["created"] = value
        elif name == "modelyard_scoring_requests_total":
            sums["scoring_requests"] = sums.get("scoring_requests", 0.0) + value
        elif name in (
            "modelyard_batch_rows_sum",
            "modelyard_batch_rows_count",
            "modelyard_model_call_seconds_sum",
            "modelyard_model_call_seconds_count",
            "modelyard_scoring_latency_seconds_sum",
            "modelyard_scoring_latency_seconds_count",
        ):
            sums[name.removeprefix("modelyard_")] = value
    return found


def scrape_workers(url: str, workers: int) -> dict[float, dict[str, dict[str, Any]]]:
    """Each worker's series, keyed by when its ``payments`` batch histogram was created:
    ``/metrics`` speaks for the worker that answers, so ask on fresh connections until
    every worker has answered."""
    import httpx

    seen: dict[float, dict[str, dict[str, Any]]] = {}
    for _ in range(40 * workers):
        parsed = parse_metrics(httpx.get(url + "/metrics", timeout=10).text)
        created = parsed.get(DEPLOYMENT, {}).get("created")
        if created is not None:
            seen[created] = parsed
        if len(seen) >= workers:
            break
    return seen


def metrics_delta(
    before: dict[float, dict[str, Any]], after: dict[float, dict[str, Any]]
) -> dict[str, Any]:
    """Batching over one run, summed over the workers seen both times."""
    rows: dict[str, float] = {}
    reqs: dict[str, float] = {}
    sums: dict[str, float] = {}
    per_worker = []
    for key, a in after.items():
        b = before.get(key, {"rows": {}, "requests": {}, "sums": {}})
        for target, series in ((rows, "rows"), (reqs, "requests")):
            for le, v in a[series].items():
                target[le] = target.get(le, 0.0) + v - b[series].get(le, 0.0)
        worker_sums = {k: v - b["sums"].get(k, 0.0) for k, v in a["sums"].items()}
        for k, v in worker_sums.items():
            sums[k] = sums.get(k, 0.0) + v
        per_worker.append(worker_sums.get("batch_rows_count", 0.0))
    calls = sums.get("batch_rows_count", 0.0)
    model_calls = sums.get("model_call_seconds_count", 0.0)
    return {
        "workers_seen": len(after),
        "workers_seen_before": len(before),
        "model_calls": int(calls),
        "model_calls_per_worker": [int(c) for c in per_worker],
        "rows_scored": int(sums.get("batch_rows_sum", 0.0)),
        "scoring_requests": int(sums.get("scoring_requests", 0.0)),
        "mean_rows_per_call": sums.get("batch_rows_sum", 0.0) / calls if calls else None,
        "mean_model_call_ms": (
            sums.get("model_call_seconds_sum", 0.0) * 1000 / model_calls if model_calls else None
        ),
        "model_busy_seconds": sums.get("model_call_seconds_sum", 0.0),
        "mean_server_latency_ms": (
            sums["scoring_latency_seconds_sum"] * 1000 / sums["scoring_latency_seconds_count"]
            if sums.get("scoring_latency_seconds_count")
            else None
        ),
        "rows_histogram": _buckets(rows),
        "requests_histogram": _buckets(reqs),
    }


def _buckets(cumulative: dict[str, float]) -> list[dict[str, Any]]:
    """Cumulative Prometheus buckets → per-bucket counts, labelled ``1``, ``3-4``, ..."""
    edges = sorted((float(le), le) for le in cumulative if le != "+Inf")
    out, previous, low = [], 0.0, 1
    for edge, le in edges:
        count = cumulative[le] - previous
        previous = cumulative[le]
        high = int(edge)
        label = str(high) if low >= high else f"{low}-{high}"
        out.append({"rows": label, "count": round(count)})
        low = high + 1
    if "+Inf" in cumulative:
        out.append({"rows": f">{int(edges[-1][0])}", "count": int(cumulative["+Inf"] - previous)})
    return out


# -- the garbage-collection diagnostic -------------------------------------------------------
GC_SITECUSTOMIZE = """\
# Written by modelyard's benchmarks/serving.py for one diagnostic server (on PYTHONPATH, so
# every process of that server runs it at start); not part of modelyard. It logs how long
# each full (generation 2) collection of the cyclic garbage collector takes, and on
# SIGUSR1 collects once and freezes every object then alive (gc.freeze()), as a server
# could do once its models are loaded.
import gc
import os
import signal
import time

_dir = os.path.dirname(os.path.abspath(__file__))
_started = [0.0]


def _log(line):
    with open(os.path.join(_dir, "gc-%d.log" % os.getpid()), "a") as f:
        f.write(line + "\\n")


def _callback(phase, info):
    if info["generation"] != 2:
        return
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _log("gen2 %.3f %.3f" % (time.time(), (time.perf_counter() - _started[0]) * 1000))


def _freeze(signum, frame):
    gc.collect()
    gc.freeze()
    _log("froze %.3f %d" % (time.time(), gc.get_freeze_count()))


gc.callbacks.append(_callback)
signal.signal(signal.SIGUSR1, _freeze)
"""


def write_gc_harness(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(GC_SITECUSTOMIZE)
    return folder


def _gc_lines(folder: Path) -> dict[int, list[list[str]]]:
    out = {}
    for path in folder.glob("gc-*.log"):
        out[int(path.stem[3:])] = [line.split() for line in path.read_text().splitlines()]
    return out


def gc_pauses(folder: Path, window: list[float]) -> dict[str, Any]:
    """Full collections in the server's processes during ``window`` (wall-clock times)."""
    pauses = [
        float(parts[2])
        for lines in _gc_lines(folder).values()
        for parts in lines
        if parts[0] == "gen2" and window[0] <= float(parts[1]) <= window[1]
    ]
    return {
        "full_collections": len(pauses),
        "max_ms": max(pauses, default=0.0),
        "total_ms": sum(pauses),
        "pauses_ms": sorted(pauses, reverse=True)[:20],
    }


def freeze_heaps(root: int, folder: Path, workers: int) -> dict[str, Any]:
    """SIGUSR1 to every process of the server (the harness above freezes its heap), then
    wait until ``workers`` processes have logged it."""
    for pid in tree_pids(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while True:
        frozen = {
            pid: int(parts[2])
            for pid, lines in _gc_lines(folder).items()
            for parts in lines
            if parts[0] == "froze"
        }
        if len(frozen) >= workers:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(frozen)} server processes froze their heap")
        time.sleep(0.2)
    wait_idle(root)
    log(f"  froze the heaps: {sorted(frozen.values(), reverse=True)} objects")
    return {"processes": len(frozen), "objects": sorted(frozen.values(), reverse=True)}


# -- one server ----------------------------------------------------------------------------
def bench_target(
    target: Target,
    args: argparse.Namespace,
    workload: Workload,
    home: Path,
    mlflow_dir: Path | None,
    keys: dict[str, str],
    work: Path,
) -> dict[str, Any]:
    log(f"{target.key}: {target.tool}, {target.workers} worker(s) {target.note}".rstrip())
    is_modelyard = target.tool == "modelyard"
    auth = f"Bearer {keys[DEPLOYMENT]}" if is_modelyard else None
    headers = {"Authorization": auth} if auth else {}
    bodies = {"native": workload.native_bodies, "mlflow": workload.mlflow_bodies}
    starter = (
        modelyard_server(target, home, work)
        if is_modelyard
        else mlflow_server(target, mlflow_dir, work)  # type: ignore[arg-type]
    )
    result: dict[str, Any] = {
        "key": target.key,
        "tool": target.tool,
        "workers": target.workers,
        "path": target.path,
        "env": target.env,
        "note": target.note,
        "label": target.label,
        "diagnostic": target.diagnostic,
    }
    with starter as server, RssSampler(server.pid) as sampler:
        if is_modelyard:
            wait_all_workers_ready(server.url, target.workers)
        result["quiet"] = wait_quiet(target.key, tree_pids(server.pid))
        result["startup_s"] = server.startup_s
        result["idle_rss_mb"] = sampler.sample()[0] / MB
        result["verify"] = verify(server.url, target.path, target.bodies, workload, headers)
        for x in target.extras:
            result.setdefault("extra_verify", {})[x.key] = verify(
                server.url, x.path, x.bodies, workload, {"Authorization": _auth(keys, x)}
            )
        common = {"bodies": bodies[target.bodies], "auth": auth, "path": target.path}
        run_wrk(
            server.url,
            connections=CONNECTIONS,
            threads=2,
            seconds=args.warmup,
            **common,
        )  # warm-up: every worker has scored, caches are hot; not reported
        gc_dir = Path(target.env.get("PYTHONPATH", "")) if target.gc_log else None

        def c16(deployment: str, path: str, kind: str, auth: str | None) -> dict[str, Any]:
            """One 16-connection run; with several workers, run again (twice at most) when
            the connections landed unevenly (the busiest worker used 4x the CPU of the
            least busy one), and keep the fastest attempt."""
            attempts: list[dict[str, Any]] = []
            for _ in range(3):
                before = scrape_workers(server.url, target.workers) if is_modelyard else {}
                run = measured_wrk(
                    server,
                    sampler,
                    connections=CONNECTIONS,
                    threads=2,
                    seconds=args.duration,
                    bodies=bodies[kind],
                    auth=auth,
                    path=path,
                )
                if is_modelyard:
                    after = scrape_workers(server.url, target.workers)
                    run["batching"] = batching(workload, before, after, deployment)
                if gc_dir is not None:
                    run["gc"] = gc_pauses(gc_dir, run["window"])
                busy = run["process_cpu_s"][: target.workers]
                run["balanced"] = target.workers == 1 or (
                    len(busy) == target.workers and busy[-1] >= 0.25 * busy[0]
                )
                attempts.append(run)
                if run["balanced"]:
                    break
                log(f"  uneven load over the workers (CPU s {busy}): running again")
            best = max(attempts, key=lambda r: r["per_second"])
            best["attempts"] = [
                {"per_second": r["per_second"], "p99_ms": r["p99_ms"], "balanced": r["balanced"]}
                for r in attempts
            ]
            return best

        result["c16"] = c16(DEPLOYMENT, target.path, target.bodies, auth)
        if "batching" in result["c16"]:
            result["batching"] = result["c16"].pop("batching")
        for x in target.extras:
            if x.freeze_first and gc_dir is not None:
                result["frozen"] = freeze_heaps(server.pid, gc_dir, target.workers)
            run = c16(x.deployment, x.path, x.bodies, _auth(keys, x) if is_modelyard else None)
            run["label"] = x.label
            run["deployment"] = x.deployment
            run["path"] = x.path
            result.setdefault("extra", {})[x.key] = run
        if target.one_connection:
            result["c1"] = measured_wrk(
                server, sampler, connections=1, threads=1, seconds=args.duration_one, **common
            )
    return result


def _auth(keys: dict[str, str], extra: Extra) -> str:
    return f"Bearer {keys[extra.deployment]}"


def batching(
    workload: Workload,
    before: dict[float, dict[str, Any]],
    after: dict[float, dict[str, Any]],
    deployment: str,
) -> dict[str, Any]:
    """The run's batch histogram, and the same predict_proba in-process at its mean size."""
    out = metrics_delta(
        {k: v[deployment] for k, v in before.items() if deployment in v},
        {k: v[deployment] for k, v in after.items() if deployment in v},
    )
    if out["mean_rows_per_call"]:
        out["in_process_call_ms_same_rows"] = batch_call_ms(
            workload, round(out["mean_rows_per_call"])
        )
    return out


def targets(args: argparse.Namespace, gc_dir: Path | None = None) -> list[Target]:
    out = []
    for w in args.workers:
        extras = []
        if w == args.workers[0]:
            extras.append(
                Extra(
                    "mlflow_protocol",
                    DEPLOYMENT,
                    MLFLOW_PROTOCOL_PATH,
                    "mlflow",
                    "modelyard, MLflow protocol",
                )
            )
        if w == args.workers[-1] and args.diagnostic:
            extras.append(
                Extra(
                    "wait2",
                    WAIT_DEPLOYMENT,
                    f"/v1/deployments/{WAIT_DEPLOYMENT}/predict",
                    "native",
                    "modelyard, `max_wait_ms: 2` (diagnostic)",
                )
            )
        out.append(Target(f"modelyard-w{w}", "modelyard", w, NATIVE_PATH, "native", extras=extras))
    if args.diagnostic:
        out.append(
            Target(
                "modelyard-w1-threads1",
                "modelyard",
                1,
                NATIVE_PATH,
                "native",
                env={"MODELYARD_MODEL_THREADS": "1"},
                note="(MODELYARD_MODEL_THREADS=1)",
                diagnostic=True,
            )
        )
    if args.diagnostic and gc_dir is not None:
        w = args.workers[-1]
        out.append(
            Target(
                f"modelyard-w{w}-gc",
                "modelyard",
                w,
                NATIVE_PATH,
                "native",
                env={"PYTHONPATH": str(gc_dir)},
                note="(full collections logged)",
                label="modelyard, full collections logged (diagnostic)",
                diagnostic=True,
                one_connection=False,
                gc_log=True,
                extras=[
                    Extra(
                        "gc_frozen",
                        DEPLOYMENT,
                        NATIVE_PATH,
                        "native",
                        "modelyard, heap frozen with `gc.freeze()` (diagnostic)",
                        freeze_first=True,
                    )
                ],
            )
        )
    if not args.skip_mlflow:
        for w in args.mlflow_workers:
            out.append(Target(f"mlflow-w{w}", "MLflow", w, "/invocations", "mlflow"))
    return out


# -- batch ---------------------------------------------------------------------------------
def bench_batch(tmp: Path, home: Path, workload: Workload, rows: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from modelyard import Client, Settings
    from modelyard.serving.batch import CHUNK_ROWS

    source = tmp / "rows.parquet"
    log(f"batch: generating {rows:,} rows into {source.name}")
    generate(rows, seed=SEED + 3).to_parquet(source, index=False)
    size = source.stat().st_size
    frame = pd.read_parquet(source)
    model = workload.model
    other: dict[str, float] = {}

    quiet = wait_quiet("batch")
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        proba = model.predict_proba(frame)
        proba_s = time.perf_counter() - t0
    other["in_process_predict_proba"] = o["other_cpu_cores"]
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        labels = model.predict(frame)
        predict_s = time.perf_counter() - t0
    other["in_process_predict"] = o["other_cpu_cores"]
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        for start in range(0, rows, CHUNK_ROWS):
            model.predict_proba(frame.iloc[start : start + CHUNK_ROWS])
        chunked_s = time.perf_counter() - t0
    other["in_process_chunked"] = o["other_cpu_cores"]
    log(
        f"batch: in-process predict_proba {proba_s:.1f} s, predict {predict_s:.1f} s, "
        f"predict_proba in {CHUNK_ROWS:,}-row chunks {chunked_s:.1f} s"
    )
    del frame

    def check(path: Path) -> dict[str, Any]:
        meta_rows = pq.ParquetFile(path).metadata.num_rows
        columns = ["prediction", *(f"probability_{c}" for c in workload.model.classes_)]
        table = pq.read_table(path, columns=columns).to_pandas()
        got = table[columns[1:]].to_numpy(dtype=np.float64)
        same_labels = int((table["prediction"].to_numpy(dtype=object) == labels).sum())
        diff = float(np.max(np.abs(got - proba))) if len(got) == len(proba) else float("inf")
        return {
            "rows": int(meta_rows),
            "labels_equal": same_labels,
            "max_probability_diff": diff,
            "correct": meta_rows == rows and same_labels == rows and diff <= 1e-9,
        }

    cli_out = tmp / "out.parquet"
    env = _clean_env(("MODELYARD_",))
    env["MODELYARD_HOME"] = str(home)
    cmd = [
        _tool_path(Path(sys.executable).parent, "modelyard"),
        "predict",
        DEPLOYMENT,
        "--input",
        str(source),
        "--output",
        str(cli_out),
    ]
    log("batch: " + " ".join(["modelyard", *cmd[1:]]))
    cpu0 = _children_cpu()
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, cwd=str(tmp), check=False
        )
        cli_s = time.perf_counter() - t0
    other["cli"] = o["other_cpu_cores"]
    cli_cpu = _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"modelyard predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cli_check = check(cli_out)
    log(f"batch: CLI {cli_s:.1f} s, output correct: {cli_check['correct']}")
    cli_out.unlink()

    sdk_out = tmp / "out-sdk.parquet"
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        with Client(settings=Settings(home=home, actor="bench")) as c:
            opened_s = time.perf_counter() - t0
            batch_result = c.predict_file(DEPLOYMENT, source, sdk_out)
        sdk_s = time.perf_counter() - t0
    other["sdk"] = o["other_cpu_cores"]
    sdk_check = check(sdk_out)
    log(f"batch: predict_file {sdk_s:.1f} s, output correct: {sdk_check['correct']}")
    sdk_out.unlink()
    if not (cli_check["correct"] and sdk_check["correct"]):
        raise SystemExit(f"batch outputs differ from in-process: {cli_check} {sdk_check}")
    return {
        "rows": rows,
        "quiet": quiet,
        "other_cpu_cores": other,
        "parquet_mb": size / MB,
        "in_process_predict_proba_s": proba_s,
        "in_process_predict_s": predict_s,
        "in_process_predict_proba_rows_per_s": rows / proba_s,
        "in_process_predict_rows_per_s": rows / predict_s,
        "chunk_rows": CHUNK_ROWS,
        "in_process_chunked_predict_proba_s": chunked_s,
        "in_process_chunked_rows_per_s": rows / chunked_s,
        "cli_s": cli_s,
        "cli_cpu_s": cli_cpu,
        "cli_rows_per_s": rows / cli_s,
        "cli_command": "modelyard predict payments --input rows.parquet --output out.parquet",
        "cli_output": proc.stdout.strip()[-500:],
        "cli_check": cli_check,
        "sdk_s": sdk_s,
        "sdk_open_s": opened_s,
        "sdk_rows_per_s": rows / sdk_s,
        "sdk_scored": batch_result.scored,
        "sdk_rejected": batch_result.rejected,
        "sdk_check": sdk_check,
        "cli_ratio": (rows / cli_s) / (rows / proba_s),
        "sdk_ratio": (rows / sdk_s) / (rows / proba_s),
        "cli_ratio_vs_both_calls": (rows / cli_s) / (rows / (proba_s + predict_s)),
        "cli_ratio_vs_chunked": chunked_s / cli_s,
        "sdk_ratio_vs_chunked": chunked_s / sdk_s,
    }


# -- goals and report ------------------------------------------------------------------------
def _default_runs(result: dict[str, Any], tool: str) -> list[dict[str, Any]]:
    return [r for r in result["runs"] if r["tool"] == tool and not r["diagnostic"]]


def evaluate_goals(result: dict[str, Any]) -> dict[str, Any]:
    goals: dict[str, Any] = {}
    mine = _default_runs(result, "modelyard")
    theirs = _default_runs(result, "MLflow")
    best = max(mine, key=lambda r: r["c16"]["per_second"]) if mine else None
    if best and theirs:
        ml = max(theirs, key=lambda r: r["c16"]["per_second"])
        ratio = best["c16"]["per_second"] / ml["c16"]["per_second"]
        goals["throughput"] = {
            "goal": f"at least {THROUGHPUT_GOAL_RATIO:g}x MLflow's throughput at "
            f"{CONNECTIONS} connections",
            "modelyard_per_second": best["c16"]["per_second"],
            "modelyard_workers": best["workers"],
            "mlflow_per_second": ml["c16"]["per_second"],
            "mlflow_workers": ml["workers"],
            "ratio": ratio,
            "ratio_vs_mlflow_default": next(
                (
                    best["c16"]["per_second"] / r["c16"]["per_second"]
                    for r in theirs
                    if r["workers"] == 1
                ),
                None,
            ),
            "met": ratio >= THROUGHPUT_GOAL_RATIO,
        }
    if best:
        goals["p99"] = {
            "goal": f"p99 under {P99_GOAL_MS:g} ms at {CONNECTIONS} connections",
            "p99_ms": best["c16"]["p99_ms"],
            "workers": best["workers"],
            "all": {str(r["workers"]): r["c16"]["p99_ms"] for r in mine},
            "met": best["c16"]["p99_ms"] < P99_GOAL_MS,
        }
    one = next((r for r in mine if r["workers"] == 1), mine[0] if mine else None)
    if one:
        base = result["in_process"]["best_median_ms"]
        over = one["c1"]["p50_ms"] - base
        goals["one_connection"] = {
            "goal": f"at 1 connection, p50 at most {ONE_CONNECTION_GOAL_MS:g} ms above the "
            "in-process one-row predict_proba median",
            "p50_ms": one["c1"]["p50_ms"],
            "in_process_ms": base,
            "over_ms": over,
            "workers": one["workers"],
            "met": over <= ONE_CONNECTION_GOAL_MS,
        }
    batch = result.get("batch")
    if batch:
        goals["batch"] = {
            "goal": f"batch scoring (CLI) at least {BATCH_GOAL_RATIO:.0%} of in-process "
            "`predict_proba(df)` throughput over the whole frame",
            "ratio": batch["cli_ratio"],
            "met": batch["cli_ratio"] >= BATCH_GOAL_RATIO,
        }
    return goals


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
    for r in _default_runs(result, "modelyard") + [d for d in (diag,) if d]:
        b = r.get("batching") or {}
        call, same = b.get("mean_model_call_ms"), b.get("in_process_call_ms_same_rows")
        if _model_threads(r, cores) == 1 and call and same and call > 1.4 * same:
            problems.append(
                f"{_label(r)}, {r['workers']} worker(s), 16 connections: a model call took "
                f"{call:.1f} ms on average for {b['mean_rows_per_call']:.1f} rows "
                f"(`modelyard_model_call_seconds`), the same `predict_proba` "
                f"{same:.1f} ms in-process. The model runs on a thread of the worker "
                "(`serving/runtime.py:267`, `serving/batcher.py:128`) and needs the GIL for "
                "the pipeline's Python (ColumnTransformer, OneHotEncoder, pandas) and for "
                "building its DataFrame (`serving/scorer.py:36`, called on the model thread), "
                "while the event loop holds the GIL to parse and answer the other requests: "
                "the two halves of the worker take turns instead of overlapping."
            )
            break

    gc_run = next((r for r in result["runs"] if r["key"].endswith("-gc")), None)
    frozen = (gc_run or {}).get("extra", {}).get("gc_frozen")
    if gc_run and frozen and gc_run["c16"].get("gc", {}).get("max_ms", 0) > 20:
        before, after = gc_run["c16"], frozen
        g0, g1 = before["gc"], after["gc"]
        objects = (gc_run.get("frozen") or {}).get("objects") or [0]
        counted = _plural(g0["full_collections"], "full (generation 2) collection")
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
                f"{_plural(g1['full_collections'], 'full collection')} of at most "
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
            + ". modelyard never freezes its startup heap; a `gc.collect(); gc.freeze()` once a "
            "worker has loaded and warmed its models (after `ServingRuntime._load`, "
            "`serving/runtime.py:263-275`, or at the end of the app's startup) would remove "
            "these pauses."
        )

    def single_share(r: dict[str, Any]) -> float:
        b = r.get("batching") or {}
        hist = b.get("rows_histogram") or []
        return hist[0]["count"] / b["model_calls"] if hist and b.get("model_calls") else 0.0

    defaults = _default_runs(result, "modelyard")
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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _ms(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def _label(run: dict[str, Any], w: dict[str, Any] | None = None) -> str:
    if w is not None and w.get("label"):
        return str(w["label"])
    if run.get("label"):
        return str(run["label"])
    if run["tool"] == "modelyard":
        what = "modelyard"
        if run["env"]:
            what += ", " + ", ".join(f"`{k}={v}`" for k, v in run["env"].items())
            what += " (diagnostic)"
        return what
    return "MLflow" + (" (its default)" if run["workers"] == 1 else "")


def _path(run: dict[str, Any], w: dict[str, Any] | None = None) -> str:
    path = (w or {}).get("path") or run["path"]
    if path.startswith("/v1/deployments/"):
        return f"`{path.removeprefix('/v1/deployments/')}`"
    return f"`{path}`"


def _c16_row(run: dict[str, Any], w: dict[str, Any], extra: bool = False) -> str:
    x = w if extra else None
    return (
        f"| {_label(run, x)} | {run['workers']} | {_path(run, x)} | "
        f"{w['per_second']:.0f} | {_ms(w['p50_ms'])} | {_ms(w['p90_ms'])} | "
        f"{_ms(w['p99_ms'])} | {_ms(w['max_ms'])} | {w['non_2xx']} | {w['socket_errors']} | "
        f"{w['server_cpu_cores']:.2f} | {w['server_cpu_ms_per_request']:.2f} | "
        f"{w['wrk_cpu_cores']:.2f} | {w['other_cpu_cores']:.2f} | "
        f"{w['server_peak_rss_mb']:.0f} |"
    )


def render_section(result: dict[str, Any]) -> str:
    m = result["machine"]
    ml = result.get("mlflow")
    goals = result["goals"]
    inproc = result["in_process"]
    p = result["parameters"]
    lines = [
        SECTION,
        "",
        "Generated by `benchmarks/serving.py` (do not edit by hand: `make bench` rewrites this "
        "section). Model serving, modelyard against MLflow, in the same run on the same "
        "machine. The model: a scikit-learn `Pipeline` (a `ColumnTransformer` one-hot "
        'encoding 4 string columns with `handle_unknown="ignore"` and passing 8 numeric '
        "ones through, 4 of them integers, then a `HistGradientBoostingClassifier`), 3 classes "
        "(`on_time` / `late` / `very_late`), trained on "
        f"{result['workload']['train_rows']:,} generated rows (fixed seed). Every request "
        "scores one row; the load generator cycles through "
        f"{p['request_rows']:,} distinct generated rows. modelyard: `modelyard server "
        "--workers N` on 127.0.0.1, the model logged with `Client.log_model` and served by a "
        f"deployment created with `options={json.dumps(SERVING_OPTIONS)}`, scored with its "
        "primary scoring key at `POST /v1/deployments/payments/predict` "
        '(`{"inputs": [{column: value, ...}]}`; the answer holds the label and the 3 '
        "probabilities). MLflow: the same fitted pipeline saved with "
        "`mlflow.sklearn.save_model` (signature inferred from the example) and served by "
        "`mlflow models serve -m <dir> --env-manager local -h 127.0.0.1 -p PORT [-w N]` from "
        "`.bench/mlflow-venv`, scored at `POST /invocations` with `dataframe_split` (its "
        "answer holds the label only: MLflow's pyfunc calls `predict`). Each server is "
        "started fresh, one at a time, measured once idle, and checked before any timing: "
        f"its answers to {VERIFY_ROWS} requests equal the in-process predictions (and "
        "probabilities, to 1e-9). The load generator is `wrk` with a Lua script "
        "(`benchmarks/wrk_post.lua`); **it runs on the same 2 cores as the server**, so "
        "every server here has less than 2 cores to itself (the wrk CPU column says how "
        "much wrk took).",
        "",
        "| | |",
        "|---|---|",
        f"| date | {result['date']} |",
        f"| machine | {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM |",
        f"| OS | {m['os']} |",
        f"| Python | {m['python']} (MLflow side: {ml['python_version'] if ml else 'n/a'}) |",
        f"| modelyard | {result['modelyard_version']}, git {result['modelyard_git']} |",
        f"| mlflow | {ml['mlflow_version'] if ml else 'not run'} (`{MLFLOW_PIN}`) |",
        f"| scikit-learn / pandas / numpy | {result['versions']['sklearn']} / "
        f"{result['versions']['pandas']} / {result['versions']['numpy']} (MLflow side: "
        + (
            f"{ml['sklearn_version']} / {ml['pandas_version']} / {ml['numpy_version']}"
            if ml
            else "n/a"
        )
        + ") |",
        f"| load generator | {result['wrk_version']} |",
        f"| temp folder filesystem | {m['tmp_dir_filesystem']} |",
        f"| 1-min load average, start / end | {m['load_average_at_start']} / "
        f"{m['load_average_at_end']} (on {m['cores']} cores; other work skews the numbers) |",
        f"| command | `{result['command']}` (or `make bench`) |",
        f"| total run time | {result['total_s'] / 60:.1f} min |",
        "",
        "### Goals",
        "",
        "Judged on modelyard's default settings (the diagnostic rows below are not used): the "
        "16-connection goals on modelyard's best worker count "
        f"({', '.join(str(w) for w in p['workers'])} measured) against MLflow's best "
        f"({', '.join(str(w) for w in p['mlflow_workers']) or 'not run'} measured); the "
        "1-connection goal on 1 worker against the faster of the two in-process one-row "
        "medians; the batch goal on the CLI's wall time, process start included, against "
        "in-process `predict_proba` alone (which gives probabilities only: modelyard's "
        f"output has labels too). The design docs measured MLflow at {DESIGN_MLFLOW} on "
        "this class of machine.",
        "",
        "| goal | result | met |",
        "|---|---|---|",
    ]
    g = goals.get("throughput")
    if g:
        lines.append(
            f"| {g['goal']} | {g['modelyard_per_second']:.0f} req/s "
            f"({g['modelyard_workers']} worker{'s' if g['modelyard_workers'] > 1 else ''}) vs "
            f"{g['mlflow_per_second']:.1f} req/s ({g['mlflow_workers']} worker"
            f"{'s' if g['mlflow_workers'] > 1 else ''}) = {g['ratio']:.1f}x"
            + (
                f" (against MLflow's default 1 worker: {g['ratio_vs_mlflow_default']:.1f}x)"
                if g["ratio_vs_mlflow_default"] and g["mlflow_workers"] != 1
                else ""
            )
            + f" | {_yes(g['met'])} |"
        )
    g = goals.get("p99")
    if g:
        others = ", ".join(f"{v:.0f} ms with {w}" for w, v in g["all"].items())
        lines.append(
            f"| {g['goal']} | {g['p99_ms']:.0f} ms ({g['workers']} worker"
            f"{'s' if g['workers'] > 1 else ''}; by worker count: {others}) | {_yes(g['met'])} |"
        )
    g = goals.get("one_connection")
    if g:
        lines.append(
            f"| {g['goal']} | p50 {g['p50_ms']:.2f} ms vs {g['in_process_ms']:.2f} ms "
            f"in-process = {g['over_ms']:+.2f} ms | {_yes(g['met'])} |"
        )
    g = goals.get("batch")
    if g:
        b = result["batch"]
        lines.append(
            f"| {g['goal']} | {b['cli_rows_per_s']:,.0f} rows/s vs "
            f"{b['in_process_predict_proba_rows_per_s']:,.0f} rows/s = {g['ratio']:.0%} "
            f"(`predict_file` in-process: {b['sdk_ratio']:.0%}). Against the stronger "
            f"in-process baseline, `predict_proba` over {b['chunk_rows']:,}-row chunks "
            f"({b['in_process_chunked_rows_per_s']:,.0f} rows/s): CLI "
            f"{b['cli_ratio_vs_chunked']:.0%}, `predict_file` {b['sdk_ratio_vs_chunked']:.0%} "
            f"| {_yes(g['met'])} |"
        )

    lines += ["", *_where_time_goes(result)]
    lines += [
        "",
        f"### 1. {CONNECTIONS} connections",
        "",
        f"`wrk -t2 -c{CONNECTIONS} -d{p['duration_s']}s --latency --timeout 10s -s "
        f"wrk_post.lua`, after a {p['warmup_s']} s warm-up run at the same concurrency (not "
        "reported). Latency as wrk measures it (request written to response read). Non-2xx: "
        "wrk's `Non-2xx or 3xx responses`; socket errors: connect + read + write + timeout. "
        "Server CPU: the server's process tree (every worker and helper process), in cores "
        "over the run and in ms per request; wrk CPU: the load generator, in cores; other "
        "processes' CPU: what the rest of the machine used meanwhile (`/proc/stat` less the "
        "server, wrk and the benchmark; each server waits up to "
        f"{QUIET_WAIT_S:.0f} s for it to fall under {QUIET_CORES} cores before it starts, "
        "and each run starts once the server is idle). RSS: "
        "the server tree's peak, summed over its processes (MB = 10^6 bytes). The MLflow "
        "tree includes the `mlflow models serve` CLI process that waits for uvicorn.",
        "",
        "| server | workers | route | req/s | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | "
        "non-2xx | socket errors | server CPU (cores) | server CPU (ms/req) | wrk CPU (cores) "
        "| other processes' CPU (cores) | server peak RSS (MB) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        lines.append(_c16_row(run, run["c16"]))
        for w in (run.get("extra") or {}).values():
            lines.append(_c16_row(run, w, extra=True))
    diag = [r for r in result["runs"] if r["diagnostic"]]
    if diag:
        lines += [
            "",
            "Rows marked diagnostic are not default settings and are not used for the "
            "goals: `MODELYARD_MODEL_THREADS=1` runs the 1-worker server with 1 native "
            "thread for the model; `max_wait_ms: 2` is a second deployment of the same "
            f"version ({WAIT_DEPLOYMENT!r}) that waits up to 2 ms for a batch to fill; "
            "`full collections logged` is the 2-worker server with a `sitecustomize` on its "
            "`PYTHONPATH` (written by the benchmark, not part of modelyard) that logs each "
            "full garbage collection's duration, and `heap frozen` the same server right "
            "after that hook has run `gc.collect(); gc.freeze()` in every process (on "
            "SIGUSR1 from the benchmark). See the findings below.",
        ]

    lines += [
        "",
        "### 2. One connection",
        "",
        f"`wrk -t1 -c1 -d{p['duration_one_s']}s --latency`: one request at a time, so "
        "latency is the whole cost of one row over HTTP. Next to it, the pipeline's own "
        f"`predict_proba` on a one-row DataFrame in the benchmark's process, median of "
        f"{inproc['calls']:,} calls over distinct rows: {inproc['median_ms']:.2f} ms with "
        f"OpenMP's default {inproc['default_threads']} threads (p99 {inproc['p99_ms']:.2f} "
        f"ms), {inproc['one_thread_median_ms']:.2f} ms limited to 1 thread (p99 "
        f"{inproc['one_thread_p99_ms']:.2f} ms).",
        "",
        "| server | workers | route | req/s | p50 (ms) | p90 (ms) | p99 (ms) | p50 above "
        "in-process (ms) | server CPU (ms/req) | other processes' CPU (cores) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        w = run.get("c1")
        if not w:
            continue
        lines.append(
            f"| {_label(run)} | {run['workers']} | {_path(run)} | {w['per_second']:.0f} | "
            f"{w['p50_ms']:.2f} | {w['p90_ms']:.2f} | {w['p99_ms']:.2f} | "
            f"{w['p50_ms'] - inproc['best_median_ms']:+.2f} | "
            f"{w['server_cpu_ms_per_request']:.2f} | {w['other_cpu_cores']:.2f} |"
        )

    for note in _mlflow_notes(result):
        lines += ["", note]

    batched = [(r, None) for r in result["runs"] if r.get("batching")]
    batched += [
        (r, w) for r in result["runs"] for w in (r.get("extra") or {}).values() if w.get("batching")
    ]
    if batched:
        histograms = [(w or r)["batching"]["rows_histogram"] for r, w in batched]
        last = max((i for h in histograms for i, x in enumerate(h) if x["count"]), default=0)
        edges = [x["rows"] for x in histograms[0][: last + 1]]
        lines += [
            "",
            "### 3. Adaptive batching during the 16-connection runs",
            "",
            "From modelyard's `/metrics` (`modelyard_batch_rows`, "
            "`modelyard_model_call_seconds`), scraped before and after each measured "
            "16-connection run and subtracted; `/metrics` speaks for the worker that "
            "answers, so it is scraped on fresh connections until every worker has answered, "
            "and the workers are summed. Each cell: model calls whose batch had that many "
            "rows (one row per request here; no call had more than the last column's). "
            "The last column is the same `predict_proba` on a frame of the mean batch size, "
            "in the benchmark's process (median).",
            "",
            "| server | workers | model calls | "
            + " | ".join(f"{e} rows" for e in edges)
            + " | mean rows/call | mean model call (ms) | in-process, same rows (ms) |",
            "|---|---:|---:|" + "---:|" * len(edges) + "---:|---:|---:|",
        ]
        for run, w in batched:
            b = (w or run)["batching"]
            cells = " | ".join(f"{x['count']:,}" for x in b["rows_histogram"][: last + 1])
            lines.append(
                f"| {_label(run, w)} | {run['workers']} | {b['model_calls']:,} | {cells} | "
                f"{b['mean_rows_per_call']:.1f} | {b['mean_model_call_ms']:.1f} | "
                f"{b.get('in_process_call_ms_same_rows', float('nan')):.1f} |"
            )

    batch = result.get("batch")
    if batch:
        lines += [
            "",
            f"### 4. Batch scoring of {batch['rows']:,} rows",
            "",
            f"{batch['rows']:,} generated rows in one Parquet file "
            f"({batch['parquet_mb']:.0f} MB). In-process: `pd.read_parquet` (not timed), "
            "then `model.predict_proba(df)` and `model.predict(df)` over the whole frame, "
            "once each. modelyard: "
            f"`{batch['cli_command']}` as a subprocess (embedded: reads the deployment from "
            "the home, loads the model, checks each 100,000-row chunk against the "
            "signature, scores it, writes the label, 3 probabilities and the model version "
            "next to the inputs), wall time including process start; and "
            "`Client().predict_file(...)` in the benchmark's process (from opening the "
            "client). Both outputs are checked: "
            f"{batch['cli_check']['rows']:,} rows, labels equal to in-process `predict` for "
            f"{batch['cli_check']['labels_equal']:,}, probabilities "
            + (
                "identical to"
                if batch["cli_check"]["max_probability_diff"] == 0
                else f"within {batch['cli_check']['max_probability_diff']:.1g} of"
            )
            + " in-process `predict_proba`.",
            "",
            "| run | time (s) | rows/s | vs in-process `predict_proba` | other processes' "
            "CPU (cores) |",
            "|---|---:|---:|---:|---:|",
        ]
        base = batch["in_process_predict_proba_rows_per_s"]
        other = batch["other_cpu_cores"]
        for label, seconds, key in (
            (
                "in-process `predict_proba`",
                batch["in_process_predict_proba_s"],
                "in_process_predict_proba",
            ),
            ("in-process `predict`", batch["in_process_predict_s"], "in_process_predict"),
            (
                f"in-process `predict_proba`, {batch['chunk_rows']:,}-row chunks",
                batch["in_process_chunked_predict_proba_s"],
                "in_process_chunked",
            ),
            ("`modelyard predict` (CLI)", batch["cli_s"], "cli"),
            ("`Client().predict_file`", batch["sdk_s"], "sdk"),
        ):
            rate = batch["rows"] / seconds
            lines.append(
                f"| {label} | {seconds:.1f} | {rate:,.0f} | {rate / base:.0%} | {other[key]:.2f} |"
            )
    problems = result.get("problems") or []
    if problems:
        lines += ["", "### Findings in modelyard", "", *[f"- {text}" for text in problems]]
    lines += [
        "",
        "Raw numbers: [`docs/benchmarks/serving.json`](benchmarks/serving.json).",
        "",
    ]
    return "\n".join(lines)


def _where_time_goes(result: dict[str, Any]) -> list[str]:
    mine = _default_runs(result, "modelyard")
    theirs = _default_runs(result, "MLflow")
    if not mine:
        return []
    best = max(mine, key=lambda r: r["c16"]["per_second"])
    c16 = best["c16"]
    b = best.get("batching") or {}
    text = (
        f"Where the time goes: at {CONNECTIONS} connections modelyard's best run "
        f"({best['workers']} worker{'s' if best['workers'] > 1 else ''}) spends "
        f"{c16['server_cpu_ms_per_request']:.2f} ms of server CPU per request and uses "
        f"{c16['server_cpu_cores']:.2f} of the {result['machine']['cores']} cores (wrk "
        f"takes {c16['wrk_cpu_cores']:.2f})"
    )
    if b.get("mean_rows_per_call") and b.get("in_process_call_ms_same_rows"):
        text += (
            f"; the model's own share is about "
            f"{b['in_process_call_ms_same_rows'] / b['mean_rows_per_call']:.2f} ms per "
            f"request (a call on {b['mean_rows_per_call']:.1f} rows costs "
            f"{b['in_process_call_ms_same_rows']:.1f} ms in-process)"
        )
    text += ". The rate is CPU-bound"
    if theirs:
        ml = max(theirs, key=lambda r: r["c16"]["per_second"])
        target = THROUGHPUT_GOAL_RATIO * ml["c16"]["per_second"]
        budget = 1000 * result["machine"]["cores"] / target
        text += (
            f": {THROUGHPUT_GOAL_RATIO:g}x MLflow's best here ({target:,.0f} req/s) on "
            f"{result['machine']['cores']} cores would leave at most {budget:.2f} ms of CPU "
            "per request for the server and the load generator together"
        )
    text += (
        ". Profiled separately (py-spy `--gil`, 1 worker with `MODELYARD_MODEL_THREADS=1` at "
        "about 845 req/s, git 0206cba, 2026-12-02): one worker is bound by its GIL, held in "
        "78% of the samples. Of that time, 80% is the model thread: 59% the pipeline's "
        "`ColumnTransformer` (column selection and one-hot encoding in scikit-learn and "
        "pandas Python), 15% building the DataFrame it is given (`serving/scorer.py:36`), "
        "5% the rest of `predict_proba`; 20% is the event loop: 9% uvicorn reading requests "
        "and writing answers, 10% modelyard's scoring code (data plane, batcher, typing "
        "values against the signature, metrics, JSON parsing and rendering), 1% the loop. "
        "With the plain-ASGI fast path (`api/fastpath.py`) the HTTP side is small; a model "
        "call costs about the same for 1 row as for 8, so requests per core now grow with "
        "the rows per model call (section 3), not with a faster HTTP path. That profile "
        "predates git f353926, where a quick model (recent calls under 20 ms) runs on the "
        "event loop instead of its own thread: the loop and a model thread no longer fight "
        "for the GIL (which had made each model call about 40% slower than in-process), and "
        "requests arriving during a call wait in their sockets and join the next batch."
    )
    return [text]


def _mlflow_notes(result: dict[str, Any]) -> list[str]:
    notes = []
    runs = [r for r in result["runs"] if r["tool"] == "MLflow"]
    one = next((r for r in runs if r["workers"] == 1), None)
    for r in runs:
        if one is not None and r["workers"] > 1 and r["c1"]["p50_ms"] > 3 * one["c1"]["p50_ms"]:
            notes.append(
                f"MLflow with {r['workers']} workers answers one connection in "
                f"{r['c1']['p50_ms']:.0f} ms (p50) against {one['c1']['p50_ms']:.1f} ms with 1: "
                "`mlflow models serve -w N` runs `uvicorn --workers N`, whose pre-bound "
                "listening socket leaves `TCP_NODELAY` off on accepted connections (uvicorn "
                "issue #3149), so each keep-alive response waits for a delayed ACK. That is "
                "MLflow as it ships; the goals use MLflow's best worker count."
            )
    return notes


# -- main ------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="modelyard serving vs mlflow models serve")
    p.add_argument("--duration", type=int, default=20, help="seconds per 16-connection run")
    p.add_argument("--duration-one", type=int, default=10, help="seconds per 1-connection run")
    p.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server")
    p.add_argument("--workers", type=_int_list, default=[1, 2], help="modelyard (default 1,2)")
    p.add_argument(
        "--mlflow-workers",
        type=_int_list,
        default=[1, 2],
        help="MLflow (default 1,2; 1 is its default)",
    )
    p.add_argument(
        "--no-diagnostic",
        dest="diagnostic",
        action="store_false",
        help="skip the MODELYARD_MODEL_THREADS=1 run",
    )
    p.add_argument("--batch-rows", type=int, default=1_000_000, help="rows in the batch file")
    p.add_argument("--skip-mlflow", action="store_true", help="measure modelyard only")
    p.add_argument("--skip-batch", action="store_true", help="no batch measurement")
    p.add_argument(
        "--no-write", action="store_true", help="print the report; leave docs/ untouched"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args()
    if min(args.duration, args.duration_one, args.warmup, args.batch_rows) < 1:
        p.error("durations and row counts must be at least 1")
    if not args.workers:
        p.error("--workers needs at least one worker count")
    if not args.mlflow_workers:
        args.skip_mlflow = True
    return args


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every server's finally: stops it


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `bash scripts/bench-deps.sh` (or make bench)")
    import numpy
    import pandas
    import sklearn

    import modelyard

    if not args.skip_mlflow:
        ensure_mlflow_venv()
        ensure_same_sklearn()
    tmp = Path(tempfile.mkdtemp(prefix="modelyard-serving-bench-"))
    log(f"working in {tmp}")
    try:
        result: dict[str, Any] = {
            "date": date,
            "command": _command(),
            "machine": machine_info(tmp),
            "modelyard_version": modelyard.__version__,
            "modelyard_git": _git_revision(),
            "versions": {
                "sklearn": sklearn.__version__,
                "pandas": pandas.__version__,
                "numpy": numpy.__version__,
            },
            "wrk_version": wrk_version(),
            "parameters": {
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
            },
        }
        workload, result["workload"] = build_workload(tmp)
        result["in_process"] = one_row_timing(workload)
        result["openmp_probe"] = openmp_probe(workload)
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
        result["goals"] = evaluate_goals(result)
        result["problems"] = find_problems(result)
        result["total_s"] = time.perf_counter() - started
        result["machine"]["load_average_at_end"] = _load_average()
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    publish(render_section(result), result, SECTION, JSON_OUT, no_write=args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
