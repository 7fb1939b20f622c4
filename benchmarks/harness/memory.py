"""Resident memory of a server's process tree (and of this process), sampled in the
background (standard library only: the reference tools' sides use it too)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from harness.procfs import own_rss_bytes, read_stat, tree_pids

MB = 1_000_000
SAMPLE_S = 0.05
TREE_RESCAN_S = 1.0


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
        """The tree's resident bytes, this process's, and how many tree processes live."""
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
