"""The servers the serving benchmark measures, and what it measures on each: a ``Target``
is one server (modelyard with N workers and its settings, or ``mlflow models serve``),
checked against the in-process predictions, then loaded with wrk at 16 connections (plus
``Extra`` runs on the same server: another protocol or deployment) and at 1 connection."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.log import log
from harness.memory import MB, RssSampler
from harness.payments import Workload
from harness.procfs import tree_pids
from harness.quiet import wait_quiet
from harness.references import MLFLOW
from harness.servers import modelyard_server, serve, wait_all_workers_ready
from harness.wrk import measured_wrk, run_wrk
from serving_gc import freeze_heaps, gc_pauses
from serving_inprocess import batch_call_ms
from serving_metrics import metrics_delta, scrape_workers

DEPLOYMENT = "payments"
NATIVE_PATH = f"/v1/deployments/{DEPLOYMENT}/predict"
MLFLOW_PROTOCOL_PATH = f"/v1/deployments/{DEPLOYMENT}/invocations"
SERVING_OPTIONS = {"max_batch_size": 256, "max_wait_ms": 0}
# a diagnostic deployment of the same version: waits up to 2 ms for a batch to fill
WAIT_DEPLOYMENT = "payments-wait2"
WAIT_OPTIONS = {"max_batch_size": 256, "max_wait_ms": 2}
# the same version compiled to ONNX (``models compile``), deployed with the same options
COMPILED = "payments-onnx"
COMPILED_PATH = f"/v1/deployments/{COMPILED}/predict"
COMPILED_TOLERANCE = 1e-5  # what ``models compile`` verified
VERIFY_ROWS = 100
CONNECTIONS = 16


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
    deployment: str = DEPLOYMENT
    compiled: bool = False  # the ONNX version: its own goals


@dataclass
class Extra:
    key: str  # mlflow_protocol | wait2
    deployment: str
    path: str
    bodies: str
    label: str
    freeze_first: bool = False  # gc.freeze() in every worker before this run


def mlflow_serve_cmd(model_dir: Path | str, port: int | str, workers: int) -> list[str]:
    cmd = [
        MLFLOW.command("mlflow"),
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
    env = MLFLOW.env()
    # it runs `uvicorn ...` through bash: the MLflow venv's, not whatever PATH finds first
    env["PATH"] = f"{MLFLOW.python.parent}{os.pathsep}{env.get('PATH', '')}"

    def command(port: int) -> list[str]:
        return mlflow_serve_cmd(model_dir, port, target.workers)

    return serve(work, command, env, "/ping")


# -- correctness before timing -----------------------------------------------------------
def verify(
    url: str,
    path: str,
    bodies: str,
    workload: Workload,
    headers: dict[str, str],
    tolerance: float = 1e-9,
) -> Any:
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
    same = labels_ok == VERIFY_ROWS and max_diff <= tolerance
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
    auth = f"Bearer {keys[target.deployment]}" if is_modelyard else None
    headers = {"Authorization": auth} if auth else {}
    bodies = {"native": workload.native_bodies, "mlflow": workload.mlflow_bodies}
    starter = (
        modelyard_server(work, target.workers, home=home, env=target.env)
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
        "compiled": target.compiled,
        "deployment": target.deployment,
    }
    with starter as server, RssSampler(server.pid) as sampler:
        if is_modelyard:
            wait_all_workers_ready(server.url, target.workers)
        result["quiet"] = wait_quiet(target.key, tree_pids(server.pid))
        result["startup_s"] = server.startup_s
        result["idle_rss_mb"] = sampler.sample()[0] / MB
        tolerance = COMPILED_TOLERANCE if target.compiled else 1e-9
        result["verify"] = verify(
            server.url, target.path, target.bodies, workload, headers, tolerance
        )
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
                before = (
                    scrape_workers(server.url, target.workers, target.deployment)
                    if is_modelyard
                    else {}
                )
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
                    after = scrape_workers(server.url, target.workers, target.deployment)
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

        result["c16"] = c16(target.deployment, target.path, target.bodies, auth)
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
    for w in args.workers:
        out.append(
            Target(
                f"compiled-w{w}",
                "modelyard",
                w,
                COMPILED_PATH,
                "native",
                label="modelyard, compiled to ONNX",
                deployment=COMPILED,
                compiled=True,
            )
        )
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
