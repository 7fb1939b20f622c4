"""A task each server worker runs every few seconds in a daemon thread (the alert rules
and the batch jobs that are due)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from modelyard.domain.errors import StorageUnavailable

log = logging.getLogger("modelyard.server")


class Periodic:
    """Runs ``tick`` every ``seconds`` until ``stop()``. A tick that finds the database
    away is skipped quietly (the outage is logged once, by the store); any other failure
    is logged and the next tick comes."""

    def __init__(self, name: str, tick: Callable[[], object], seconds: float) -> None:
        self.name = name
        self.tick = tick
        self.seconds = seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.seconds):
            try:
                self.tick()
            except StorageUnavailable:
                pass
            except Exception:
                log.warning("%s failed", self.name, exc_info=True)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
