"""modelyard's ``/metrics`` during a load run: the batching series (rows per model call,
requests per batch, model call time), scraped before and after a run and subtracted,
over every worker."""

from __future__ import annotations

import re
from typing import Any

from harness.servers import ADMIN_TOKEN

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


def scrape_workers(
    url: str, workers: int, deployment: str
) -> dict[float, dict[str, dict[str, Any]]]:
    """The server's series. A server of several workers answers ``/metrics`` for all of
    them (their sum, with no ``_created`` samples): one scrape, keyed ``0.0``. A server
    that speaks per worker (one worker, or an older modelyard) is asked on fresh
    connections until every worker has answered, keyed by when each worker's batch
    histogram was created."""
    import httpx

    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}  # the series name deployments
    seen: dict[float, dict[str, dict[str, Any]]] = {}
    for _ in range(40 * workers):
        answer = httpx.get(url + "/metrics", timeout=10, headers=auth)
        parsed = parse_metrics(answer.raise_for_status().text)
        created = parsed.get(deployment, {}).get("created")
        if created is None and deployment in parsed:  # every worker's sum at once
            return {0.0: parsed}
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
