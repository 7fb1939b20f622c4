"""Servers under test: each started on a free port of 127.0.0.1, in its own process group,
waited for until ready and idle, and stopped (the whole group) when its ``with`` block ends,
also on errors. ``modelyard server`` and ``modelyard``'s other commands run from the
project's venv, without the caller's ``MODELYARD_*`` settings."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.log import log
from harness.quiet import wait_idle
from harness.references import clean_env

ADMIN_TOKEN = "myd_bench-admin-token-0000000000000000000000"
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    pid: int
    startup_s: float
    log_path: Path
    settle_s: float  # after ready, until its processes stopped using CPU


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


@contextlib.contextmanager
def serve(
    work: Path, command: Callable[[int], list[str]], env: dict[str, str], ready_path: str
) -> Iterator[Server]:
    """Run ``command(port)`` in ``work`` (its output in ``work/server.log``) until the block
    ends; ready once ``GET ready_path`` answers 200, then waited for until idle."""
    import httpx

    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = command(port)
    log_path = work / "server.log"
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
            cwd=str(work),
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


def modelyard_command(*args: str) -> list[str]:
    """``modelyard ARGS`` from the project's venv (else the PATH's)."""
    candidate = Path(sys.executable).parent / "modelyard"
    found = str(candidate) if candidate.exists() else shutil.which("modelyard")
    if found is None:
        raise SystemExit("cannot find the modelyard command")
    return [found, *args]


def modelyard_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``modelyard`` command on ``home``: none of the caller's
    ``MODELYARD_*`` settings, then ``extra``."""
    env = clean_env(("MODELYARD_",))
    env["MODELYARD_HOME"] = str(home)
    env.update(extra or {})
    return env


def modelyard_server(
    work: Path, workers: int, *, home: Path | None = None, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager[Server]:
    """``modelyard server --workers N`` on ``home`` (default ``work/home``), admin token
    ``ADMIN_TOKEN``, with ``env`` added to its environment."""
    server_env = modelyard_env(home or work / "home", {"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN})
    server_env.update(env or {})

    def command(port: int) -> list[str]:
        return modelyard_command(
            "server", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)
        )

    return serve(work, command, server_env, "/readyz")


def wait_all_workers_ready(url: str, workers: int) -> None:
    """``/readyz`` speaks for the worker that answers: ask on fresh connections until
    enough consecutive answers are 200 that every worker has very likely answered."""
    import httpx

    needed = 1 if workers == 1 else 10 * workers
    streak = 0
    deadline = time.monotonic() + 120
    while streak < needed:
        if time.monotonic() > deadline:
            raise SystemExit("not every modelyard worker became ready")
        with contextlib.suppress(httpx.HTTPError):
            ok = httpx.get(url + "/readyz", timeout=5).status_code == 200
            streak = streak + 1 if ok else 0
            if not ok:
                time.sleep(0.2)
