"""The app a ``modelyard server`` process serves; a worker never outlives its supervisor.

uvicorn imports this module by name after it has installed its signal handlers, and then
waits for the app to start before it acts on a stop: the app's imports take seconds. So
``serve`` ends the process at once on a stop signal until the app exists, then hands the
signals back to uvicorn for a graceful stop.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import uvicorn

from modelyard.cli import stopping

if TYPE_CHECKING:
    from fastapi import FastAPI


#: What ``modelyard serve`` serves, for its workers (JSON: ``cli.serve.spec``).
SPEC_ENV = "MODELYARD_SERVE_SPEC"


def serve() -> FastAPI:
    """uvicorn's app factory: a stop while the app loads ends the process on the spot."""
    from modelyard.api import create_app

    return _guarded(lambda: create_app(prepare=True))


def serve_scoring() -> FastAPI:
    """The app factory of ``modelyard serve``: the scoring runtime alone."""

    def build() -> FastAPI:
        import json

        from modelyard.cli.serve import scoring_app

        return scoring_app(json.loads(os.environ[SPEC_ENV]))

    return _guarded(build)


def _guarded(build: Callable[[], FastAPI]) -> FastAPI:
    uvicorns = {sig: signal.getsignal(sig) for sig in stopping.STOP_SIGNALS}
    stopping.stop_at_once()
    try:
        if any(_stopping(handler) for handler in uvicorns.values()):
            stopping.end(signal.SIGTERM)  # a stop came between uvicorn's handlers and this call
        supervisor = multiprocessing.parent_process()
        if supervisor is not None:  # a worker of ``--workers N``
            threading.Thread(
                target=_stop_after, args=(supervisor.sentinel,), name="watch", daemon=True
            ).start()
        return build()
    finally:
        for sig, handler in uvicorns.items():
            signal.signal(sig, handler)


def _stopping(handler: object) -> bool:
    """Whether uvicorn's handler was called already (``Server.handle_exit`` is a bound method)."""
    server = getattr(handler, "__self__", None)
    return isinstance(server, uvicorn.Server) and server.should_exit


def _stop_after(sentinel: int) -> None:
    """SIGTERM this worker, as its supervisor would, once the supervisor is gone (even killed)."""
    multiprocessing.connection.wait([sentinel])
    os.kill(os.getpid(), signal.SIGTERM)
