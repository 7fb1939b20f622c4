"""Load runs with wrk: ``benchmarks/wrk_post.lua`` POSTs one JSON body per request, cycling
through a file of bodies, and prints the counts and latency percentiles this module reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from harness.log import log
from harness.memory import MB, RssSampler
from harness.procfs import children_cpu_seconds, read_stat, tree_cpu_seconds, tree_pids
from harness.quiet import other_cpu, wait_idle
from harness.servers import Server

WRK_SCRIPT = Path(__file__).resolve().parents[1] / "wrk_post.lua"


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `bash scripts/bench-deps.sh` (or make bench)")


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
    """``wrk -tT -cC -dSs --timeout 10s --latency`` POSTing ``bodies`` to ``url + path``
    (``auth``: the Authorization header); its numbers, and the CPU wrk used."""
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
    cpu0 = children_cpu_seconds()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    cpu = children_cpu_seconds() - cpu0
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
