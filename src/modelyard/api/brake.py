"""A brake on guessing credentials: a client address that failed authentication too often
in the last minute is refused (429, ``Retry-After``) before its credentials are even looked
at, until the minute has passed. One brake per server worker (``app.state.brake``), so with
N workers an address gets at most N times the limit; every route that authenticates uses
it: the API, ``POST /login`` and the scoring routes."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from modelyard.domain.errors import TooManyRequests

WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000  # the oldest address is forgotten beyond this many


class Brake:
    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # the threadpool and the event loop both call it

    def check(self, address: str | None) -> None:
        """Refuse an address that has used up its failures for the minute."""
        if address is None or address not in self._failures:  # the usual case: no lock
            return
        with self._lock:
            recent = self._recent(address)
            if recent is None or len(recent) < self.limit:
                return
            wait = math.ceil(recent[0] + WINDOW_SECONDS - self.clock())
        raise TooManyRequests(
            f"too many failed authentications from {address}: retry in {wait} s",
            retry_after=max(wait, 1),
        )

    def failed(self, address: str | None) -> None:
        if address is None:
            return
        with self._lock:
            recent = self._recent(address)
            if recent is None:
                recent = self._failures[address] = deque()
                if len(self._failures) > MAX_ADDRESSES:
                    self._failures.popitem(last=False)
            recent.append(self.clock())

    def _recent(self, address: str) -> deque[float] | None:
        recent = self._failures.get(address)
        if recent is None:
            return None
        since = self.clock() - WINDOW_SECONDS
        while recent and recent[0] <= since:
            recent.popleft()
        return recent
