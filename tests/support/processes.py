"""Processes a test starts run in a process group of their own, killed whole on the way out."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# how a script's background job (or a test runner's worker) starts a command: SIGINT ignored
IGNORING_SIGINT = ("sh", "-c", 'trap "" INT; exec "$0" "$@"')


@contextlib.contextmanager
def sigint_not_inherited_as_ignored() -> Iterator[None]:
    """The processes started in the block do not inherit an ignored SIGINT from this one.

    A suite started as a script's background job (``make test &`` in a non-interactive
    shell, as CI may do) runs with SIGINT ignored and every child inherits it; a SIGINT
    sent to such a child before its first line runs is discarded by the kernel. A test of
    a start that does not ignore SIGINT needs it delivered (main thread only)."""
    if signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def process_group(args: list[str], **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """``Popen(args)`` in a new session, SIGKILLed whole on exit: a failed test leaves nothing."""
    with subprocess.Popen(args, start_new_session=True, text=True, **popen) as process:
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def running_in_group(group: int) -> list[int]:
    """The processes of ``group`` still running, zombies aside (an orphaned worker stays in it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # it has just exited
            stat = (entry / "stat").read_text()
            state, _, pgrp = stat.rpartition(")")[2].split()[:3]
            if int(pgrp) == group and state != "Z":
                pids.append(int(entry.name))
    return pids


def wait_group_gone(process: subprocess.Popen[str], timeout: float) -> float | None:
    """Seconds until ``process`` and every other process of its group had exited, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None and not running_in_group(process.pid):
            return time.monotonic() - start
        time.sleep(0.02)
    return None
