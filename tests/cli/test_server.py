"""``modelyard server`` as an operator starts it."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.live import EXE, free_port, server_process, wait_ready
from tests.support.processes import (
    IGNORING_SIGINT,
    process_group,
    running_in_group,
    sigint_not_inherited_as_ignored,
    wait_group_gone,
)


def test_first_start_prints_the_admin_token_once(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MODELYARD_HOME": str(tmp_path / "home")}
    env.pop("MODELYARD_ADMIN_TOKEN", None)
    command = [EXE, "server", "--port", str(port)]
    with process_group(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        assert proc.stdout is not None
        token = ""
        while not token and proc.poll() is None:
            line = proc.stdout.readline().strip()
            if line.startswith("myd_"):
                token = line
        assert token, "no token printed"
        wait_ready(url, proc)
        me = httpx.get(f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["name"] == "admin" and me.json()["is_admin"] is True
        assert httpx.get(f"{url}/api/v1/models").status_code == 401
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert "Traceback" not in output
    assert token not in output  # printed once only: the rest of the output never repeats it
    # a second start prints no token
    with process_group(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        wait_ready(url, proc)
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert "Application startup complete" in output and "myd_" not in output


def test_auth_can_be_off_only_on_loopback(tmp_path: Path) -> None:
    env = {**os.environ, "MODELYARD_HOME": str(tmp_path / "home"), "MODELYARD_AUTH": "false"}
    out = subprocess.run(
        [EXE, "server", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "error: refusing to serve 0.0.0.0 with MODELYARD_AUTH=false: authentication can be "
        "disabled only on a loopback address (127.0.0.1, ::1)"
    )


@dataclass(frozen=True)
class Start:
    """One start of the server, signalled ``moment`` seconds after it."""

    number: int
    sig: signal.Signals
    sigint_ignored: bool  # inherited, as the server's parent had it
    workers: int
    moment: float


@dataclass(frozen=True)
class Stop:
    start: Start
    problem: str | None
    seconds: float  # from the signal until every process of the group had exited
    sigint_caught: float  # seconds after the start (0 unless it was started ignoring SIGINT)
    log: str


CASES = (
    (signal.SIGINT, True, 1),
    (signal.SIGINT, True, 2),
    (signal.SIGTERM, False, 1),
    (signal.SIGINT, False, 2),
    (signal.SIGTERM, True, 2),
    (signal.SIGINT, False, 1),
)


@pytest.mark.slow
def test_a_stop_signal_at_any_moment_of_the_start_stops_every_process(tmp_path: Path) -> None:
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    starts = [Start(n, *CASES[n % len(CASES)], rng.uniform(0, 3)) for n in range(20)]
    with sigint_not_inherited_as_ignored(), ThreadPoolExecutor(4) as pool:
        stops = list(pool.map(lambda s: signalled(s, tmp_path / f"start{s.number}"), starts))
    print(  # shown by pytest -s: how far the starts got, the slowest stop
        f"seed {seed}: {sum('startup complete' in s.log for s in stops)} of 20 were serving; "
        f"slowest stop {max(s.seconds for s in stops):.2f} s; SIGINT caught within "
        f"{max(s.sigint_caught for s in stops):.3f} s of the start"
    )
    failed = [s for s in stops if s.problem]
    assert not failed, f"seed {seed}: {failed}"


def signalled(start: Start, folder: Path) -> Stop:
    """Start the server, signal it at ``start.moment``; wait 5 s at most for its group to go."""
    folder.mkdir()
    env = {**os.environ, "MODELYARD_HOME": str(folder / "home")}
    env.pop("MODELYARD_ADMIN_TOKEN", None)
    command = [EXE, "server", "--port", str(free_port()), "--workers", str(start.workers)]
    with (
        (folder / "log").open("w") as out,
        process_group(
            [*(IGNORING_SIGINT if start.sigint_ignored else ()), *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        ) as process,
    ):
        started = time.monotonic()
        problem = None
        caught = 0.0
        if start.sig == signal.SIGINT and start.sigint_ignored:
            # the kernel discards a SIGINT sent before the server's first line has run:
            # nothing can see it. Signal once the server has caught SIGINT (within 1 s).
            caught = caught_sigint_after(process, started)
            problem = "SIGINT still ignored 1 s after the start" if caught > 1 else None
        time.sleep(max(0.0, started + start.moment - time.monotonic()))
        if process.poll() is not None:
            problem = "exited before the signal"
        process.send_signal(start.sig)
        seconds = wait_group_gone(process, timeout=5)
    if seconds is None:
        problem = "running 5 s after the signal"
    log = (folder / "log").read_text()[-2000:]
    return Stop(start, problem, seconds or 5.0, caught, log)


def caught_sigint_after(process: subprocess.Popen[str], started: float) -> float:
    """Seconds from ``started`` until ``process`` catches SIGINT (Linux); waits 3 s at most."""
    while time.monotonic() - started < 3 and process.poll() is None:
        status = Path(f"/proc/{process.pid}/status").read_text()
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        if caught & (1 << (signal.SIGINT - 1)):
            break
        time.sleep(0.005)
    return time.monotonic() - started


@pytest.mark.slow
def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    with (
        server_process(tmp_path / "home", workers=2) as server,
        httpx.Client(base_url=server.url) as kept_alive,
    ):
        group = server.process.pid
        assert len(running_in_group(group)) >= 3  # the supervisor and its two workers
        assert kept_alive.get("/healthz").status_code == 200  # a connection left open
        server.process.kill()
        server.process.wait()
        deadline = time.monotonic() + 5
        while running_in_group(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running_in_group(group) == []
        # the port is free again: a restart does not fail with "Address already in use"
        port = int(server.url.rsplit(":", 1)[1])
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            again.bind(("127.0.0.1", port))


def test_connections_that_do_not_send_a_request_are_closed(tmp_path: Path) -> None:
    env = {"MODELYARD_REQUEST_HEAD_SECONDS": "1", "MODELYARD_REQUEST_IDLE_SECONDS": "1"}
    with server_process(tmp_path / "home", workers=1, env=env) as server:
        host, port = server.url.removeprefix("http://").split(":")
        stalled = []
        for i in range(300):
            sock = socket.create_connection((host, int(port)), timeout=10)
            if i % 3 == 1:  # half a request head
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            elif i % 3 == 2:  # a head, then a tenth of the body it announced
                sock.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
            stalled.append(sock)  # and i % 3 == 0 sends nothing at all
        # a body that keeps flowing, slowly, for longer than the pause allowed: it is served
        flowing = socket.create_connection((host, int(port)), timeout=10)
        flowing.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\n"
        )
        for byte in b"token=ab":
            time.sleep(0.4)
            flowing.sendall(bytes([byte]))
        answer = flowing.recv(65536)
        # served, to the end: a form without the page's CSRF token, refused as one
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
        flowing.close()
        try:
            for sock in stalled:  # each closed by the server: end of stream (or a reset)
                with contextlib.suppress(ConnectionResetError):
                    assert sock.recv(65536) == b""
        finally:
            for sock in stalled:
                sock.close()
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        log = server.stop()
    assert "Traceback" not in log, log[-3000:]  # a client that went away is no fault
