"""The supervisor of ``--workers N`` replaces a dead worker, retries a replacement that
fails to start with growing waits, and never stops the workers that serve; only a server
none of whose workers ever started stops."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx

from tests.support.live import free_port
from tests.support.processes import process_group

ROOT = Path(__file__).resolve().parents[2]
RUN = (
    "import sys, uvicorn\n"
    "from modelyard.cli.supervisor import Supervisor\n"
    "config = uvicorn.Config('tests.support.flaky_app:create', factory=True, "
    "host='127.0.0.1', port=int(sys.argv[1]), workers=2, lifespan='on')\n"
    "Supervisor(config, sockets=[config.bind_socket()]).run()\n"
)


def _pid(url: str) -> int | None:
    try:
        return int(httpx.get(url, timeout=5).text)
    except (httpx.TransportError, ValueError):
        return None


def _start(tmp_path: Path) -> tuple[str, list[str], dict[str, str]]:
    port = free_port()
    env = {**os.environ, "FLAKY_MARKER": str(tmp_path / "broken"), "PYTHONPATH": str(ROOT)}
    return f"http://127.0.0.1:{port}", [sys.executable, "-c", RUN, str(port)], env


def test_a_replacement_that_fails_to_start_is_retried_and_the_healthy_worker_serves(
    tmp_path: Path,
) -> None:
    log = tmp_path / "supervisor.log"
    url, args, env = _start(tmp_path)
    with open(log, "w") as err, process_group(args, env=env, stderr=err) as supervisor:
        pids: set[int] = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2:  # fresh connections reach both workers
            assert time.monotonic() < deadline and supervisor.poll() is None, log.read_text()
            pid = _pid(url)
            if pid is not None:
                pids.add(pid)
        killed, healthy = sorted(pids)
        (tmp_path / "broken").touch()  # from now on a new worker fails to start
        os.kill(killed, signal.SIGKILL)
        answers = []
        until = time.monotonic() + 5
        while time.monotonic() < until:
            answers.append(_pid(url))
            time.sleep(0.05)
        assert supervisor.poll() is None  # the server did not stop
        assert set(answers) == {healthy}, set(answers)  # the healthy worker served each one
        text = log.read_text()
        assert "starting another in 0.5 s" in text and "starting another in 1.0 s" in text
        (tmp_path / "broken").unlink()  # fixed: the next try starts a worker that serves
        seen: set[int | None] = set()
        deadline = time.monotonic() + 30
        while not seen - {healthy, None}:
            assert time.monotonic() < deadline, log.read_text()
            seen.add(_pid(url))
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=30) == 0


def test_a_server_none_of_whose_workers_ever_started_stops(tmp_path: Path) -> None:
    log = tmp_path / "supervisor.log"
    _, args, env = _start(tmp_path)
    (tmp_path / "broken").touch()
    with open(log, "w") as err, process_group(args, env=env, stderr=err) as supervisor:
        supervisor.wait(timeout=60)
    assert "failed to start, stopping" in log.read_text()
