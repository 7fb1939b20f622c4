"""Waiting for quiet, and measuring what else ran: a server whose helper processes are still
starting, or other work on the machine (the benchmark shares its cores), would otherwise be
billed to the measurement."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from harness.log import log
from harness.procfs import (
    children_cpu_seconds,
    machine_busy_seconds,
    own_cpu_seconds,
    tree_cpu_seconds,
    tree_pids,
)

QUIET_CORES = 0.15  # other processes' CPU below which the machine counts as quiet
QUIET_WAIT_S = 90.0  # per phase, at most


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


@contextlib.contextmanager
def other_cpu(own_pids: list[int]) -> Iterator[dict[str, float]]:
    """CPU used during the block by processes other than this one, its children waited for
    in the block, and ``own_pids`` (a server's tree), in cores: other work on the machine
    (the benchmark shares it) that skews the numbers."""
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    busy0, mine0 = machine_busy_seconds(), own_cpu_seconds() + children_cpu_seconds()
    tree0 = tree_cpu_seconds(own_pids)
    try:
        yield out
    finally:
        seconds = time.perf_counter() - t0
        ours = (
            own_cpu_seconds() + children_cpu_seconds() - mine0 + tree_cpu_seconds(own_pids) - tree0
        )
        out["other_cpu_cores"] = max(0.0, machine_busy_seconds() - busy0 - ours) / seconds


def wait_quiet(what: str, own_pids: list[int] | None = None) -> dict[str, float]:
    """Wait (at most ``QUIET_WAIT_S``) until other processes use under ``QUIET_CORES``."""
    start = time.monotonic()
    while True:
        with other_cpu(own_pids or []) as probe:
            time.sleep(2.0)
        waited = time.monotonic() - start
        if probe["other_cpu_cores"] < QUIET_CORES or waited > QUIET_WAIT_S:
            if waited > 3:
                log(
                    f"{what}: waited {waited:.0f} s for other work to end "
                    f"(still {probe['other_cpu_cores']:.2f} cores)"
                )
            return {"waited_s": waited, "other_cpu_cores": probe["other_cpu_cores"]}
        time.sleep(3.0)
