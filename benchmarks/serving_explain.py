"""Top factors' cost per row, in the serving benchmark.

Three deployments on a ``modelyard server --workers 1`` of their own: the benchmark's
pipeline (``baseline_shapley``: 12 inputs, 16 orderings), and an XGBoost and a LightGBM
classifier trained on the same rows' 8 numeric columns (``tree_shap``), each version
registered with its training dataset (the reference top factors start from). Each gets
requests of ``ROWS`` rows, one at a time on one connection, without and with
``?explain=3``; the cost per row is the difference of the median request times divided
by the rows. Every answer is checked (200, and 3 factors a row when asked).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from harness.log import log
from harness.payments import NUMERIC, Workload, generate, labels
from harness.servers import modelyard_server

ROWS = 100  # rows per request
REQUESTS = 15  # timed requests per deployment and mode
TOP = 3


def _models(train_rows: int) -> tuple[Any, dict[str, tuple[Any, list[str]]]]:
    import lightgbm as lgb
    import xgboost as xgb

    frame = generate(train_rows)
    y = labels(frame)
    classes = sorted(set(y))
    codes = [classes.index(v) for v in y]
    numbers = frame[NUMERIC]
    return frame, {
        "xgboost": (xgb.XGBClassifier(n_estimators=100, max_depth=4).fit(numbers, codes), NUMERIC),
        "lightgbm": (lgb.LGBMClassifier(n_estimators=100, verbose=-1).fit(numbers, codes), NUMERIC),
    }


def _timed(http: Any, path: str, body: dict[str, Any], explain: bool) -> float:
    started = time.perf_counter()
    r = http.post(path, json=body, params={"explain": TOP} if explain else None)
    seconds = time.perf_counter() - started
    if r.status_code != 200:
        raise SystemExit(f"explain benchmark: {path} answered {r.status_code}: {r.text[:300]}")
    if explain and any(len(row["factors"]) != TOP for row in r.json()["explanations"]["rows"]):
        raise SystemExit("explain benchmark: an answer without its factors")
    return seconds


def bench_explain(tmp: Path, workload: Workload, train_rows: int) -> dict[str, Any]:
    import httpx

    from modelyard import Client, Settings

    home = tmp / "explain-home"
    frame, trees = _models(train_rows)
    features = list(workload.requests.columns)
    keys: dict[str, tuple[str, list[str]]] = {}
    with Client(settings=Settings(home=home, actor="bench")) as c:
        training = c.register_dataset("training", frame[features])
        deployed = {"pipeline": (workload.model, features), **trees}
        for name, (model, inputs) in deployed.items():
            example = frame[inputs].head(20)
            version = c.log_model(model, name, input_example=example, datasets=[training.ref])
            key = c.create_deployment(name, [version.ref]).new_keys["primary"]
            keys[name] = (key, inputs)
    results = []
    with modelyard_server(tmp / "explain-server", 1, home=home) as server:
        for name, (key, inputs) in keys.items():
            rows = workload.requests[inputs].head(ROWS)
            body = {"inputs": rows.to_dict(orient="records")}
            path = f"/v1/deployments/{name}/predict"
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=120) as http:
                for explain in (False, True):  # warm-up
                    _timed(http, path, body, explain)
                plain = [_timed(http, path, body, False) for _ in range(REQUESTS)]
                explained = [_timed(http, path, body, True) for _ in range(REQUESTS)]
                method = http.post(path, json=body, params={"explain": TOP}).json()
            p, e = statistics.median(plain), statistics.median(explained)
            found = {
                "deployment": name,
                "method": method["explanations"]["method"],
                "inputs": len(inputs),
                "plain_ms": p * 1000,
                "explain_ms": e * 1000,
                "per_row_ms": (e - p) * 1000 / ROWS,
            }
            log(f"explain: {found}")
            results.append(found)
    return {"rows_per_request": ROWS, "requests": REQUESTS, "top": TOP, "results": results}


def explain_lines(result: dict[str, Any]) -> list[str]:
    found = result.get("explain")
    if not found:
        return []
    lines = [
        "### Top factors",
        "",
        f"`?explain={found['top']}` on requests of {found['rows_per_request']} rows, one "
        "connection, a `modelyard server --workers 1` of its own; median of "
        f"{found['requests']} requests each way (`benchmarks/serving_explain.py`). The "
        "pipeline is the benchmark's own (12 inputs, explained by baseline Shapley: 16 "
        "orderings, 11 model rows each per row); XGBoost and LightGBM (100 trees, the 8 "
        "numeric inputs) give their own TreeSHAP.",
        "",
        "| model | method | inputs | request without | with explain | cost per row |",
        "|---|---|---|---|---|---|",
    ]
    for r in found["results"]:
        lines.append(
            f"| {r['deployment']} | `{r['method']}` | {r['inputs']} | {r['plain_ms']:.1f} ms "
            f"| {r['explain_ms']:.1f} ms | {r['per_row_ms']:.3f} ms |"
        )
    return lines
