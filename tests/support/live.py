"""A real uvicorn server on a free loopback port, in a thread, for tests that need HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from modelyard.api import create_app
from modelyard.settings import Settings
from tests.support.processes import process_group

EXE = str(Path(sys.executable).parent / "modelyard")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(settings: Settings, port: int | None = None) -> Iterator[str]:
    """Serve ``create_app(settings)`` on 127.0.0.1; yields the base URL; stops on exit."""
    port = port or free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class ServerProcess:
    """``modelyard server`` as an operator runs it, in a subprocess."""

    url: str
    process: subprocess.Popen[str]
    stderr: str | None = None

    def stop(self, sig: signal.Signals = signal.SIGINT) -> str:
        """Signal it (once), wait for it to exit, return what it wrote to stderr."""
        if self.stderr is None:
            if self.process.poll() is None:
                self.process.send_signal(sig)
            self.stderr = self.process.communicate(timeout=60)[1]
        return self.stderr


@contextlib.contextmanager
def server_process(
    home: Path, *, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """Start ``modelyard server`` on a free loopback port for ``home``; yields once
    ``/readyz`` has answered 200 ten times in a row (every worker has loaded); stops it."""
    port = free_port()
    with process_group(
        [EXE, "server", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, "MODELYARD_HOME": str(home), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as process:
        server = ServerProcess(f"http://127.0.0.1:{port}", process)
        wait_ready(server.url, process, answers=10)
        yield server
        server.stop()  # if the test failed, the process group is killed instead


def wait_ready(url: str, process: subprocess.Popen[str], *, answers: int = 1) -> None:
    """Wait until ``url/readyz`` has answered 200 ``answers`` times in a row."""
    deadline = time.monotonic() + 60
    ready = 0
    while ready < answers:
        if time.monotonic() > deadline or process.poll() is not None:
            ended = process.poll() is not None and process.stderr is not None
            err = process.stderr.read()[-3000:] if ended and process.stderr else ""
            raise RuntimeError(
                f"the server did not become ready (exit status {process.poll()}); "
                f"its stderr ends:\n{err}"
            )
        try:
            ready = ready + 1 if httpx.get(f"{url}/readyz").status_code == 200 else 0
        except httpx.TransportError:
            ready = 0
        time.sleep(0.05)
