"""The MLflow half of ``benchmarks/registry.py``.

Runs inside its own virtual environment (``.bench/mlflow-venv``, created by
``registry.py``) so MLflow's dependencies never touch the project's venv. It imports
nothing from modelyard. It reads a JSON config (path given as ``--config``), does the same
registry work as the modelyard side, and prints one line ``BENCH_RESULT {json}`` on
stdout. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "
SCORE_PY = "def init():\n    pass\n\ndef run(data):\n    return [0] * len(data)\n"


def log(msg: str) -> None:
    print(f"[mlflow] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method) of ``values``."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def timing_summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "median_ms": statistics.median(ms),
        "p95_ms": pct(ms, 95),
        "min_ms": min(ms),
        "max_ms": max(ms),
    }


def make_package(folder: Path, payload_bytes: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "score.py").write_text(SCORE_PY)
    (folder / "weights.bin").write_bytes(os.urandom(payload_bytes))
    return folder


def bench_registrations(cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag

    n = int(cfg["n"])
    uri = f"sqlite:///{work / 'register' / 'mlflow.db'}"
    (work / "register").mkdir(parents=True)
    t0 = time.perf_counter()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp_id = client.create_experiment(
        "bench", artifact_location=(work / "register" / "artifacts").as_uri()
    )
    client.create_registered_model("bench")
    setup_s = time.perf_counter() - t0
    log(f"store created in {setup_s:.1f} s; building {n} packages of {cfg['payload_bytes']} B")
    folders = [
        make_package(work / "packages" / f"{i:04d}", int(cfg["payload_bytes"])) for i in range(n)
    ]

    durations: list[float] = []
    loop_start = time.perf_counter()
    for i, folder in enumerate(folders):
        t = time.perf_counter()
        run = client.create_run(exp_id)
        run_id = run.info.run_id
        client.log_artifacts(run_id, str(folder), artifact_path="model")
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric("accuracy", 0.9, now, 0), Metric("f1", 0.8, now, 0)],
            tags=[RunTag("team", "risk"), RunTag("seq", str(i))],
        )
        client.set_terminated(run_id)
        client.create_model_version(
            "bench",
            source=f"runs:/{run_id}/model",
            run_id=run_id,
            tags={"team": "risk", "seq": str(i)},
        )
        durations.append(time.perf_counter() - t)
    loop_s = time.perf_counter() - loop_start
    versions = client.search_model_versions("name = 'bench'", max_results=n + 10)
    if len(versions) != n:
        raise SystemExit(f"expected {n} MLflow versions, found {len(versions)}")
    log(f"{n} registrations in {loop_s:.1f} s ({n / loop_s:.1f}/s)")
    return {
        "n": n,
        "seconds": loop_s,
        "per_second": n / loop_s,
        "p50_ms": statistics.median(d * 1000 for d in durations),
        "p95_ms": pct([d * 1000 for d in durations], 95),
        "store_setup_s": setup_s,
        "latest_version": max(int(v.version) for v in versions),
    }


def bench_search(cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    from mlflow import MlflowClient

    spec = json.loads(Path(cfg["search_spec"]).read_text())
    wanted = min(int(cfg["search_versions"]), len(spec))
    budget = float(cfg["populate_budget_s"])
    uri = f"sqlite:///{work / 'search' / 'mlflow.db'}"
    (work / "search").mkdir(parents=True)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_experiment("bench", artifact_location=(work / "search" / "artifacts").as_uri())
    source = make_package(work / "search-package", int(cfg["search_payload_bytes"]))
    names = sorted({item["name"] for item in spec[:wanted]})
    for name in names:
        client.create_registered_model(name)

    log(f"populating up to {wanted} versions over {len(names)} models (budget {budget:.0f} s)")
    start = time.perf_counter()
    populated = 0
    stopped_by_budget = False
    for item in spec[:wanted]:
        client.create_model_version(item["name"], source=source.as_uri(), tags=dict(item["tags"]))
        populated += 1
        if populated % 1000 == 0:
            elapsed = time.perf_counter() - start
            log(f"  {populated} versions in {elapsed:.0f} s")
        if time.perf_counter() - start > budget and populated < wanted:
            stopped_by_budget = True
            break
    populate_s = time.perf_counter() - start
    log(f"populated {populated} versions in {populate_s:.0f} s")

    query = str(cfg["mlflow_filter"])
    order_by = list(cfg["mlflow_order_by"])
    max_results = int(cfg["max_results"])
    runs = int(cfg["search_runs"])
    warmups = int(cfg["search_warmups"])

    def search() -> Any:
        return client.search_model_versions(query, order_by=order_by, max_results=max_results)

    for _ in range(warmups):
        search()
    durations = []
    page = None
    for _ in range(runs):
        t = time.perf_counter()
        page = search()
        durations.append(time.perf_counter() - t)
    assert page is not None
    team = query.split("'")[1]
    first_page_ok = all(v.tags.get("team") == team for v in page)
    expected_total = sum(1 for item in spec[:populated] if item["tags"]["team"] == team)
    return {
        "versions": populated,
        "versions_requested": wanted,
        "models": len({item["name"] for item in spec[:populated]}),
        "stopped_by_budget": stopped_by_budget,
        "populate_s": populate_s,
        "filter": query,
        "order_by": order_by,
        "max_results": max_results,
        "runs": runs,
        "warmups": warmups,
        "first_page_matches": len(page),
        "has_next_page": bool(page.token),
        "total_matches": expected_total,
        "first_page_correct": first_page_ok,
        **timing_summary(durations),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args()
    cfg = json.loads(args.config.read_text())
    work = Path(cfg["work_dir"])
    work.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    import mlflow

    import_s = time.perf_counter() - t0
    log(f"mlflow {mlflow.__version__} imported in {import_s:.1f} s")
    result: dict[str, Any] = {
        "mlflow_version": mlflow.__version__,
        "python_version": platform.python_version(),
        "import_s": import_s,
        "registration": bench_registrations(cfg, work),
    }
    if cfg.get("search", True):
        result["search"] = bench_search(cfg, work)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
