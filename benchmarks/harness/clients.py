"""N clients registering at once against a server, timed: one thread and one client object
each, a warm-up registration each (not timed), then all start together (standard library
only: MLflow's side uses it too)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.log import log
from harness.memory import MB, RssSampler
from harness.procfs import children_cpu_seconds, own_cpu_seconds, tree_cpu_seconds, tree_pids
from harness.stats import rate_summary

BARRIER_TIMEOUT_S = 300.0

# (client, model, package folder, sequence number) -> registers one package
Register = Callable[[Any, str, Path, int], Any]


def split_batches(folders: list[Path], clients: int, n: int, per_client: int) -> dict[str, Any]:
    """The packages of one server run: 1 + ``clients`` warm-ups, ``n`` for the single client,
    ``per_client`` for each of the concurrent ones."""
    warm = folders[: 1 + clients]
    seq = folders[1 + clients : 1 + clients + n]
    par = folders[1 + clients + n :]
    return {
        "seq_warm": warm[:1],
        "par_warm": warm[1:],
        "seq": [seq],
        "par": [par[i * per_client : (i + 1) * per_client] for i in range(clients)],
    }


def run_clients(
    open_client: Callable[[int], contextlib.AbstractContextManager[Any]],
    register: Register,
    model: str,
    batches: list[list[Path]],
    warmups: list[Path],
    server_pid: int,
    sampler: RssSampler,
) -> dict[str, Any]:
    """``len(batches)`` clients (``open_client(i)``), each registering its batch into
    ``model`` after one warm-up registration into ``warmup``. The clock covers the timed
    registrations only; CPU is the server's process tree and the client's (this process
    and the processes it started and waited for: MLflow's ``log_model`` infers requirements
    in a subprocess), per registration; RSS the server tree's peak."""
    clients = len(batches)
    barrier = threading.Barrier(clients + 1, timeout=BARRIER_TIMEOUT_S)  # a stuck client fails
    durations: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []

    def work(i: int) -> None:
        with open_client(i) as client:
            try:
                register(client, "warmup", warmups[i], -1 - i)
            except Exception as exc:  # reported; the phase fails below
                errors.append(f"client {i} warm-up: {exc!r}")
            barrier.wait()
            for j, folder in enumerate(batches[i]):
                if errors:
                    break
                t = time.perf_counter()
                try:
                    register(client, model, folder, i * 1_000_000 + j)
                except Exception as exc:
                    errors.append(f"client {i} registration {j}: {exc!r}")
                    break
                durations[i].append(time.perf_counter() - t)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    server_pids = tree_pids(server_pid)
    cpu_server0 = tree_cpu_seconds(server_pids)
    cpu_client0 = own_cpu_seconds() + children_cpu_seconds()
    with sampler.measure() as window:
        start = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
    cpu_server = tree_cpu_seconds(server_pids) - cpu_server0
    cpu_client = own_cpu_seconds() + children_cpu_seconds() - cpu_client0
    if errors:
        raise SystemExit(f"{model}: registrations failed: {errors[:3]}")
    summary = rate_summary([d * 1000 for ds in durations for d in ds], seconds)
    n = summary["n"]
    log(f"{clients} client(s): {n} registrations in {seconds:.1f} s ({n / seconds:.1f}/s)")
    return {
        "clients": clients,
        **summary,
        "server_cpu_ms_per_registration": cpu_server * 1000 / n,
        "client_cpu_ms_per_registration": cpu_client * 1000 / n,
        "server_peak_rss_mb": window.server_peak / MB,
        "server_processes": window.processes,
    }
