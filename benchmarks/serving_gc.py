"""The serving benchmark's garbage-collection diagnostic: a ``sitecustomize`` on one
server's ``PYTHONPATH`` logs how long each full collection takes in every process of that
server, and on SIGUSR1 freezes the process's heap (``gc.freeze()``)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

from harness.log import log
from harness.procfs import tree_pids
from harness.quiet import wait_idle

GC_SITECUSTOMIZE = """\
# Written by modelyard's benchmarks/serving.py for one diagnostic server (on PYTHONPATH, so
# every process of that server runs it at start); not part of modelyard. It logs how long
# each full (generation 2) collection of the cyclic garbage collector takes, and on
# SIGUSR1 collects once and freezes every object then alive (gc.freeze()), as a server
# could do once its models are loaded.
import gc
import os
import signal
import time

_dir = os.path.dirname(os.path.abspath(__file__))
_started = [0.0]


def _log(line):
    with open(os.path.join(_dir, "gc-%d.log" % os.getpid()), "a") as f:
        f.write(line + "\\n")


def _callback(phase, info):
    if info["generation"] != 2:
        return
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _log("gen2 %.3f %.3f" % (time.time(), (time.perf_counter() - _started[0]) * 1000))


def _freeze(signum, frame):
    gc.collect()
    gc.freeze()
    _log("froze %.3f %d" % (time.time(), gc.get_freeze_count()))


gc.callbacks.append(_callback)
signal.signal(signal.SIGUSR1, _freeze)
# server workers are forked from their supervisor, which then handles SIGUSR1 itself
os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGUSR1, _freeze))
"""


def write_gc_harness(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(GC_SITECUSTOMIZE)
    return folder


def _gc_lines(folder: Path) -> dict[int, list[list[str]]]:
    out = {}
    for path in folder.glob("gc-*.log"):
        out[int(path.stem[3:])] = [line.split() for line in path.read_text().splitlines()]
    return out


def gc_pauses(folder: Path, window: list[float]) -> dict[str, Any]:
    """Full collections in the server's processes during ``window`` (wall-clock times)."""
    pauses = [
        float(parts[2])
        for lines in _gc_lines(folder).values()
        for parts in lines
        if parts[0] == "gen2" and window[0] <= float(parts[1]) <= window[1]
    ]
    return {
        "full_collections": len(pauses),
        "max_ms": max(pauses, default=0.0),
        "total_ms": sum(pauses),
        "pauses_ms": sorted(pauses, reverse=True)[:20],
    }


def freeze_heaps(root: int, folder: Path, workers: int) -> dict[str, Any]:
    """SIGUSR1 to every process of the server (the harness above freezes its heap), then
    wait until ``workers`` processes have logged it. Not to its model workers and their
    fork servers: they run isolated (``python -I``, no ``sitecustomize``), would die of the
    signal, and freeze their own heap after each load."""
    for pid in tree_pids(root):
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"modelyard.runtimes.worker" in command:
                continue
            os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while True:
        frozen = {
            pid: int(parts[2])
            for pid, lines in _gc_lines(folder).items()
            for parts in lines
            if parts[0] == "froze"
        }
        if len(frozen) >= workers:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(frozen)} server processes froze their heap")
        time.sleep(0.2)
    wait_idle(root)
    log(f"  froze the heaps: {sorted(frozen.values(), reverse=True)} objects")
    return {"processes": len(frozen), "objects": sorted(frozen.values(), reverse=True)}
