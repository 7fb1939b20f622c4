"""The runtime's view of the deployments: a read that started before a deployment was
created never retires it once a newer read has started loading it; a poll reads the
deployments only when they changed, in a server worker and in a follower alike."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import pytest

from modelyard import Client, Settings
from modelyard.cli import serve
from modelyard.domain.deployments import ServingState
from modelyard.services.container import Services, worker_host
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.runtime import Backend, ServingRuntime
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin
from tests.support.live import live_server


class SlowFirstRead:
    """The real installation, whose first deployment read returns only when released (a
    poller's read still in flight when a request reads again), and whose models load only
    once that read has been applied (the load is in progress meanwhile)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.release = threading.Event()
        self.first_read_done = threading.Event()
        self.applied = threading.Event()
        self.reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.services, name)

    def serving_states(self) -> list[ServingState]:
        self.reads += 1
        states = self.services.serving_states()
        if self.reads == 1:
            self.first_read_done.set()
            assert self.release.wait(30)
        return states

    def load_package(self, digest: str) -> object:
        assert self.applied.wait(30)
        return self.services.load_package(digest)


def test_a_stale_read_does_not_retire_a_deployment_being_loaded(
    payments_home: Settings,
) -> None:
    with Client(settings=payments_home) as c:
        services = Services.open(payments_home)
        backend = SlowFirstRead(services)
        runtime = ServingRuntime(backend, ServingMetrics(), poll_seconds=3600)  # type: ignore[arg-type]

        async def scenario() -> str:
            stale = asyncio.create_task(runtime.sync())  # reads: no deployments yet
            await asyncio.to_thread(backend.first_read_done.wait, 30)
            await asyncio.to_thread(c.create_deployment, "pay", ["payments:1"])
            request = asyncio.create_task(runtime.get("pay"))  # a request for it
            await asyncio.sleep(0.2)
            backend.release.set()  # the stale read (no "pay") is applied now
            try:
                await stale
                backend.applied.set()
                live = await asyncio.wait_for(request, 30)
            finally:
                await runtime.stop()
            return live.name

        try:
            assert asyncio.run(scenario()) == "pay"
        finally:
            backend.release.set()
            backend.applied.set()
            services.close()


class CountingReads:
    """The real backend, counting how often the deployments are read."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.backend, name)

    def serving_states(self) -> list[ServingState]:
        self.reads += 1
        return self.backend.serving_states()


@contextlib.contextmanager
def backend(settings: Settings, following: bool) -> Iterator[Backend]:
    """The installation itself (a server worker's view), or a server followed over HTTP
    (``modelyard serve --follow``'s)."""
    services = Services.open(settings)
    if not following:
        try:
            yield services
        finally:
            services.close()
        return
    services.close()
    with live_server(settings) as url:
        spec = {"folders": [], "follow": url, "deployments": None, "trusted": []}
        home = settings.home.parent / "follower"
        follower = Settings(home=home, token=ADMIN_TOKEN)
        models = worker_host(follower, follower.resolved_home, server=True)
        try:
            yield serve.backend(spec, follower, models)
        finally:
            models.close()


@pytest.mark.parametrize("following", [False, True], ids=["server", "follower"])
def test_the_poller_reads_the_deployments_only_when_they_changed(
    payments_home: Settings, following: bool
) -> None:
    """A worker's poll is one row (the change count), whatever the number of deployments:
    40 polls without a change read the deployments once; a change is read at the next.
    The same for ``modelyard serve --follow``: one call (``/serving/changes``) per poll."""
    bootstrap_admin(payments_home)
    with Client(settings=payments_home) as c, backend(payments_home, following) as real:
        for name in ("a", "b", "c"):
            c.create_deployment(name, ["payments:1"])
        counted = CountingReads(real)
        runtime = ServingRuntime(counted, ServingMetrics(), poll_seconds=0.05)  # type: ignore[arg-type]

        async def scenario() -> tuple[int, int, int]:
            await runtime.start()
            try:
                await asyncio.sleep(40 * 0.05)
                quiet = counted.reads
                await asyncio.to_thread(c.create_deployment, "d", ["payments:1"])
                for _ in range(400):  # read at the next poll; 20 s at most on a busy machine
                    if "d" in runtime.access:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(10 * 0.05)  # ten more polls: nothing more to read
                return quiet, counted.reads, len(runtime.access)
            finally:
                await runtime.stop()

        quiet, after, known = asyncio.run(scenario())
    assert (quiet, after, known) == (1, 2, 4)
