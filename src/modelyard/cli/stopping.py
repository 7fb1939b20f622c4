"""How ``modelyard server`` stops on SIGINT or SIGTERM at any moment from its first line.

Imported before anything heavy (the standard library only): until uvicorn installs its
handlers nothing else listens, and a SIGINT inherited as ignored (a test runner's worker,
a script's background job) would be discarded by the kernel while the server runs on.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
ROOT_OPTIONS_WITH_VALUE = ("--home",)


def command(args: list[str]) -> str | None:
    """The subcommand in ``args``, found before Typer is imported (that takes a second)."""
    rest = iter(args)
    for arg in rest:
        if arg in ROOT_OPTIONS_WITH_VALUE:
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def stop_at_once() -> None:
    """Until uvicorn takes over nothing listens and nothing needs closing: end on the spot."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, end)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold stop signals over a step that must not be cut in two, then act on them."""
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda n, _: held.append(n)) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for number in held:
            signal.raise_signal(number)


def end(number: int, frame: FrameType | None = None) -> None:
    """End as the signal's default action does, so the parent sees which signal it was."""
    signal.signal(number, signal.SIG_DFL)
    signal.raise_signal(number)
