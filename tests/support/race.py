"""The same call from several threads released at one instant (a claim that only one may
win, for instance)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(call: Callable[[], T], threads: int = 4) -> list[T]:
    """What ``call`` answered in each of ``threads`` threads started together."""
    outcomes: list[T] = []
    barrier = threading.Barrier(threads)

    def one() -> None:
        barrier.wait()
        outcomes.append(call())

    started = [threading.Thread(target=one) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return outcomes
