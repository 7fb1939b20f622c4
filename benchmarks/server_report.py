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
PHASES = ("sequential", "concurrent")
KIND_NAMES = {
    "file": "a bare model file",
    "scorepy": "a `score.py` folder",
    "packaged": "a packaged folder",
}


def _best(runs: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    return max(runs, key=lambda r: r[phase]["per_second"])


def _kinds(result: dict[str, Any]) -> list[str]:
    return list(result["parameters"].get("kinds", ["packaged"]))


def _of(runs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The runs that registered ``kind`` (a run without a kind predates kinds: packaged)."""
    return [r for r in runs if r.get("kind", "packaged") == kind]


def _variant(run: dict[str, Any]) -> str:
    """What MLflow's side did (a run without a variant predates them: the upload)."""
    return run.get("variant") or (
        "log_artifact" if run.get("kind", "packaged") == "file" else "log_artifacts"
    )


def _judged(runs: list[dict[str, Any]], kind: str) -> tuple[list[dict[str, Any]], ...]:
    """MLflow's runs of ``kind`` the goals are judged on (``log_model`` for a model file:
    the same work as modelyard's), and the others (the bare upload, for reference)."""
    of = _of(runs, kind)
    same = [r for r in of if _variant(r) == "log_model"]
    if not same:
        return of, []
    return same, [r for r in of if _variant(r) != "log_model"]


def _label(result: dict[str, Any], phase: str) -> str:
    return (
        "1 client" if phase == "sequential" else plural(result["parameters"]["clients"], "client")
    )


def evaluate_goals(result: dict[str, Any]) -> dict[str, Any]:
    """One registration goal per kind and client count (``KIND/PHASE``), and ``large``."""
    goals: dict[str, Any] = {}
    ml = result.get("mlflow")
    for kind in _kinds(result) if ml else []:
        my = _of(result["modelyard"], kind)
        theirs, upload = _judged(ml["runs"], kind)
        if not my or not theirs:
            continue
        for phase in PHASES:
            a, b = _best(my, phase), _best(theirs, phase)
            ratio = a[phase]["per_second"] / b[phase]["per_second"]
            reference = None
            if upload:
                u = _best(upload, phase)
                reference = {
                    "mlflow_variant": _variant(u),
                    "mlflow_per_second": u[phase]["per_second"],
                    "mlflow_workers": u["workers"],
                    "ratio": a[phase]["per_second"] / u[phase]["per_second"],
                }
            same = {}
            for run in my:
                other = next((m for m in theirs if m["workers"] == run["workers"]), None)
                if other is not None:
                    same[str(run["workers"])] = (
                        run[phase]["per_second"] / other[phase]["per_second"]
                    )
            goals[f"{kind}/{phase}"] = {
                "goal": f"at least {REGISTRATION_GOAL_RATIO:g}x MLflow's server, {kind}, "
                f"{_label(result, phase)}",
                "kind": kind,
                "phase": phase,
                "modelyard_per_second": a[phase]["per_second"],
                "modelyard_workers": a["workers"],
                "mlflow_per_second": b[phase]["per_second"],
                "mlflow_workers": b["workers"],
                "mlflow_variant": _variant(b),
                "ratio": ratio,
                "ratio_same_workers": same,
                "met": ratio >= REGISTRATION_GOAL_RATIO,
                "not_judged_upload_only": reference,
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
    """Findings in modelyard that the numbers of this run show."""
    problems = []
    for run in result["modelyard"]:
        s, c = run["sequential"], run["concurrent"]
        if c["per_second"] < s["per_second"]:
            kind = KIND_NAMES.get(run.get("kind", "packaged"), run.get("kind"))
            problems.append(
                f"With {run['workers']} worker(s), {c['clients']} concurrent clients register "
                f"{kind} slower ({c['per_second']:.1f}/s) than 1 client "
                f"({s['per_second']:.1f}/s)."
            )
    large = result.get("large")
    if large and large["idle_rss_mb"] - large["rss_at_start_mb"] > 30:
        problems.append(
            f"A worker's resident memory grows from {large['rss_at_start_mb']:.0f} MB to "
            f"{large['idle_rss_mb']:.0f} MB on its first registration (a small package): "
            "what it loads on first use stays loaded."
        )
    for workers in sorted({r["workers"] for r in result["modelyard"] if r["workers"] > 1}):
        peak = max(
            r[phase]["server_peak_rss_mb"]
            for r in result["modelyard"]
            if r["workers"] == workers
            for phase in PHASES
        )
        if peak >= RSS_GOAL_MB:
            problems.append(
                f"With {workers} workers the server's processes together hold "
                f"{peak:.0f} MB while registering 1 MiB inputs: the {RSS_GOAL_MB:g} MB "
                "budget holds for 1 worker only (each worker holds its own copy of what it "
                "loaded)."
            )
    if large:
        up = large["upload"]
        if up["server_disk_written_mb"] > 1.5 * large["bytes"] / MB:
            problems.append(
                f"The server wrote {up['server_disk_written_mb']:.0f} MB to disk to store a "
                f"{large['bytes'] / MB:.0f} MB upload: more than one copy of the file."
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
        "127.0.0.1 with an empty SQLite database (one server per kind of input and worker "
        "count) and measured once its processes are idle: "
        "`modelyard server --workers N` (SQLite + local artifact folder); "
        "`mlflow server --backend-store-uri sqlite:///... --serve-artifacts "
        "--artifacts-destination <folder> --workers N` from `.bench/mlflow-venv` (no "
        "`--default-artifact-root`, so runs log to `mlflow-artifacts:/` and clients upload "
        "artifacts through the server, as modelyard's clients do: the comparable setup). "
        "The clients run on the same cores as the server.",
        "",
        *provenance_table(result, ml, MLFLOW.pin, _extra_rows(result)),
        "",
        "### Goals",
        "",
        "The registration goals, one per kind of input and number of clients, are judged "
        "on each tool's best measured worker count for that kind "
        f"(modelyard: {', '.join(str(w) for w in p['workers'])}; MLflow: "
        f"{', '.join(str(w) for w in p['mlflow_workers']) or 'not run'}"
        f"{_model_workers(p)}); the same-worker ratios are shown too. For a bare model file "
        "MLflow's side is `log_model`, the call that gives what modelyard's registration "
        "gives (a servable version with a signature and pinned requirements; see below); "
        "the ratio against a bare `log_artifact` upload, which does less, is shown for "
        "transparency and not judged. MB = 10^6 bytes.",
        "",
        "| goal | result | met |",
        "|---|---|---|",
    ]
    for key in [f"{kind}/{phase}" for kind in _kinds(result) for phase in PHASES]:
        if key in goals:
            g = goals[key]
            same = ", ".join(
                f"{r:.1f}x at {plural(w, 'worker')}" for w, r in g["ratio_same_workers"].items()
            )
            variant = g.get("mlflow_variant")
            call = f"`{variant}`, " if variant else ""
            upload = g.get("not_judged_upload_only")
            bare = (
                f"; against a bare upload (`{upload['mlflow_variant']}`, not servable, not "
                f"judged): {upload['mlflow_per_second']:.1f}/s "
                f"({plural(upload['mlflow_workers'], 'worker')}) = {upload['ratio']:.1f}x"
                if upload
                else ""
            )
            lines.append(
                f"| {g['goal']} | {g['modelyard_per_second']:.1f}/s "
                f"({plural(g['modelyard_workers'], 'worker')}) vs "
                f"{g['mlflow_per_second']:.1f}/s ({call}"
                f"{plural(g['mlflow_workers'], 'worker')}) = "
                f"{g['ratio']:.1f}x (same worker count: {same or 'none'}){bare} "
                f"| {yes(g['met'])} |"
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
        *_kinds_text(result),
        "",
        "Each registration: one input (all distinct, written before the clock starts), 2 "
        "tags and 2 metrics, into one model name per phase. modelyard's client is "
        "`Client(url=..., token=...)`: `client.register(...)` builds the package if it is "
        "not one yet, then sends it with its metadata in one request (a tar of the "
        "metadata, the manifest and the files, up to 8 MiB; larger packages post the "
        "manifest, stream each missing file with a `PUT` and commit). "
        "MLflow's upload (`MlflowClient(tracking_uri=url)`) does `create_run`, "
        "`log_artifact` (the file) or `log_artifacts` (the folder's files), `log_batch` "
        "(2 tags + 2 metrics), `set_terminated`, `create_model_version`; its `log_model` "
        "(a model file) is described above. "
        f"1 client: {p['n']} registrations in a row. {p['clients']} clients: {p['clients']} "
        f"threads in one process, one client object each, {p['per_client']} registrations "
        f"each, started together{_model_counts(result)}. The column `call` is what the "
        "client does. Every client first registers one warm-up input, not timed "
        "(for modelyard it also pays the client's one-time costs: importing the flavors, "
        "reading the installed distributions for the requirement pins). "
        "After each phase the versions are checked gap-free (1..N). Latency is per "
        "registration; CPU is the server's process tree (all workers and helper processes) "
        "and the client process (with the processes it starts), divided by the "
        "registrations; RSS is the server tree's peak, summed over its processes.",
        "",
        "| kind | tool | call | server workers | clients | registrations | time (s) | "
        "registrations/s | p50 (ms) | p95 (ms) | server CPU (ms/reg) | client CPU (ms/reg) | "
        "server peak RSS (MB) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [("modelyard", r) for r in my]
    if ml:
        rows += [("MLflow", r) for r in ml["runs"]]
        rows += [("MLflow, direct artifacts", r) for r in ml.get("direct_runs", [])]
    for kind in _kinds(result):
        for phase in PHASES:
            for tool, run in rows:
                if run.get("kind", "packaged") == kind:
                    lines.append(_reg_row(kind, tool, run, phase))
    if ml:
        for note in _mlflow_notes(result, ml):
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


def _model_workers(p: dict[str, Any]) -> str:
    workers = p.get("mlflow_model_workers")
    if "file" not in p.get("kinds", []) or not workers:
        return ""
    return f"; its `log_model`: {', '.join(str(w) for w in workers)}"


def _model_counts(result: dict[str, Any]) -> str:
    """How many registrations MLflow's ``log_model`` phases did, when it ran."""
    counts = result["parameters"].get("mlflow_model_counts")
    ml = result.get("mlflow")
    if not counts or not ml or not any(_variant(r) == "log_model" for r in ml["runs"]):
        return ""
    return (
        f" (MLflow's `log_model`, seconds per registration: {counts['n']} in a row and "
        f"{counts['per_client']} per client; the rates are per second, so they compare)"
    )


def _extra_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    version = result.get("sklearn_version")
    return [("scikit-learn (model files)", version)] if version else []


def _kinds_text(result: dict[str, Any]) -> list[str]:
    mib = f"{result['parameters']['payload_bytes'] / (1 << 20):g} MiB"
    text = {
        "file": f"`file`: {KIND_NAMES['file']}, `model.pkl`: a scikit-learn "
        "`LogisticRegression` fitted on its own random data, carrying "
        f"{mib} of random bytes as an attribute (its weights), pickled with joblib, next to "
        "an `example.csv` of 5 rows. "
        'modelyard: `client.register(name, "model.pkl", input_example="example.csv")` '
        "(modelyard needs an input example for a bare model file): the client finds "
        "the flavor, unpickles the file to check it, copies it, loads the copy, infers the "
        "signature by predicting on the example, pins the requirements and writes the "
        "manifest, then uploads; the version can be served as it is and has a signature "
        "and pinned requirements. "
        "MLflow `log_model` (judged): what MLflow's documentation tells a user to do to "
        "register a model they have as an object: `joblib.load` the file, read the "
        "example with pandas, then in `mlflow.start_run()` log the 2 metrics and 2 tags and "
        'call `mlflow.sklearn.log_model(model, name="model", input_example=example, '
        "registered_model_name=name)`: MLflow saves the model in its own format, infers "
        "the signature by predicting on the example and the pip requirements by loading the "
        "saved model in a subprocess, writes the MLmodel and environment files, uploads "
        "them and registers the version. The result is the same as modelyard's (a version "
        "`mlflow models serve` can serve, with a signature and pinned requirements), so it "
        "is the same work. "
        "MLflow `log_artifact` (for reference, not judged): the file uploaded as it is and "
        "`create_model_version` from the run: no MLmodel, so `mlflow models serve` cannot "
        "serve that version, and no signature or requirements: less work than modelyard's.",
        "scorepy": f"`scorepy`: {KIND_NAMES['scorepy']}, a `score.py` and a {mib} random "
        "`weights.bin`, no manifest. modelyard: `client.register(name, folder)`: the client "
        "checks and imports the script, pins the requirements of its imports and hashes "
        "the folder's files where they are to build the manifest (in memory) before "
        "uploading. MLflow: `log_artifacts` of the "
        "folder.",
        "packaged": f"`packaged`: {KIND_NAMES['packaged']}, the same folder with modelyard's "
        "manifest (`modelyard.yaml`) written before the clock starts: nothing to build at "
        "registration. MLflow: `log_artifacts` of the folder without the manifest, the "
        "same work as for `scorepy` (MLflow has no packaging step).",
    }
    return [
        "Three kinds of input, each measured for both tools; what modelyard's client does "
        "to package an input at registration is timed, since the user pays for it:",
        "",
        *(f"- {text[kind]}" for kind in _kinds(result)),
    ]


def _where_time_goes(result: dict[str, Any]) -> list[str]:
    """What this run's own numbers say about where a modelyard registration's time goes."""
    my = result["modelyard"]
    workers = min(r["workers"] for r in my)
    cores = result["machine"]["cores"]
    ones = [r for r in my if r["workers"] == workers]
    costs, waits = [], []
    for r in ones:
        s = r["sequential"]
        server, client = s["server_cpu_ms_per_registration"], s["client_cpu_ms_per_registration"]
        mean = s["seconds"] * 1000 / s["n"]
        costs.append(
            f"{r.get('kind', 'packaged')}: server {server:.1f} ms, client {client:.1f} ms "
            f"({client / (server + client):.0%} of the CPU), {mean:.1f} ms per registration"
        )
        waits.append((mean - server - client, mean, r.get("kind", "packaged")))
    text = (
        "Where a modelyard registration's time goes, from this run's numbers "
        f"({plural(workers, 'worker')}, 1 client, CPU per registration of the server's "
        "process tree and of the client process, against the mean time per registration): "
        + "; ".join(costs)
        + ". "
    )
    idle = [f"{k}: {w:.1f} ms of {m:.1f}" for w, m, k in waits if w > 0.2 * m]
    if idle:
        text += (
            "Time that is neither process's CPU (waiting on the network, disk syncs or the "
            f"other process): {'; '.join(idle)}. "
        )
    else:
        text += (
            "Server and client CPU add up to the time a registration takes: it is CPU time, "
            "not waiting on the network or the disk. "
        )
    caps = []
    for kind in _kinds(result):
        runs = _of(my, kind)
        if not runs:
            continue
        best = _best(runs, "concurrent")
        c = best["concurrent"]
        cpu = c["server_cpu_ms_per_registration"] + c["client_cpu_ms_per_registration"]
        cap = cores * 1000 / cpu
        caps.append(
            f"{kind}: {cap:.0f}/s at {cpu:.1f} ms, measured {c['per_second']:.1f}/s "
            f"({c['per_second'] / cap:.0%} of it, {plural(best['workers'], 'worker')})"
        )
    if caps:
        text += (
            f"With {result['parameters']['clients']} clients, the {cores} cores are shared "
            "by the server and the clients, so their CPU per registration caps the rate at about "
            f"cores x 1000 / (server + client ms): {'; '.join(caps)}."
        )
    budget = []
    for key, g in result.get("goals", {}).items():
        if key.endswith("/sequential") and not g["met"]:
            budget.append(
                f"{g['kind']}: at most "
                f"{1000 / (REGISTRATION_GOAL_RATIO * g['mlflow_per_second']):.0f} ms per "
                f"registration, against {1000 / g['modelyard_per_second']:.0f} ms now"
            )
    if budget:
        text += (
            f" {REGISTRATION_GOAL_RATIO:g}x MLflow's rate with 1 client needs {'; '.join(budget)}."
        )
    return [text]


def _mlflow_notes(result: dict[str, Any], ml: dict[str, Any]) -> list[str]:
    notes = []
    kinds = _kinds(result)
    # the notes on worker counts compare one kind's uploads: packaged's when it ran
    kind = "packaged" if "packaged" in kinds else kinds[0]
    runs = [r for r in _of(ml["runs"], kind) if _variant(r) != "log_model"]
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
        rates = "; ".join(
            f"{r.get('kind', 'packaged')} (`{_variant(r)}`): "
            f"{r['sequential']['per_second']:.1f}/s with 1 client "
            f"and {r['concurrent']['per_second']:.1f}/s with {r['concurrent']['clients']}"
            for r in direct
            if r["workers"] == d["workers"]
        )
        notes.append(
            "For reference, the rows `MLflow, direct artifacts` run `mlflow server "
            f"--no-serve-artifacts --default-artifact-root <folder>` ({workers}): the "
            "clients write artifacts straight into a folder they share with the server and "
            "only metadata goes over HTTP (modelyard's nearest equivalent is its embedded "
            f"mode, in the Registry section). Not used for the goals. It does {rates}."
        )
    model = [r for r in ml["runs"] if _variant(r) == "log_model"]
    if model:
        costs = "; ".join(
            f"{plural(r['workers'], 'worker')}, 1 client: client "
            f"{r['sequential']['client_cpu_ms_per_registration']:.0f} ms, server "
            f"{r['sequential']['server_cpu_ms_per_registration']:.0f} ms, p50 "
            f"{r['sequential']['p50_ms']:.0f} ms"
            for r in model
        )
        notes.append(
            "Where MLflow's `log_model` time goes (CPU per registration; the client's "
            f"includes its requirement-inference subprocess): {costs}."
        )
    uploads = [r for r in ml["runs"] if _variant(r) != "log_model"]
    if uploads:
        cpu = min(r["sequential"]["server_cpu_ms_per_registration"] for r in uploads)
        notes.append(
            f"MLflow's server spends at least {cpu:.0f} ms of CPU per registration here "
            "(its client adds its own), which bounds its rate on this machine below "
            "the 12-17/s (1 client) and 55-75/s (8 clients) that issue 3 expected of it."
        )
    return notes


def _reg_row(kind: str, tool: str, run: dict[str, Any], phase: str) -> str:
    r = run[phase]
    server_cpu = r.get("server_cpu_ms_per_registration")
    client_cpu = r.get("client_cpu_ms_per_registration")
    call = "`register`" if tool == "modelyard" else f"`{_variant(run)}`"
    return (
        f"| {kind} | {tool} | {call} | {run['workers']} | {r['clients']} | {r['n']} | "
        f"{r['seconds']:.1f} | "
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
