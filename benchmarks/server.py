"""Server benchmark: modelyard's server against MLflow 3.x's tracking server, same run.

    make bench        # runs registry.py, then this script
    .venv/bin/python benchmarks/server.py [--n 200] [--clients 8] [--per-client 50]

1. Registrations per second over HTTP, with 1 client (sequential) and with 8 concurrent
   clients (8 threads, one client each), each registration a distinct 1 MiB random
   payload plus a ``score.py``, 2 tags and 2 metrics; p50/p95 latency.
   modelyard: ``modelyard server`` (SQLite + local artifact folder), with ``--workers 1``
   and ``--workers 2``; the client is ``Client(url=..., token=...)`` in this process.
   MLflow: ``mlflow server`` on a ``sqlite:///`` store with ``--serve-artifacts`` (clients
   upload artifacts through the server, as modelyard's do), with 1, 2 and 4 (its default)
   workers; the client runs in ``.bench/mlflow-venv`` (``mlflow_server_side.py``).
2. A large package (1 GiB file) uploaded through the remote client and downloaded over
   ``GET .../files/{sha}``, the server's resident memory sampled every 50 ms.

Every server listens on 127.0.0.1 only, in its own process group, and is stopped (the
whole group) when its phase ends, even on errors. Everything runs in one fresh temporary
folder, deleted at the end.

Results: the ``## Server`` section of ``docs/benchmarks.md`` (regenerated; other sections
are kept) and ``docs/benchmarks/server.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Siblings (sys.path[0] when run as a script): the registry benchmark's helpers and the
# /proc readers shared with the MLflow side.
from mlflow_server_side import (
    SAMPLE_S,
    RssSampler,
    own_rss_bytes,
    tree_cpu_seconds,
    tree_pids,
    wait_idle,
)
from registry import (
    MLFLOW_PIN,
    PAYLOAD_BYTES,
    REGISTRATION_GOAL_RATIO,
    REPO,
    RESULT_PREFIX,
    SCORE_PY,
    _command,
    _load_average,
    _venv_python,
    _yes,
    ensure_mlflow_venv,
    log,
    machine_info,
    make_package,
    pct,
    publish,
)

MLFLOW_SERVER_SIDE = Path(__file__).resolve().with_name("mlflow_server_side.py")
DOCS = REPO / "docs" / "benchmarks.md"
JSON_OUT = REPO / "docs" / "benchmarks" / "server.json"
SECTION = "## Server"

ADMIN_TOKEN = "myd_bench-admin-token-0000000000000000000000"
MB = 1_000_000
RSS_GOAL_MB = 300.0
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0
BARRIER_TIMEOUT_S = 300.0


def _git_revision() -> str:
    """HEAD, flagged when tracked files differ from it (this benchmark's own output aside)."""
    git = ["git", "-C", str(REPO)]
    try:
        rev = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                *git,
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)docs/benchmarks.md",
                ":(exclude)docs/benchmarks",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}{' (uncommitted changes)' if dirty else ''}"


# -- processes ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _own_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _clean_env(drop_prefixes: tuple[str, ...]) -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith(drop_prefixes)
    }


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, wait, then SIGKILL whatever is left."""
    pgid = proc.pid  # start_new_session: the server leads its own group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT_S)
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@dataclass
class Server:
    url: str
    pid: int
    startup_s: float
    log_path: Path
    settle_s: float  # after ready, until its processes stopped using CPU


@contextlib.contextmanager
def serve(
    cmd: list[str], env: dict[str, str], url: str, ready_path: str, log_path: Path
) -> Iterator[Server]:
    import httpx

    log(f"starting: {' '.join(cmd)}")
    t0 = time.perf_counter()
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(log_path.parent),
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise SystemExit(f"the server exited ({proc.returncode}) before ready:\n{tail}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the server was not ready after {READY_TIMEOUT_S:.0f} s")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + ready_path, timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        startup = time.perf_counter() - t0
        settle = wait_idle(proc.pid)
        log(f"ready in {startup:.1f} s at {url}, idle {settle:.1f} s later")
        yield Server(url, proc.pid, startup, log_path, settle)
    finally:
        _stop_group(proc)


def _tool_path(venv_bin: Path, name: str) -> str:
    candidate = venv_bin / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"cannot find the {name} command")
    return found


def modelyard_server(work: Path, workers: int) -> contextlib.AbstractContextManager[Server]:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = _clean_env(("MODELYARD_",))
    env.update({"MODELYARD_HOME": str(work / "home"), "MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN})
    cmd = [
        _tool_path(Path(sys.executable).parent, "modelyard"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    return serve(cmd, env, f"http://127.0.0.1:{port}", "/readyz", work / "server.log")


def mlflow_server_cmd(
    work: Path, port: int | str, workers: int | str, *, direct: bool = False
) -> list[str]:
    if direct:
        # the setup modelyard's server does not offer: clients write artifacts straight
        # into a folder they share with the server; only metadata goes over HTTP
        artifacts = ["--no-serve-artifacts", "--default-artifact-root", str(work / "mlartifacts")]
    else:
        # no --default-artifact-root: new experiments get mlflow-artifacts:/, so clients
        # upload and download artifacts through the server, stored under this folder
        artifacts = ["--serve-artifacts", "--artifacts-destination", str(work / "mlartifacts")]
    return [
        str(_venv_python().parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{work / 'mlflow.db'}",
        *artifacts,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def _mlflow_env() -> dict[str, str]:
    env = _clean_env(("MLFLOW_",))
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    return env


def mlflow_server(
    work: Path, workers: int, *, direct: bool = False
) -> contextlib.AbstractContextManager[Server]:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = mlflow_server_cmd(work, port, workers, direct=direct)
    return serve(cmd, _mlflow_env(), f"http://127.0.0.1:{port}", "/health", work / "server.log")


# -- registrations over HTTP: modelyard ---------------------------------------------------
def build_packages(folder: Path, count: int) -> list[Path]:
    log(f"building {count} packages of {PAYLOAD_BYTES} B")
    return [make_package(folder / f"{i:04d}", PAYLOAD_BYTES) for i in range(count)]


def _register(client: Any, model: str, folder: Path, seq: int) -> Any:
    return client.register(
        model,
        folder,
        tags={"team": "risk", "seq": str(seq)},
        metrics={"accuracy": 0.9, "f1": 0.8},
        git_commit=None,
    )


def modelyard_phase(
    server: Server,
    sampler: RssSampler,
    client_homes: Path,
    model: str,
    batches: list[list[Path]],
    warmups: list[Path],
) -> dict[str, Any]:
    """``len(batches)`` clients, one thread and one ``Client`` each, registering into
    ``model``. Each client first registers one warm-up package (into ``warmup``); then
    all start together and the clock covers the timed registrations only."""
    from modelyard import Client

    clients = len(batches)
    barrier = threading.Barrier(clients + 1, timeout=BARRIER_TIMEOUT_S)  # a stuck client fails
    durations: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []

    def work(i: int) -> None:
        client = Client(client_homes / f"{model}-{i}", url=server.url, token=ADMIN_TOKEN)
        try:
            try:
                _register(client, "warmup", warmups[i], -1 - i)
            except Exception as exc:  # reported; the phase fails below
                errors.append(f"client {i} warm-up: {exc!r}")
            barrier.wait()
            for j, folder in enumerate(batches[i]):
                if errors:
                    break
                t = time.perf_counter()
                try:
                    _register(client, model, folder, i * 1_000_000 + j)
                except Exception as exc:
                    errors.append(f"client {i} registration {j}: {exc!r}")
                    break
                durations[i].append(time.perf_counter() - t)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    server_pids = tree_pids(server.pid)
    cpu_server0, cpu_client0 = tree_cpu_seconds(server_pids), _own_cpu_seconds()
    with sampler.measure() as window:
        start = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
    cpu_server = tree_cpu_seconds(server_pids) - cpu_server0
    cpu_client = _own_cpu_seconds() - cpu_client0
    if errors:
        raise SystemExit(f"modelyard registrations failed: {errors[:3]}")
    flat = [d * 1000 for ds in durations for d in ds]
    n = len(flat)
    with Client(client_homes / "check", url=server.url, token=ADMIN_TOKEN) as check:
        versions = check.list_versions(model)
    numbers = sorted(v.version for v in versions)
    digests = {v.package_digest for v in versions}
    gap_free = numbers == list(range(1, n + 1))
    if not gap_free or len(digests) != n:
        raise SystemExit(
            f"modelyard {model}: expected versions 1..{n} with {n} packages, found "
            f"{len(numbers)} versions, {len(digests)} packages"
        )
    log(f"{clients} client(s): {n} registrations in {seconds:.1f} s ({n / seconds:.1f}/s)")
    return {
        "clients": clients,
        "n": n,
        "seconds": seconds,
        "per_second": n / seconds,
        "p50_ms": statistics.median(flat),
        "p95_ms": pct(flat, 95),
        "max_ms": max(flat),
        "versions_gap_free": gap_free,
        "server_cpu_ms_per_registration": cpu_server * 1000 / n,
        "client_cpu_ms_per_registration": cpu_client * 1000 / n,
        "server_peak_rss_mb": window.server_peak / MB,
        "server_processes": window.processes,
    }


def _split(folders: list[Path], clients: int, n: int, per_client: int) -> dict[str, Any]:
    warm = folders[: 1 + clients]
    seq = folders[1 + clients : 1 + clients + n]
    par = folders[1 + clients + n :]
    return {
        "seq_warm": warm[:1],
        "par_warm": warm[1:],
        "seq": [seq],
        "par": [par[i * per_client : (i + 1) * per_client] for i in range(clients)],
    }


def bench_modelyard(
    work: Path, workers: int, folders: list[Path], args: argparse.Namespace
) -> dict[str, Any]:
    parts = _split(folders, args.clients, args.n, args.per_client)
    with modelyard_server(work, workers) as server, RssSampler(server.pid) as sampler:
        idle = sampler.sample()[0]
        seq = modelyard_phase(
            server, sampler, work / "clients", "bench-1", parts["seq"], parts["seq_warm"]
        )
        par = modelyard_phase(
            server,
            sampler,
            work / "clients",
            f"bench-{args.clients}",
            parts["par"],
            parts["par_warm"],
        )
        return {
            "workers": workers,
            "startup_s": server.startup_s,
            "settle_s": server.settle_s,
            "idle_rss_mb": idle / MB,
            "sequential": seq,
            "concurrent": par,
        }


# -- registrations over HTTP: MLflow ------------------------------------------------------
def run_mlflow_client(cfg: dict[str, Any], config_path: Path) -> dict[str, Any]:
    config_path.write_text(json.dumps(cfg))
    proc = subprocess.run(
        [str(_venv_python()), str(MLFLOW_SERVER_SIDE), "--config", str(config_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=_mlflow_env(),
        check=False,
        cwd=str(config_path.parent),
    )
    if proc.returncode != 0:
        raise SystemExit(f"the MLflow client side failed (exit {proc.returncode})")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    raise SystemExit("the MLflow client side printed no result")


def bench_mlflow(
    work: Path, packages: Path, workers: int, args: argparse.Namespace, *, direct: bool = False
) -> dict[str, Any]:
    with (
        mlflow_server(work, workers, direct=direct) as server,
        RssSampler(server.pid) as sampler,
    ):
        idle = sampler.sample()[0]
        cfg = {
            "url": server.url,
            "server_pid": server.pid,
            "work_dir": str(work),
            "packages_dir": str(packages),
            "n": args.n,
            "clients": args.clients,
            "per_client": args.per_client,
            "payload_bytes": PAYLOAD_BYTES,
        }
        result = run_mlflow_client(cfg, work / "client-config.json")
        stored = sum(f.stat().st_size for f in (work / "mlartifacts").rglob("*") if f.is_file())
        expected = (1 + args.clients + args.n + args.clients * args.per_client) * PAYLOAD_BYTES
        if stored < expected:
            raise SystemExit(f"MLflow stored {stored} artifact bytes, expected {expected}+")
        result.update(
            {
                "artifact_bytes_stored": stored,
                "workers": workers,
                "artifacts": "direct" if direct else "proxied",
                "startup_s": server.startup_s,
                "settle_s": server.settle_s,
                "idle_rss_mb": idle / MB,
            }
        )
        return result


# -- a large package ----------------------------------------------------------------------
def build_large(folder: Path, size: int) -> tuple[str, float]:
    """A package whose ``weights.bin`` is ``size`` bytes (a 1 MiB random block repeated)."""
    from modelyard.flavors.package import write_manifest

    folder.mkdir(parents=True)
    (folder / "score.py").write_text(SCORE_PY)
    block = os.urandom(1 << 20)
    h = hashlib.sha256()
    t0 = time.perf_counter()
    with open(folder / "weights.bin", "wb") as out:
        left = size
        while left > 0:
            chunk = block[: min(left, len(block))]
            out.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    write_manifest(folder, flavor="python", entrypoint="score.py")
    return "sha256:" + h.hexdigest(), time.perf_counter() - t0


def _tree_io(pids: list[int]) -> tuple[int, int]:
    """Bytes read from / written to storage by these processes (``/proc/<pid>/io``)."""
    read = written = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                key, _, value = line.partition(":")
                if key == "read_bytes":
                    read += int(value)
                elif key == "write_bytes":
                    written += int(value)
    return read, written


def bench_large(work: Path, size: int) -> dict[str, Any]:
    import httpx

    from modelyard import Client

    log(f"large package: writing a {size / MB:.0f} MB file")
    folder = work / "large-package"
    digest, build_s = build_large(folder, size)
    small = make_package(work / "small-package", 1 << 10)
    download = work / "downloaded.bin"
    result: dict[str, Any] = {"bytes": size, "build_s": build_s, "workers": 1}
    try:
        with modelyard_server(work / "server", 1) as server, RssSampler(server.pid) as sampler:
            result["rss_at_start_mb"] = sampler.sample()[0] / MB
            client = Client(work / "client", url=server.url, token=ADMIN_TOKEN)
            try:
                # a first small registration: the server has loaded everything it needs
                _register(client, "warmup", small, 0)
                time.sleep(0.5)
                result["idle_rss_mb"] = sampler.sample()[0] / MB
                result["client_rss_before_mb"] = own_rss_bytes() / MB
                pids = tree_pids(server.pid)

                io0 = _tree_io(pids)
                with sampler.measure() as up:
                    t0 = time.perf_counter()
                    version = _register(client, "large", folder, 0)
                    upload_s = time.perf_counter() - t0
                io1 = _tree_io(pids)
                log(f"uploaded in {upload_s:.1f} s; peak server RSS {up.server_peak / MB:.0f} MB")

                path = (
                    f"/api/v1/models/{version.environment}/{version.name}/versions/"
                    f"{version.version}/files/{digest}"
                )
                h = hashlib.sha256()
                got = 0
                headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
                with sampler.measure() as down:
                    t0 = time.perf_counter()
                    with (
                        httpx.stream(
                            "GET", server.url + path, headers=headers, timeout=600
                        ) as response,
                        open(download, "wb") as out,
                    ):
                        response.raise_for_status()
                        for chunk in response.iter_bytes(1 << 20):
                            h.update(chunk)
                            out.write(chunk)
                            got += len(chunk)
                    download_s = time.perf_counter() - t0
                io2 = _tree_io(pids)
                log(
                    f"downloaded in {download_s:.1f} s; peak server RSS "
                    f"{down.server_peak / MB:.0f} MB"
                )
            finally:
                client.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        download.unlink(missing_ok=True)
    verified = got == size and "sha256:" + h.hexdigest() == digest
    if not verified:
        raise SystemExit(f"the downloaded file does not match (got {got} bytes)")
    result.update(
        {
            "size_bytes_registered": version.size_bytes,
            "upload": {
                "seconds": upload_s,
                "mb_per_s": size / MB / upload_s,
                "server_peak_rss_mb": up.server_peak / MB,
                "client_peak_rss_mb": up.client_peak / MB,
                "samples": up.samples,
                "server_disk_read_mb": (io1[0] - io0[0]) / MB,
                "server_disk_written_mb": (io1[1] - io0[1]) / MB,
            },
            "download": {
                "seconds": download_s,
                "mb_per_s": size / MB / download_s,
                "server_peak_rss_mb": down.server_peak / MB,
                "client_peak_rss_mb": down.client_peak / MB,
                "samples": down.samples,
                "server_disk_read_mb": (io2[0] - io1[0]) / MB,
                "server_disk_written_mb": (io2[1] - io1[1]) / MB,
                "sha256_verified": verified,
            },
        }
    )
    return result


# -- goals and report ---------------------------------------------------------------------
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


def _plural(n: int | str, word: str) -> str:
    return f"{n} {word}{'' if str(n) == '1' else 's'}"


def render_section(result: dict[str, Any]) -> str:
    m = result["machine"]
    my = result["modelyard"]
    ml = result.get("mlflow")
    goals = result["goals"]
    large = result.get("large")
    p = result["parameters"]
    lines = [
        SECTION,
        "",
        "Generated by `benchmarks/server.py` (do not edit by hand: `make bench` rewrites this "
        "section). modelyard's server and MLflow's tracking server do the same work over HTTP "
        "in the same run, on the same machine, one server at a time, each started fresh on "
        "127.0.0.1 with an empty SQLite database and measured once its processes are idle: "
        "`modelyard server --workers N` (SQLite + local artifact folder); "
        "`mlflow server --backend-store-uri sqlite:///... --serve-artifacts "
        "--artifacts-destination <folder> --workers N` from `.bench/mlflow-venv` (no "
        "`--default-artifact-root`, so runs log to `mlflow-artifacts:/` and clients upload "
        "artifacts through the server, as modelyard's clients do: the comparable setup). "
        "The clients run on the same cores as the server.",
        "",
        "| | |",
        "|---|---|",
        f"| date | {result['date']} |",
        f"| machine | {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM |",
        f"| OS | {m['os']} |",
        f"| Python | {m['python']} (MLflow side: {ml['python_version'] if ml else 'n/a'}) |",
        f"| modelyard | {result['modelyard_version']}, git {result['modelyard_git']} |",
        f"| mlflow | {ml['mlflow_version'] if ml else 'not run'} (`{MLFLOW_PIN}`) |",
        f"| temp folder filesystem | {m['tmp_dir_filesystem']} |",
        f"| 1-min load average, start / end | {m['load_average_at_start']} / "
        f"{m['load_average_at_end']} (on {m['cores']} cores; other work skews the numbers) |",
        f"| command | `{result['command']}` (or `make bench`) |",
        f"| total run time | {result['total_s'] / 60:.1f} min |",
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
                f"{r:.1f}x at {_plural(w, 'worker')}" for w, r in g["ratio_same_workers"].items()
            )
            lines.append(
                f"| {g['goal']} | {g['modelyard_per_second']:.1f}/s "
                f"({_plural(g['modelyard_workers'], 'worker')}) vs "
                f"{g['mlflow_per_second']:.1f}/s ({_plural(g['mlflow_workers'], 'worker')}) = "
                f"{g['ratio']:.1f}x (same worker count: {same}) | {_yes(g['met'])} |"
            )
    if "large" in goals:
        g = goals["large"]
        lines.append(
            f"| {g['goal']} (1 worker) | peak {g['peak_mb']:.0f} MB (upload "
            f"{_mb(large['upload']['server_peak_rss_mb'])} MB, download "
            f"{_mb(large['download']['server_peak_rss_mb'])} MB) | {_yes(g['met'])} |"
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
    problems = result.get("problems") or []
    if problems:
        lines += ["", "### Findings in modelyard", "", *[f"- {text}" for text in problems]]
    lines += [
        "",
        "Raw numbers: [`docs/benchmarks/server.json`](benchmarks/server.json).",
        "",
    ]
    return "\n".join(lines)


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
        workers = _plural(d["workers"], "worker")
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


# -- main ---------------------------------------------------------------------------------
def _int_list(text: str) -> list[int]:
    """``"1,2"`` → ``[1, 2]``; ``""`` → ``[]`` (skip)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = [0]
    if values and min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="modelyard server vs MLflow tracking server")
    p.add_argument("--n", type=int, default=200, help="sequential registrations (default 200)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--per-client", type=int, default=50, help="registrations per client")
    p.add_argument("--workers", type=_int_list, default=[1, 2], help="modelyard (default 1,2)")
    p.add_argument(
        "--mlflow-workers",
        type=_int_list,
        default=[1, 2, 4],
        help="MLflow, artifacts through the server (default 1,2,4: 4 is its default)",
    )
    p.add_argument(
        "--mlflow-direct-workers",
        type=_int_list,
        default=[1],
        help="MLflow, clients writing artifacts to a shared folder; for reference, not "
        "for the goals (default 1; '' to skip)",
    )
    p.add_argument("--large-mib", type=int, default=1024, help="large file size (1024 = 1 GiB)")
    p.add_argument("--skip-mlflow", action="store_true", help="measure modelyard only")
    p.add_argument("--skip-large", action="store_true", help="no large-package measurement")
    p.add_argument(
        "--no-write", action="store_true", help="print the report; leave docs/ untouched"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args()
    if min(args.n, args.clients, args.per_client, args.large_mib) < 1:
        p.error("counts must be at least 1")
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
    import modelyard

    if not args.skip_mlflow:
        ensure_mlflow_venv()
    tmp = Path(tempfile.mkdtemp(prefix="modelyard-server-bench-"))
    log(f"working in {tmp}")
    try:
        result: dict[str, Any] = {
            "date": date,
            "command": _command(),
            "machine": machine_info(tmp),
            "modelyard_version": modelyard.__version__,
            "modelyard_git": _git_revision(),
            "parameters": {
                "n": args.n,
                "clients": args.clients,
                "per_client": args.per_client,
                "payload_bytes": PAYLOAD_BYTES,
                "workers": args.workers,
                "mlflow_workers": [] if args.skip_mlflow else args.mlflow_workers,
                "mlflow_direct_workers": [] if args.skip_mlflow else args.mlflow_direct_workers,
                "large_bytes": None if args.skip_large else args.large_mib << 20,
            },
        }
        count = 1 + args.clients + args.n + args.clients * args.per_client
        folders = build_packages(tmp / "packages", count)
        result["modelyard"] = [
            bench_modelyard(tmp / f"modelyard-w{w}", w, folders, args) for w in args.workers
        ]
        shutil.rmtree(tmp / "packages", ignore_errors=True)
        if not args.skip_mlflow:
            packages = tmp / "mlflow-packages"  # built once by the first MLflow run
            runs = [
                bench_mlflow(tmp / f"mlflow-w{w}", packages, w, args) for w in args.mlflow_workers
            ]
            direct_runs = [
                bench_mlflow(tmp / f"mlflow-direct-w{w}", packages, w, args, direct=True)
                for w in args.mlflow_direct_workers
            ]
            shutil.rmtree(packages, ignore_errors=True)
            result["mlflow"] = {
                "mlflow_version": runs[0]["mlflow_version"],
                "python_version": runs[0]["python_version"],
                "server_command": " ".join(
                    ["mlflow", *mlflow_server_cmd(Path("<tmp>"), "<free port>", "N")[1:]]
                ),
                "direct_server_command": " ".join(
                    [
                        "mlflow",
                        *mlflow_server_cmd(Path("<tmp>"), "<free port>", "N", direct=True)[1:],
                    ]
                ),
                "runs": runs,
                "direct_runs": direct_runs,
            }
        if not args.skip_large:
            result["large"] = bench_large(tmp / "large", args.large_mib << 20)
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
