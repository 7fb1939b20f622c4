"""Deployments served as a Ray Serve application (``modelyard serve --ray ADDRESS``).

Each replica is one Ray actor running the app a ``modelyard serve`` worker runs (the same
data plane, protocols, fast path, adaptive batching and collection), behind Ray Serve's
HTTP proxy: Ray Serve owns the replicas (placement, restarts, autoscaling between
``--replicas`` and ``--max-replicas`` on the requests each one has in flight), modelyard
owns the revisions (every replica follows them, loading a new one before it answers with
it). A replica takes traffic once its deployments are loaded, so a replica that autoscaling
adds does not answer 503 while it loads. The application is removed when the command
stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.domain.errors import InvalidInput

if TYPE_CHECKING:
    from fastapi import FastAPI

    from modelyard.settings import Settings

log = logging.getLogger("modelyard.serving")
APPLICATION = "modelyard"
DEPLOYMENT = "scoring"
#: Requests one replica holds at once (its batcher gathers them); more wait in Ray's queue.
MAX_ONGOING = 256
#: Autoscaling aims at this many requests in flight per replica.
TARGET_ONGOING = 32
LOAD_SECONDS = 300.0  # a replica answers (with /readyz 503) if loading takes longer

#: Builds one replica's app from the spec ``modelyard serve`` wrote and its settings.
BuildApp = Callable[[dict[str, Any], "Settings"], "FastAPI"]


@dataclass(frozen=True, slots=True)
class Replicas:
    minimum: int
    maximum: int

    def __post_init__(self) -> None:
        if self.minimum < 1:
            raise InvalidInput("--replicas must be at least 1")
        if self.maximum < self.minimum:
            raise InvalidInput(
                f"--max-replicas {self.maximum} is fewer than --replicas {self.minimum}"
            )


class Replica:
    """One Ray Serve replica: builds the scoring app once Ray has placed it."""

    def __init__(self, build: BuildApp, spec: dict[str, Any], settings: Settings) -> None:
        self._build = build
        self._spec = spec
        self._settings = settings

    def __serve_build_asgi_app__(self) -> FastAPI:
        app = self._build(self._spec, self._settings)
        starting = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def loaded_first(scoring: Any) -> AsyncIterator[Any]:
            async with starting(scoring) as state:
                deadline = time.monotonic() + LOAD_SECONDS
                runtime = scoring.state.runtime
                while not (runtime.ready or runtime.failures) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                yield state

        app.router.lifespan_context = loaded_first
        return app


def serve(
    build: BuildApp,
    spec: dict[str, Any],
    settings: Settings,
    *,
    address: str,
    host: str,
    port: int,
    replicas: Replicas,
    announce: Callable[[str], None] = log.warning,
) -> None:
    """Run the application on the cluster at ``address`` (``raydata.check_address``
    answered) until SIGINT or SIGTERM, then remove it."""
    import ray
    from ray import serve

    ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # after ray.init, which installs its own
        signal.signal(signum, lambda *_: stop.set())
    try:
        serve.start(http_options={"host": host, "port": port})
        scoring: Any = serve.deployment(
            serve.ingress()(Replica),
            name=DEPLOYMENT,
            max_ongoing_requests=MAX_ONGOING,
            autoscaling_config={
                "min_replicas": replicas.minimum,
                "max_replicas": replicas.maximum,
                "initial_replicas": replicas.minimum,
                "target_ongoing_requests": TARGET_ONGOING,
            },
            ray_actor_options={"num_cpus": 1},
        )
        serve.run(scoring.bind(build, spec, settings), name=APPLICATION, route_prefix="/")
        announce(
            f"serving at http://{host}:{port} on the Ray cluster at {address}: application "
            f"{APPLICATION!r}, {replicas.minimum} to {replicas.maximum} replicas"
        )
        while not stop.wait(1.0):
            pass
    finally:
        with contextlib.suppress(Exception):  # the cluster may be gone: nothing to remove
            serve.delete(APPLICATION)
        ray.shutdown()
