"""The MLflow half of ``benchmarks/registry.py``: the same registry work, in MLflow.

Runs inside ``.bench/mlflow-venv`` (``harness.references.MLFLOW``) so MLflow's
dependencies never touch the project's venv; it imports nothing from modelyard. Config and
result: ``harness.sides``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from harness.log import log
from harness.registration import build_packages, register_mlflow, write_files
from harness.sides import side_main
from harness.stats import rate_summary, timed_calls, timing_summary


def bench_registrations(cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    from mlflow import MlflowClient

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
    log(f"store created in {setup_s:.1f} s")
    folders = build_packages(
        work / "packages", n, payload_bytes=int(cfg["payload_bytes"]), manifest=False
    )

    durations: list[float] = []
    loop_start = time.perf_counter()
    for i, folder in enumerate(folders):
        t = time.perf_counter()
        register_mlflow(client, exp_id, "bench", folder, i)
        durations.append(time.perf_counter() - t)
    loop_s = time.perf_counter() - loop_start
    versions = client.search_model_versions("name = 'bench'", max_results=n + 10)
    if len(versions) != n:
        raise SystemExit(f"expected {n} MLflow versions, found {len(versions)}")
    log(f"{n} registrations in {loop_s:.1f} s ({n / loop_s:.1f}/s)")
    return {
        **rate_summary([d * 1000 for d in durations], loop_s),
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
    source = write_files(work / "search-package", int(cfg["search_payload_bytes"]))
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
            log(f"  {populated} versions in {time.perf_counter() - start:.0f} s")
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

    page, durations = timed_calls(search, warmups, runs)
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


def run(cfg: dict[str, Any]) -> dict[str, Any]:
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
    return result


if __name__ == "__main__":
    raise SystemExit(side_main(__doc__, run, "mlflow"))
