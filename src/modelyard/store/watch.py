"""What a worker knows of its database between queries: whether it is reachable
(``Outage``: one log line when it goes away, one when it is back) and whether a statement
has run too long (``Deadline``).

A PostgreSQL server that is frozen rather than down (a stopped process, a partitioned
host) never answers, and neither libpq nor psycopg has a client-side statement timeout:
the operating system acknowledges what the client sends, so TCP keep-alives and
``tcp_user_timeout`` never fire either. ``Deadline`` is that timeout, written here because
no library offers it: one thread per engine shuts down the socket of a statement past its
deadline; libpq then reads end-of-file and the driver raises its ordinary disconnect error
(the connection is discarded, the call answers 503)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger("modelyard.store")


class Outage:
    """Whether the database answered the last time this process asked. Logs one warning
    when it stops answering and one line when it answers again, whatever the number of
    failed calls in between (a 10-second outage is two lines, not a traceback a call)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.since: float | None = None  # monotonic time of the first failure
        self.error: str | None = None
        self._lock = threading.Lock()

    def failed(self, error: str) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since, self.error = time.monotonic(), error
        log.warning("database %s unreachable: %s", self.name, error)

    def answered(self) -> None:
        if self.since is None:  # the common case takes no lock
            return
        with self._lock:
            if self.since is None:
                return
            lasted, self.since, self.error = time.monotonic() - self.since, None, None
        log.warning("database %s reachable again after %.1f s", self.name, lasted)


class Deadline:
    """Shuts down the socket of a statement still running ``seconds`` after it started."""

    TICK = 0.25

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._running: dict[int, tuple[float, int]] = {}  # key -> (deadline, socket fd)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, key: int, fd: int) -> None:
        with self._lock:
            self._running[key] = (time.monotonic() + self.seconds, fd)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="modelyard-db-deadline", daemon=True
                )
                self._thread.start()

    def disarm(self, key: int) -> None:
        with self._lock:
            self._running.pop(key, None)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stopping.wait(self.TICK):
            now = time.monotonic()
            with self._lock:
                late = [k for k, (deadline, _) in self._running.items() if deadline <= now]
                fds = [self._running.pop(k)[1] for k in late]
            for fd in fds:
                _shut(fd)


def _shut(fd: int) -> None:
    """Shut the socket down under its owner (a duplicate descriptor shares the socket):
    the driver's next read sees end-of-file."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass
