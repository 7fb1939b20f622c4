"""The MLflow client half of ``benchmarks/server.py``: registrations over HTTP.

Runs inside ``.bench/mlflow-venv`` (the venv ``registry.py`` creates), against an
``mlflow server`` that ``server.py`` started and stops. It imports nothing from modelyard;
``server.py`` imports its ``/proc`` readers and ``RssSampler`` (standard library only).
It reads a JSON config (``--config``), registers packages through the tracking server with
1 client and then with ``clients`` concurrent clients (threads), and prints one line
``BENCH_RESULT {json}`` on stdout. Progress goes to stderr.

One registration is the same work as in ``mlflow_side.py`` (and the modelyard side):
``create_run``, ``log_artifacts`` (a distinct 1 MiB ``weights.bin`` + ``score.py``; with
``--serve-artifacts`` the client uploads them to the server over HTTP), ``log_batch``
(2 tags + 2 metrics), ``set_terminated``, ``create_model_version``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# mlflow_side.py sits next to this file (sys.path[0] when run as a script).
from mlflow_side import RESULT_PREFIX, make_package, pct

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
SAMPLE_S = 0.05
TREE_RESCAN_S = 1.0
BARRIER_TIMEOUT_S = 300.0


def log(msg: str) -> None:
    print(f"[mlflow] {msg}", file=sys.stderr, flush=True)


# -- /proc readers (Linux), shared with server.py ----------------------------------------
def read_stat(pid: int) -> tuple[int, float, int] | None:
    """``(parent pid, CPU seconds, resident bytes)`` of a live process, else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # fields[0] is field 3 of proc(5)
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return int(fields[1]), cpu, int(fields[21]) * PAGE  # ppid, cpu, rss


def tree_pids(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        stat = read_stat(pid)
        if stat is not None:
            total += stat[1]
    return total


def own_rss_bytes() -> int:
    stat = read_stat(os.getpid())
    return stat[2] if stat else 0


def wait_idle(root: int, *, cores: float = 0.05, timeout: float = 120.0) -> float:
    """Wait until ``root``'s process tree uses under ``cores`` CPU over a second (a server
    whose helper processes are still importing would otherwise bill that to the first
    measurement). Returns the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pids = tree_pids(root)
        before, t0 = tree_cpu_seconds(pids), time.monotonic()
        time.sleep(1.0)
        if (tree_cpu_seconds(pids) - before) / (time.monotonic() - t0) < cores:
            break
    return time.monotonic() - start


@dataclass
class Window:
    """Peaks (bytes) seen by ``RssSampler.measure``: the server tree's, this process's."""

    server_peak: int = 0
    client_peak: int = 0
    samples: int = 0
    processes: int = 0


class RssSampler:
    """Samples the resident memory of a server's process tree (and of this process)."""

    def __init__(self, root: int, interval: float = SAMPLE_S) -> None:
        self.root = root
        self.interval = interval
        self.pids: list[int] = [root]
        self.window: Window | None = None
        self.overall = Window()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self.pids = tree_pids(self.root)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> tuple[int, int, int]:
        stats = [read_stat(pid) for pid in self.pids]
        alive = [s for s in stats if s is not None]
        return sum(s[2] for s in alive), own_rss_bytes(), len(alive)

    def _run(self) -> None:
        last_scan = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - last_scan > TREE_RESCAN_S:
                self.pids = tree_pids(self.root)
                last_scan = time.monotonic()
            server, client, count = self.sample()
            with self._lock:
                for w in (self.window, self.overall):
                    if w is not None:
                        w.server_peak = max(w.server_peak, server)
                        w.client_peak = max(w.client_peak, client)
                        w.processes = max(w.processes, count)
                        w.samples += 1
            self._stop.wait(self.interval)

    @contextlib.contextmanager
    def measure(self) -> Iterator[Window]:
        """Peaks over the ``with`` block (the sampler's view plus one sample each end)."""
        server, client, count = self.sample()
        w = Window(server, client, 1, count)
        with self._lock:
            self.window = w
        try:
            yield w
        finally:
            server, client, count = self.sample()
            with self._lock:
                self.window = None
                w.server_peak = max(w.server_peak, server)
                w.client_peak = max(w.client_peak, client)
                w.samples += 1


def register_one(client: Any, exp_id: str, model: str, folder: Path, seq: int) -> None:
    from mlflow.entities import Metric, RunTag

    run = client.create_run(exp_id)
    run_id = run.info.run_id
    client.log_artifacts(run_id, str(folder), artifact_path="model")
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("accuracy", 0.9, now, 0), Metric("f1", 0.8, now, 0)],
        tags=[RunTag("team", "risk"), RunTag("seq", str(seq))],
    )
    client.set_terminated(run_id)
    client.create_model_version(
        model, source=f"runs:/{run_id}/model", run_id=run_id, tags={"team": "risk", "seq": str(seq)}
    )


def run_phase(
    url: str,
    server_pid: int,
    exp_id: str,
    model: str,
    batches: list[list[Path]],
    warmups: list[Path],
) -> dict[str, Any]:
    """``len(batches)`` clients, one thread each, each registering its batch into ``model``.

    Each client first registers one warm-up package (into ``warmup``), then all start
    together; the clock covers the timed registrations only."""
    from mlflow import MlflowClient

    clients = len(batches)
    barrier = threading.Barrier(clients + 1, timeout=BARRIER_TIMEOUT_S)  # a stuck client fails
    durations: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []

    def work(i: int) -> None:
        client = MlflowClient(tracking_uri=url, registry_uri=url)
        try:
            register_one(client, exp_id, "warmup", warmups[i], -1 - i)
        except Exception as exc:  # reported, and the phase fails below
            errors.append(f"client {i} warm-up: {exc!r}")
        barrier.wait()
        for j, folder in enumerate(batches[i]):
            if errors:
                break
            t = time.perf_counter()
            try:
                register_one(client, exp_id, model, folder, i * 1_000_000 + j)
            except Exception as exc:
                errors.append(f"client {i} registration {j}: {exc!r}")
                break
            durations[i].append(time.perf_counter() - t)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    server_pids = tree_pids(server_pid)
    cpu_server0, cpu_client0 = tree_cpu_seconds(server_pids), time.process_time()
    with RssSampler(server_pid) as sampler, sampler.measure() as window:
        start = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
    cpu_server = tree_cpu_seconds(server_pids) - cpu_server0
    cpu_client = time.process_time() - cpu_client0
    if errors:
        raise SystemExit(f"MLflow registrations failed: {errors[:3]}")
    flat = [d * 1000 for ds in durations for d in ds]
    n = len(flat)
    versions = MlflowClient(tracking_uri=url, registry_uri=url).search_model_versions(
        f"name = '{model}'", max_results=n + 100
    )
    numbers = sorted(int(v.version) for v in versions)
    gap_free = numbers == list(range(1, n + 1))
    if not gap_free:
        raise SystemExit(f"MLflow {model}: expected versions 1..{n}, found {len(numbers)}")
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
        "server_processes": len(server_pids),
        "server_peak_rss_mb": window.server_peak / 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args()
    cfg = json.loads(args.config.read_text())
    work = Path(cfg["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    url = str(cfg["url"])
    server_pid = int(cfg["server_pid"])
    n_seq = int(cfg["n"])
    clients = int(cfg["clients"])
    per_client = int(cfg["per_client"])
    size = int(cfg["payload_bytes"])

    t0 = time.perf_counter()
    import mlflow
    from mlflow import MlflowClient

    import_s = time.perf_counter() - t0
    # one INFO line per create_model_version ("Waiting up to 300 seconds...") otherwise
    logging.getLogger("mlflow.store.model_registry.abstract_store").setLevel(logging.WARNING)
    log(f"mlflow {mlflow.__version__} imported in {import_s:.1f} s; building packages")
    # built once, reused by every server run (each server starts empty)
    packages = Path(cfg["packages_dir"])
    total = 1 + clients + n_seq + clients * per_client
    if not (packages / f"{total - 1:04d}").exists():
        shutil.rmtree(packages, ignore_errors=True)
        for i in range(total):
            make_package(packages / f"{i:04d}", size)
    folders = sorted(p for p in packages.iterdir())[:total]
    warm = folders[: 1 + clients]
    seq = folders[1 + clients : 1 + clients + n_seq]
    par = folders[1 + clients + n_seq :]

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    # no artifact_location: the server's default root, mlflow-artifacts:/ when it proxies
    # artifacts (uploads go through it), else its local folder (clients write there)
    exp_id = client.create_experiment("bench")
    artifact_location = client.get_experiment(exp_id).artifact_location
    for name in ("warmup", "bench-1", f"bench-{clients}"):
        client.create_registered_model(name)

    result: dict[str, Any] = {
        "mlflow_version": mlflow.__version__,
        "python_version": platform.python_version(),
        "import_s": import_s,
        "artifact_location": artifact_location,
        "sequential": run_phase(url, server_pid, exp_id, "bench-1", [seq], warm[:1]),
        "concurrent": run_phase(
            url,
            server_pid,
            exp_id,
            f"bench-{clients}",
            [par[i * per_client : (i + 1) * per_client] for i in range(clients)],
            warm[1:],
        ),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
