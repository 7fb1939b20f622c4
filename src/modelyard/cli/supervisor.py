"""The supervisor of ``modelyard server --workers N``: uvicorn's, except in what it does
when a worker dies.

uvicorn restarts a worker that dies, but when the replacement fails to start it stops the
whole server, healthy workers included: with the database away, one killed worker took
the server down for good. Here a worker that dies is replaced, and a replacement that
fails to start is retried with backoff (0.5 s, doubling to 30 s) while the other workers
go on serving. Only when no worker has ever started (the app itself is broken) does a
failed start stop the server, as uvicorn does. A dead worker's gauges leave the shared
``/metrics`` (``serving.metrics``).

Workers are forked from the supervisor, which has imported the app's modules once
(``preload``), instead of spawned to import them again: a worker starts, or replaces a dead
one, without 1.7 s of CPU spent on imports. The supervisor runs no thread of its own, so
forking it is safe; each worker still builds its own app (database connections, model
workers) after the fork.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing import Pipe
from socket import socket
from typing import Any

from uvicorn._subprocess import subprocess_started
from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import SIGNALS, Multiprocess, Process

logger = logging.getLogger("uvicorn.error")

FIRST_DELAY, MAX_DELAY = 0.5, 30.0


def preload(app: str) -> None:
    """Import the module of the app factory ``app`` (``module:factory``) in the supervisor,
    for its workers to inherit. Call it once the environment the workers read at import
    (``serving.metrics``' folder) is set."""
    importlib.import_module(app.split(":", 1)[0])
    importlib.import_module("modelyard.api")


def _fresh(**kwargs: Any) -> None:
    """In the forked worker: the signal dispositions a spawned one starts with (not the
    supervisor's queueing handlers), then uvicorn's start."""
    for sig in SIGNALS:
        handler = signal.getsignal(sig)
        if getattr(handler, "__qualname__", "").startswith(Multiprocess.__qualname__ + "."):
            signal.signal(sig, signal.SIG_DFL)
    subprocess_started(**kwargs)


class Forked(Process):
    """uvicorn's worker process, forked instead of spawned."""

    def __init__(self, config: Config, sockets: list[socket]) -> None:
        self.config = config
        self._server = None
        self.parent_conn, self.child_conn = Pipe()
        kwargs = {"config": config, "target": self.target, "sockets": sockets}
        self.process = multiprocessing.get_context("fork").Process(  # type: ignore[assignment]
            target=_fresh, kwargs={**kwargs, "stdin_fileno": None}
        )


class Supervisor(Multiprocess):
    def __init__(self, config: Config, sockets: list[socket]) -> None:
        super().__init__(config, sockets)
        self._served = False  # some worker has started: the app can start
        self._unproven: set[int] = set()  # slots whose worker has not started yet
        self._delay: dict[int, float] = {}  # slot -> the backoff its next failure waits
        self._waiting: dict[int, float] = {}  # slot -> when its replacement may start

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = Forked(self.config, self.sockets)
            process.start()
            self.processes.append(process)
        self._unproven = set(range(len(self.processes)))

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if idx in self._waiting:
                if time.monotonic() >= self._waiting[idx]:
                    del self._waiting[idx]
                    self._replace(idx)
                continue
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                if idx in self._unproven and process.is_ready(timeout=1):
                    self._unproven.discard(idx)
                    self._delay.pop(idx, None)
                    self._served = True
                continue
            process.kill()  # hung or gone
            process.join()
            _forget_metrics(process.pid)
            if self.should_exit.is_set():
                return
            if process.exitcode == STARTUP_FAILURE and not self._served:
                logger.error(f"Child process [{process.pid}] failed to start, stopping.")
                self.should_exit.set()
                return
            if idx in self._unproven:  # died before it started: wait longer each time
                delay = self._delay.get(idx, FIRST_DELAY)
                self._delay[idx] = min(delay * 2, MAX_DELAY)
                logger.warning(
                    f"Child process [{process.pid}] failed to start (exit code "
                    f"{process.exitcode}); starting another in {delay:.1f} s"
                )
                self._waiting[idx] = time.monotonic() + delay
            else:
                logger.info(f"Child process [{process.pid}] died; starting another")
                self._replace(idx)

    def _replace(self, idx: int) -> None:
        process = Forked(self.config, self.sockets)
        process.start()
        self.processes[idx] = process
        self._unproven.add(idx)


def _forget_metrics(pid: int | None) -> None:
    """A dead worker's gauges leave ``/metrics`` (its counts stay in the totals)."""
    from modelyard.serving import MULTIPROCESS_ENV

    if pid is not None and os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
