"""A revision whose model environment is being built is not routed: the worker reports it
``building``, a request for a deployment with nothing else to serve is answered 503 at
once (not held for the minutes a build may take), and it serves once the build ends."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from modelyard import Client, NotReady, Settings
from modelyard.flavors.package import Manifest
from modelyard.runtimes.host import Model, ModelHost
from modelyard.services.container import Services
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.runtime import ServingRuntime


class SlowBuild:
    """The installation's model host, whose every model needs an environment built, and
    whose build ends only when the test says so."""

    def __init__(self, host: ModelHost) -> None:
        self.host = host
        self.built = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.host, name)

    def must_build(self, manifest: Manifest) -> bool:
        return not self.built.is_set()

    def load(self, pool: str, folder: Path, manifest: Manifest, warmup: Any = None) -> Model:
        assert self.built.wait(30)
        return self.host.load(pool, folder, manifest, warmup)


class Backend:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.models = SlowBuild(services.models)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.services, name)


def test_a_revision_building_its_environment_is_reported_and_not_routed(
    payments_home: Settings,
) -> None:
    with Client(settings=payments_home) as c:
        c.create_deployment("pay", ["payments:1"])
    services = Services.open(payments_home, server=True)
    backend = Backend(services)
    runtime = ServingRuntime(backend, ServingMetrics(), poll_seconds=3600)  # type: ignore[arg-type]

    async def scenario() -> None:
        await runtime.sync()
        for _ in range(300):
            if runtime.building("pay") is not None:
                break
            await asyncio.sleep(0.02)
        assert runtime.building("pay") == 1
        assert runtime.served()["pay"] == {"revision": None, "building": 1}
        with pytest.raises(NotReady, match="revision 1 is building its model environment"):
            await asyncio.wait_for(runtime.get("pay"), 5)
        assert not runtime.ready
        backend.models.built.set()
        for _ in range(500):
            if runtime.ready:
                break
            await asyncio.sleep(0.02)
        live = await runtime.get("pay")
        assert live.revision == 1 and runtime.building("pay") is None
        assert runtime.served() == {"pay": {"revision": 1}}

    async def run() -> None:
        try:
            await scenario()
        finally:
            backend.models.built.set()
            await runtime.stop()

    try:
        asyncio.run(run())
    finally:
        services.close()
