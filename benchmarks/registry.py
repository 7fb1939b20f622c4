"""Registry benchmark: modelyard against MLflow 3.x, measured in the same run.

    make bench        # runs every benchmark
    .venv/bin/python benchmarks/registry.py [--n 200] [--search-versions 10000] [--quick]

1. Registrations per second: N registrations of one model name, each a distinct 1 MiB
   random payload plus a ``score.py``, with 2 tags and 2 metrics.
2. Filtered search over 10,000 versions spread over 50 model names.

modelyard runs in this process (embedded: SQLite + local artifact folder). MLflow runs as a
subprocess in its own virtual environment, ``.bench/mlflow-venv`` (created on first run,
``mlflow==3.17.*``), so its dependencies never touch the project's venv; it uses a
``sqlite:///`` tracking and registry store and a ``file://`` artifact root, the closest
equivalent of modelyard's embedded mode (``mlflow_side.py``). Both sides work in one fresh
temporary folder, deleted at the end.

Results: the ``## Registry`` section of ``docs/benchmarks.md`` (regenerated; other
sections are kept) and ``docs/benchmarks/registry.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from harness.log import log
from harness.provenance import provenance_table
from harness.references import MLFLOW
from harness.registration import PAYLOAD_BYTES, build_packages, make_package, register
from harness.report import closing, generated_by, yes
from harness.run import Run, parse, parser
from harness.sides import run_side
from harness.stats import rate_summary, timed_calls, timing_summary

SECTION = "## Registry"
SEARCH_PAYLOAD_BYTES = 1 << 10  # 1 KiB, one package reused by every populated version
TEAMS = ("risk", "growth", "fraud", "ops", "platform")
STAGES = ("dev", "staging", "prod")
MODEL_FILTER = "tags.team = 'risk' AND metrics.accuracy > 0.9"
MODEL_ORDER = ["metrics.accuracy DESC"]
TAG_FILTER = "tags.team = 'risk'"  # what MLflow can do: no metrics in its version filter
MODEL_TAG_ORDER = ["created_at DESC"]
MLFLOW_ORDER = ["creation_timestamp DESC"]
MAX_RESULTS = 100
SEARCH_RUNS = 20
SEARCH_WARMUPS = 2
REGISTRATION_GOAL_RATIO = 10.0
SEARCH_GOAL_MS = 50.0


# -- the modelyard side ------------------------------------------------------------------
def bench_modelyard_registrations(work: Path, n: int) -> dict[str, Any]:
    from modelyard import Client, Settings

    folders = build_packages(work / "packages", n)
    t0 = time.perf_counter()
    client = Client(settings=Settings(home=work / "home", actor="bench"))
    setup_s = time.perf_counter() - t0
    durations: list[float] = []
    try:
        loop_start = time.perf_counter()
        for i, folder in enumerate(folders):
            t = time.perf_counter()
            register(client, "bench", folder, i)
            durations.append(time.perf_counter() - t)
        loop_s = time.perf_counter() - loop_start
        versions = client.list_versions("bench")
        if len(versions) != n or max(v.version for v in versions) != n:
            raise SystemExit(f"expected versions 1..{n} of 'bench', found {len(versions)}")
        digests = {v.package_digest for v in versions}
        if len(digests) != n:
            raise SystemExit(f"expected {n} distinct packages, found {len(digests)}")
    finally:
        client.close()
    log(f"modelyard: {n} registrations in {loop_s:.1f} s ({n / loop_s:.1f}/s)")
    return {
        **rate_summary([d * 1000 for d in durations], loop_s),
        "store_setup_s": setup_s,
        "distinct_packages": len(digests),
    }


def make_search_spec(count: int, models: int, seed: int) -> list[dict[str, Any]]:
    """The versions both sides populate: same names, tags and metrics, in the same order."""
    rng = random.Random(seed)
    return [
        {
            "name": f"model-{i % models:02d}",
            "tags": {"team": rng.choice(TEAMS), "stage": rng.choice(STAGES)},
            "metrics": {
                "accuracy": round(rng.uniform(0.5, 1.0), 6),
                "f1": round(rng.uniform(0.3, 0.95), 6),
            },
        }
        for i in range(count)
    ]


def bench_modelyard_search(work: Path, spec: list[dict[str, Any]]) -> dict[str, Any]:
    from modelyard import Client, Settings

    package = make_package(work / "search-package", SEARCH_PAYLOAD_BYTES)
    client = Client(settings=Settings(home=work / "search-home", actor="bench"))
    try:
        log(f"modelyard: populating {len(spec)} versions (one reused 1 KiB package)")
        start = time.perf_counter()
        for i, item in enumerate(spec, 1):
            client.register(
                item["name"],
                package,
                tags=item["tags"],
                metrics=item["metrics"],
                git_commit=None,
            )
            if i % 1000 == 0:
                log(f"  {i} versions in {time.perf_counter() - start:.0f} s")
        populate_s = time.perf_counter() - start

        def search() -> Any:
            return client.search_versions(
                MODEL_FILTER, order_by=MODEL_ORDER, max_results=MAX_RESULTS
            )

        def tag_search() -> Any:
            return client.search_versions(
                TAG_FILTER, order_by=MODEL_TAG_ORDER, max_results=MAX_RESULTS
            )

        page, durations = timed_calls(search, SEARCH_WARMUPS, SEARCH_RUNS)
        tag_page, tag_durations = timed_calls(tag_search, SEARCH_WARMUPS, SEARCH_RUNS)
    finally:
        client.close()

    # The first page must be right, not just fast.
    expected = sorted(
        (item["metrics"]["accuracy"] for item in spec if _matches(item)), reverse=True
    )
    got = [v.metrics["accuracy"] for v in page.items]
    first_page_correct = got == expected[:MAX_RESULTS] and all(
        v.tags["team"] == "risk" for v in page.items
    )
    tag_total = sum(1 for item in spec if item["tags"]["team"] == "risk")
    tag_correct = len(tag_page.items) == min(MAX_RESULTS, tag_total) and all(
        v.tags["team"] == "risk" for v in tag_page.items
    )
    log(
        f"modelyard: search median {statistics.median(durations) * 1000:.1f} ms, "
        f"{len(page.items)} matches on the first page"
    )
    return {
        "versions": len(spec),
        "models": len({item["name"] for item in spec}),
        "populate_s": populate_s,
        "query": {
            "filter": MODEL_FILTER,
            "order_by": MODEL_ORDER,
            "max_results": MAX_RESULTS,
            "runs": SEARCH_RUNS,
            "warmups": SEARCH_WARMUPS,
            "first_page_matches": len(page.items),
            "has_next_page": page.next_page_token is not None,
            "total_matches": len(expected),
            "first_page_correct": first_page_correct,
            **timing_summary(durations),
        },
        "tag_query": {
            "filter": TAG_FILTER,
            "order_by": MODEL_TAG_ORDER,
            "max_results": MAX_RESULTS,
            "runs": SEARCH_RUNS,
            "warmups": SEARCH_WARMUPS,
            "first_page_matches": len(tag_page.items),
            "has_next_page": tag_page.next_page_token is not None,
            "total_matches": tag_total,
            "first_page_correct": tag_correct,
            **timing_summary(tag_durations),
        },
    }


def _matches(item: dict[str, Any]) -> bool:
    return bool(item["tags"]["team"] == "risk" and item["metrics"]["accuracy"] > 0.9)


# -- goals and report --------------------------------------------------------------------
def evaluate_goals(result: dict[str, Any]) -> dict[str, Any]:
    goals: dict[str, Any] = {}
    my_reg = result["modelyard"]["registration"]["per_second"]
    ml = result.get("mlflow")
    if ml is not None:
        ratio = my_reg / ml["registration"]["per_second"]
        goals["registration"] = {
            "goal": f"at least {REGISTRATION_GOAL_RATIO:g}x MLflow's registration rate",
            "ratio": ratio,
            "met": ratio >= REGISTRATION_GOAL_RATIO,
        }
    search = result["modelyard"]["search"]
    q = search["query"]
    goals["search"] = {
        "goal": f"filtered search over 10,000 versions under {SEARCH_GOAL_MS:g} ms",
        "versions": search["versions"],
        "median_ms": q["median_ms"],
        "p95_ms": q["p95_ms"],
        # Judged on p95, the stricter reading; the query must also return the right page.
        "met": (
            search["versions"] >= 10_000
            and q["p95_ms"] < SEARCH_GOAL_MS
            and q["first_page_correct"]
        ),
    }
    return goals


def render_section(result: dict[str, Any]) -> str:
    my = result["modelyard"]
    ml = result.get("mlflow")
    goals = result["goals"]
    my_reg = my["registration"]
    my_search = my["search"]
    lines = [
        SECTION,
        "",
        generated_by("registry")
        + "modelyard and MLflow do the same registry work in the same run, on "
        "the same machine, each in its embedded/local mode: modelyard with its SQLite file and "
        "local artifact folder, MLflow with a `sqlite:///` tracking and registry store and a "
        "`file://` artifact root, in its own venv (`.bench/mlflow-venv`) and process.",
        "",
        *provenance_table(result, ml, MLFLOW.pin),
        "",
        "### Goals",
        "",
        "| goal | result | met |",
        "|---|---|---|",
    ]
    if ml is not None and "registration" in goals:
        g = goals["registration"]
        lines.append(
            f"| {g['goal']} | {my_reg['per_second']:.1f}/s vs "
            f"{ml['registration']['per_second']:.1f}/s = {g['ratio']:.1f}x | {yes(g['met'])} |"
        )
    g = goals["search"]
    lines += [
        f"| {g['goal']} (judged on p95, first page checked correct) | "
        f"median {g['median_ms']:.1f} ms, p95 {g['p95_ms']:.1f} ms over "
        f"{g['versions']:,} versions | {yes(g['met'])} |",
        "",
        "MLflow's embedded mode copies artifacts without `fsync`; modelyard makes each "
        "stored object durable (`fdatasync`) before the row that points at it commits, which "
        "costs about 1 ms of each registration's wall time on this machine's disk (measured "
        "2026-12-05 with the store's phases timed, beside 0.6 ms hashing the 1 MiB file and "
        "about 0.8 ms in the two SQLite write transactions).",
        "",
        "### 1. Registrations (metadata + a 1 MiB package)",
        "",
        "Each registration: one model name, a distinct 1 MiB random `weights.bin` (distinct so "
        "content deduplication does not help) plus a `score.py`, 2 tags and 2 metrics. "
        "Packages are written before the timed loop. modelyard times "
        "`client.register(...)` (verify the package, store its files, commit the version and "
        "its audit event). MLflow times the equivalent: `create_run`, `log_artifacts` (both "
        "files), `log_batch` (2 tags + 2 metrics), `set_terminated`, "
        "`create_model_version(source='runs:/<id>/model', run_id=..., tags=...)`; the "
        "registered model is created before the loop.",
        "",
        "| tool | registrations | time (s) | registrations/s | p50 (ms) | p95 (ms) |",
        "|---|---:|---:|---:|---:|---:|",
        _reg_row("modelyard", my_reg),
    ]
    if ml:
        lines.append(_reg_row("MLflow", ml["registration"]))
    q = my_search["query"]
    tq = my_search["tag_query"]
    lines += [
        "",
        "### 2. Filtered search",
        "",
        f"Populated: {my_search['versions']:,} versions over {my_search['models']} model "
        f"names, tags `team` (one of {len(TEAMS)}) and `stage`, metrics `accuracy` "
        "(uniform 0.5-1) and `f1`; the same generated data on both sides. modelyard is "
        "populated through `client.register` with one reused 1 KiB package "
        f"({my_search['populate_s']:.0f} s). Each query: {SEARCH_WARMUPS} warm-ups, then "
        f"{SEARCH_RUNS} timed runs, `max_results={MAX_RESULTS}`.",
        "",
        "MLflow's `search_model_versions` cannot filter or order on metrics (its filter takes "
        "name, run_id, tags, source_path and version_number only), so the MLflow row runs "
        "the closest equivalent: the tags part of the filter, ordered by creation time. "
        "For a like-for-like comparison modelyard also runs that same tags-only query.",
        "",
        "| tool | versions searched | filter | order by | first-page matches "
        "(total) | median (ms) | p95 (ms) |",
        "|---|---:|---|---|---:|---:|---:|",
        _search_row("modelyard", my_search["versions"], q),
        _search_row("modelyard (tags only)", my_search["versions"], tq),
    ]
    notes = []
    if ml and "search" in ml:
        s = ml["search"]
        lines.append(_search_row("MLflow (tags only: no metric filter)", s["versions"], s))
        populate_note = (
            f"MLflow was populated with {s['versions']:,} versions "
            f"(`create_model_version` with tags, one shared source, no run) in "
            f"{s['populate_s']:.0f} s."
        )
        if s["stopped_by_budget"]:
            populate_note += (
                f" **Population stopped at its time budget, short of "
                f"{s['versions_requested']:,}: MLflow searched fewer versions than modelyard.**"
            )
        notes.append(populate_note)
    bad = [
        name for name, qq in (("filtered", q), ("tags-only", tq)) if not qq["first_page_correct"]
    ]
    if bad:
        notes.append(f"**modelyard's {' and '.join(bad)} first page did not match the data.**")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines + closing("registry"))


def _reg_row(tool: str, r: dict[str, Any]) -> str:
    return (
        f"| {tool} | {r['n']} | {r['seconds']:.1f} | {r['per_second']:.1f} | "
        f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} |"
    )


def _search_row(tool: str, versions: int, q: dict[str, Any]) -> str:
    order = ", ".join(q["order_by"])
    return (
        f"| {tool} | {versions:,} | `{q['filter']}` | `{order}` | "
        f"{q['first_page_matches']} ({q['total_matches']:,}) | {q['median_ms']:.1f} | "
        f"{q['p95_ms']:.1f} |"
    )


# -- main --------------------------------------------------------------------------------
QUICK = {"n": 10, "search_versions": 300, "models": 5, "mlflow_populate_budget": 60.0}


def parse_args() -> argparse.Namespace:
    p = parser("modelyard vs MLflow registry benchmark", reference=MLFLOW)
    p.add_argument("--n", type=int, default=200, help="modelyard registrations (default 200)")
    p.add_argument(
        "--mlflow-n",
        type=int,
        default=None,
        help="MLflow registrations (default half of --n: 100)",
    )
    p.add_argument("--search-versions", type=int, default=10_000)
    p.add_argument("--models", type=int, default=50, help="model names to spread versions over")
    p.add_argument(
        "--mlflow-populate-budget",
        type=float,
        default=480.0,
        help="seconds MLflow may spend populating the search registry; it stops short "
        "(and the report says so) when that runs out (default 480)",
    )
    p.add_argument("--seed", type=int, default=20240601)
    args = parse(p, QUICK)
    if args.mlflow_n is None:
        args.mlflow_n = max(1, args.n // 2)
    if args.n < 1 or args.mlflow_n < 1 or args.search_versions < 1 or args.models < 1:
        p.error("counts must be at least 1")
    return args


def main() -> int:
    args = parse_args()
    with Run("registry", SECTION, args, references=[MLFLOW]) as run:
        result, tmp = run.result, run.tmp
        spec = make_search_spec(args.search_versions, args.models, args.seed)
        result["parameters"] = {
            "n": args.n,
            "mlflow_n": args.mlflow_n,
            "payload_bytes": PAYLOAD_BYTES,
            "search_versions": args.search_versions,
            "models": args.models,
            "seed": args.seed,
            "mlflow_populate_budget_s": args.mlflow_populate_budget,
        }
        my_work = tmp / "modelyard"
        result["modelyard"] = {
            "registration": bench_modelyard_registrations(my_work / "register", args.n),
            "search": bench_modelyard_search(my_work / "search", spec),
        }
        if not args.skip_mlflow:
            spec_path = tmp / "search-spec.json"
            spec_path.write_text(json.dumps(spec))
            cfg = {
                "work_dir": str(tmp / "mlflow"),
                "n": args.mlflow_n,
                "payload_bytes": PAYLOAD_BYTES,
                "search": True,
                "search_spec": str(spec_path),
                "search_versions": args.search_versions,
                "search_payload_bytes": SEARCH_PAYLOAD_BYTES,
                "populate_budget_s": args.mlflow_populate_budget,
                "mlflow_filter": TAG_FILTER,
                "mlflow_order_by": MLFLOW_ORDER,
                "max_results": MAX_RESULTS,
                "search_runs": SEARCH_RUNS,
                "search_warmups": SEARCH_WARMUPS,
            }
            result["mlflow"] = run_side(MLFLOW, "mlflow_side.py", cfg, tmp)
        result["goals"] = evaluate_goals(result)
    run.publish(render_section(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
