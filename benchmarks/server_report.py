"""The ``## Server`` section of ``docs/benchmarks.md``: the goals ``server.py``'s numbers
are judged on, the findings in modelyard they show, and the section itself."""

from __future__ import annotations

from typing import Any

from harness.memory import MB, SAMPLE_S
from harness.provenance import provenance_table
from harness.references import MLFLOW
from harness.report import closing, generated_by, plural, yes

REGISTRATION_GOAL_RATIO = 10.0
RSS_GOAL_MB = 300.0
SECTION = "## Server"


def _best(runs: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    return max(runs, key=lambda r: r[phase]["per_second"])


def evaluate_goals(result: dict[str, Any]) -> dict[str, Any]:
    goals: dict[str, Any] = {}
    my = result["modelyard"]
    ml = result.get("mlflow")
    if my and ml:
        for phase, label in (("sequential", "1 client"), ("concurrent", "8 clients")):
            a, b = _best(my, phase), _best(ml["runs"], phase)
            ratio = a[phase]["per_second"] / b[phase]["per_second"]
            same = {}
            for run in my:
                other = next((m for m in ml["runs"] if m["workers"] == run["workers"]), None)
                if other is not None:
                    same[str(run["workers"])] = (
                        run[phase]["per_second"] / other[phase]["per_second"]
                    )
            goals[phase] = {
                "goal": f"at least {REGISTRATION_GOAL_RATIO:g}x MLflow's server, {label}",
                "modelyard_per_second": a[phase]["per_second"],
                "modelyard_workers": a["workers"],
                "mlflow_per_second": b[phase]["per_second"],
                "mlflow_workers": b["workers"],
                "ratio": ratio,
                "ratio_same_workers": same,
                "met": ratio >= REGISTRATION_GOAL_RATIO,
            }
    large = result.get("large")
    if large:
        peak = max(large["upload"]["server_peak_rss_mb"], large["download"]["server_peak_rss_mb"])
        goals["large"] = {
            "goal": f"a {large['bytes'] / (1 << 30):g} GiB package uploads and downloads with the "
            f"server's resident memory under {RSS_GOAL_MB:g} MB",
            "peak_mb": peak,
            "met": peak < RSS_GOAL_MB and large["bytes"] >= 1 << 30,
        }
    return goals


def find_problems(result: dict[str, Any]) -> list[str]:
    """Findings in modelyard that the numbers of this run show (each with its cause, found
    by profiling the server; the file:line references are to the code measured)."""
    problems = []
    for run in result["modelyard"]:
        s, c = run["sequential"], run["concurrent"]
        if c["per_second"] < s["per_second"]:
            problems.append(
                f"With {run['workers']} worker(s), {c['clients']} concurrent clients register "
                f"slower ({c['per_second']:.1f}/s) than 1 client ({s['per_second']:.1f}/s)."
            )
    large = result.get("large")
    if large and large["idle_rss_mb"] - large["rss_at_start_mb"] > 30:
        problems.append(
            f"A worker's resident memory grows from {large['rss_at_start_mb']:.0f} MB to "
            f"{large['idle_rss_mb']:.0f} MB on its first registration: `begin_upload` "
            "(`services/registry.py:107`) checks the flavor name with `get_flavor()`, which "
            "imports every built-in flavor (`flavors/registry.py:32`) and with them numpy, "
            "pandas and pyarrow (`flavors/signature.py:15-16`, `flavors/onnx.py:16-17`), "
            "none of which a registration uses."
        )
    multi = [r for r in result["modelyard"] if r["workers"] > 1]
    for run in multi:
        peak = max(run["sequential"]["server_peak_rss_mb"], run["concurrent"]["server_peak_rss_mb"])
        if peak >= RSS_GOAL_MB:
            problems.append(
                f"With {run['workers']} workers the server's processes together hold "
                f"{peak:.0f} MB while registering 1 MiB packages: the {RSS_GOAL_MB:g} MB "
                "budget holds for 1 worker only (each worker pays the imports above)."
            )
    if large:
        up = large["upload"]
        if up["server_disk_written_mb"] > 1.5 * large["bytes"] / MB:
            problems.append(
                f"The server wrote {up['server_disk_written_mb']:.0f} MB to disk to store a "
                f"{large['bytes'] / MB:.0f} MB upload, and only starts storing once the whole "
                "body has arrived: the upload route spools the request body to a temporary "
                "file (`api/packages.py:79-83`), then `upload_file` copies it into the store "
                "(`artifacts/store.py:189-193`, hash, write, fdatasync). Hashing and writing "
                "as the body arrives would halve the disk writes and overlap them with the "
                "transfer."
            )
    return problems


def _mb(value: float) -> str:
    return f"{value:.0f}"


def render_section(result: dict[str, Any]) -> str:
    my = result["modelyard"]
    ml = result.get("mlflow")
    goals = result["goals"]
    large = result.get("large")
    p = result["parameters"]
    lines = [
        SECTION,
        "",
        generated_by("server")
        + "modelyard's server and MLflow's tracking server do the same work over HTTP "
        "in the same run, on the same machine, one server at a time, each started fresh on "
        "127.0.0.1 with an empty SQLite database and measured once its processes are idle: "
        "`modelyard server --workers N` (SQLite + local artifact folder); "
        "`mlflow server --backend-store-uri sqlite:///... --serve-artifacts "
        "--artifacts-destination <folder> --workers N` from `.bench/mlflow-venv` (no "
        "`--default-artifact-root`, so runs log to `mlflow-artifacts:/` and clients upload "
        "artifacts through the server, as modelyard's clients do: the comparable setup). "
        "The clients run on the same cores as the server.",
        "",
        *provenance_table(result, ml, MLFLOW.pin),
        "",
        "### Goals",
        "",
        "The registration goals are judged on each tool's best measured worker count "
        f"(modelyard: {', '.join(str(w) for w in p['workers'])}; MLflow: "
        f"{', '.join(str(w) for w in p['mlflow_workers']) or 'not run'}); the same-worker "
        "ratios are shown too. MB = 10^6 bytes.",
        "",
        "| goal | result | met |",
        "|---|---|---|",
    ]
    for key in ("sequential", "concurrent"):
        if key in goals:
            g = goals[key]
            same = ", ".join(
                f"{r:.1f}x at {plural(w, 'worker')}" for w, r in g["ratio_same_workers"].items()
            )
            lines.append(
                f"| {g['goal']} | {g['modelyard_per_second']:.1f}/s "
                f"({plural(g['modelyard_workers'], 'worker')}) vs "
                f"{g['mlflow_per_second']:.1f}/s ({plural(g['mlflow_workers'], 'worker')}) = "
                f"{g['ratio']:.1f}x (same worker count: {same}) | {yes(g['met'])} |"
            )
    if "large" in goals:
        g = goals["large"]
        lines.append(
            f"| {g['goal']} (1 worker) | peak {g['peak_mb']:.0f} MB (upload "
            f"{_mb(large['upload']['server_peak_rss_mb'])} MB, download "
            f"{_mb(large['download']['server_peak_rss_mb'])} MB) | {yes(g['met'])} |"
        )
    lines += ["", *_where_time_goes(result)]
    lines += [
        "",
        "### 1. Registrations over HTTP",
        "",
        "Each registration: a distinct 1 MiB random `weights.bin` plus a `score.py` (packages "
        "written before the clock starts), 2 tags and 2 metrics, into one model name per "
        "phase. modelyard's client is `Client(url=..., token=...)`: `client.register(...)` "
        "posts the manifest, streams each missing file with a `PUT`, commits the version "
        "(4 requests). MLflow's client (`MlflowClient(tracking_uri=url)`) does `create_run`, "
        "`log_artifacts` (both files), `log_batch` (2 tags + 2 metrics), `set_terminated`, "
        "`create_model_version`. "
        f"1 client: {p['n']} registrations in a row. {p['clients']} clients: {p['clients']} "
        f"threads in one process, one client object each, {p['per_client']} registrations "
        "each, started together. Every client first registers one warm-up package, not timed. "
        "After each phase the versions are checked gap-free (1..N). Latency is per "
        "registration; CPU is the server's process tree (all workers and helper processes) "
        "and the client process, divided by the registrations; RSS is the server tree's peak, "
        "summed over its processes.",
        "",
        "| tool | server workers | clients | registrations | time (s) | registrations/s | "
        "p50 (ms) | p95 (ms) | server CPU (ms/reg) | client CPU (ms/reg) | server peak RSS "
        "(MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [("modelyard", r) for r in my]
    if ml:
        rows += [("MLflow", r) for r in ml["runs"]]
        rows += [("MLflow, direct artifacts", r) for r in ml.get("direct_runs", [])]
    for phase in ("sequential", "concurrent"):
        for tool, run in rows:
            lines.append(_reg_row(tool, run, phase))
    if ml:
        for note in _mlflow_notes(ml):
            lines += ["", note]
    if large:
        up, down = large["upload"], large["download"]
        lines += [
            "",
            f"### 2. A {large['bytes'] / (1 << 30):g} GiB package",
            "",
            f"A package whose `weights.bin` is {large['bytes']:,} bytes (a 1 MiB random block "
            "repeated), registered through the remote client against `modelyard server "
            "--workers 1`, then downloaded with `GET /api/v1/models/{env}/{name}/versions/"
            "{version}/files/{sha}` streamed to a file and its sha256 checked "
            f"({'matches' if down['sha256_verified'] else '**does not match**'}). The server's "
            f"resident memory (VmRSS) sampled every {SAMPLE_S * 1000:.0f} ms: "
            f"{large['rss_at_start_mb']:.0f} MB when started, {large['idle_rss_mb']:.0f} MB "
            "idle after a first small registration. The client is this benchmark's process. "
            "Disk I/O: the server's `/proc/<pid>/io` counters. The files are deleted "
            "afterwards.",
            "",
            "| step | time (s) | MB/s | server peak RSS (MB) | client peak RSS (MB) | "
            "server disk read / written (MB) |",
            "|---|---:|---:|---:|---:|---:|",
            _large_row("upload (`client.register`)", up),
            _large_row("download (`GET .../files/{sha}`)", down),
        ]
    return "\n".join(lines + closing("server", result.get("problems")))


def _where_time_goes(result: dict[str, Any]) -> list[str]:
    one = next((r for r in result["modelyard"] if r["workers"] == 1), result["modelyard"][0])
    seq = one["sequential"]
    text = (
        f"Where a modelyard registration's time goes: with 1 client, the server spends "
        f"{seq['server_cpu_ms_per_registration']:.0f} ms of CPU per registration and the "
        f"client {seq['client_cpu_ms_per_registration']:.0f} ms, which is the p50 latency "
        f"({seq['p50_ms']:.0f} ms): the rate is CPU-bound, and with "
        f"{result['machine']['cores']} cores shared by the server and the clients, more "
        "workers or clients add little. Profiled separately (py-spy, 1 worker, 1 client, "
        "2026-11-23): the cost is per request, not per byte: with a 1 KiB payload instead of "
        "1 MiB the server still spends about 29 ms of CPU per registration (33 ms with "
        "1 MiB). Of the time the server holds the GIL, about 45% is the HTTP stack "
        "(uvicorn, FastAPI, Starlette, anyio thread hops) for the 4 requests of a "
        "registration; about 26% is SQLAlchemy, including 2 queries per request to "
        "authenticate the token (`services/auth.py:103` and `:114`, `store/auth.py:91`); "
        "about 6% is YAML: the manifest is parsed 4 times per registration "
        "(`services/registry.py:106`, and `_package_manifest` at `:180` for each `PUT` and "
        "the commit) and serialised again with pure-Python `yaml.safe_dump` "
        "(`services/registry.py:162` → `flavors/package.py:55`). Reaching 10x MLflow "
        "needs fewer requests per registration (small files inline with the manifest), "
        "cached token lookups and one manifest parse, not faster I/O."
    )
    return [text]


def _mlflow_notes(ml: dict[str, Any]) -> list[str]:
    notes = []
    runs = ml["runs"]
    one = next((r for r in runs if r["workers"] == 1), None)
    slow = [
        r
        for r in runs
        if one is not None
        and r["workers"] > 1
        and r["sequential"]["p50_ms"] > 1.5 * one["sequential"]["p50_ms"]
    ]
    if slow and one is not None:
        worst = max(slow, key=lambda r: r["sequential"]["p50_ms"])
        notes.append(
            f"MLflow with more than one worker is slower for 1 client (p50 "
            f"{worst['sequential']['p50_ms']:.0f} ms at {worst['workers']} workers vs "
            f"{one['sequential']['p50_ms']:.0f} ms at 1): its `--workers N` runs "
            "`uvicorn --workers N`, whose pre-bound listening socket leaves `TCP_NODELAY` "
            "off on accepted connections (uvicorn issue #3149), so each keep-alive request "
            "waits about 40 ms for a delayed ACK (a plain keep-alive `GET` measured 14 ms "
            "with 1 worker, 56 ms with 2). That is MLflow as it ships with this uvicorn; the "
            "goals use MLflow's best worker count, so it does not flatter modelyard there."
        )
    direct = ml.get("direct_runs") or []
    if direct:
        d = direct[0]
        workers = plural(d["workers"], "worker")
        notes.append(
            "For reference, the rows `MLflow, direct artifacts` run `mlflow server "
            f"--no-serve-artifacts --default-artifact-root <folder>` ({workers}): the "
            "clients write artifacts straight into a folder they share with the server and "
            "only metadata goes over HTTP (modelyard's nearest equivalent is its embedded "
            "mode, in the Registry section). Not used for the goals. It does "
            f"{d['sequential']['per_second']:.1f}/s with 1 client and "
            f"{d['concurrent']['per_second']:.1f}/s with {d['concurrent']['clients']}."
        )
    if runs:
        cpu = min(r["sequential"]["server_cpu_ms_per_registration"] for r in runs)
        notes.append(
            f"MLflow's server spends at least {cpu:.0f} ms of CPU per registration here "
            "(its client adds its own), which bounds its rate on this machine below "
            "the 12-17/s (1 client) and 55-75/s (8 clients) that issue 3 expected of it."
        )
    return notes


def _reg_row(tool: str, run: dict[str, Any], phase: str) -> str:
    r = run[phase]
    server_cpu = r.get("server_cpu_ms_per_registration")
    client_cpu = r.get("client_cpu_ms_per_registration")
    return (
        f"| {tool} | {run['workers']} | {r['clients']} | {r['n']} | {r['seconds']:.1f} | "
        f"{r['per_second']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
        f"{_num(server_cpu)} | {_num(client_cpu)} | {_mb(r.get('server_peak_rss_mb', 0))} |"
    )


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _large_row(step: str, r: dict[str, Any]) -> str:
    return (
        f"| {step} | {r['seconds']:.1f} | {r['mb_per_s']:.0f} | {_mb(r['server_peak_rss_mb'])} "
        f"| {_mb(r['client_peak_rss_mb'])} | {_mb(r['server_disk_read_mb'])} / "
        f"{_mb(r['server_disk_written_mb'])} |"
    )
