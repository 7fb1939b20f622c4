"""``create_scoring_app``: the app of ``modelyard serve``, the scoring runtime alone.

The same data plane, protocols and fast path as the server's (``/v1/deployments/…``,
``/v2``), ``/metrics``, ``/healthz`` and ``/readyz``; no control plane and no database.
Its deployments come from a ``serving.runtime.Backend`` the caller makes (an edge export,
or a server followed with a scoring-only credential). Serving one deployment, it also
answers ``mlflow models serve``'s root routes: ``GET /ping``, ``/health``, ``/version`` and
``POST /invocations`` (the fast path sends that one to the deployment's MLflow protocol),
so clients and platforms built for MLflow's scoring container work unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from modelyard import __version__
from modelyard.api import errors, scoring, v2
from modelyard.api.brake import Brake
from modelyard.api.dataplane import bearer, running
from modelyard.api.fastpath import NO_TELEMETRY, ScoringApp
from modelyard.domain.errors import NotFound, Unauthenticated
from modelyard.monitoring.lake import Lake
from modelyard.runtimes.host import ModelHost
from modelyard.services.container import worker_host
from modelyard.services.deployments import key_matches
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.runtime import Backend, ServingRuntime
from modelyard.settings import Settings

#: Builds the backend once the event loop runs, given the host its models run in.
MakeBackend = Callable[[ModelHost], Backend]


def create_scoring_app(
    make_backend: MakeBackend, *, collected: Lake, settings: Settings | None = None
) -> FastAPI:
    settings = settings or Settings()
    metrics = ServingMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        models = worker_host(settings, settings.resolved_home, server=True)
        try:
            backend = make_backend(models)
        except BaseException:
            models.close()
            raise
        try:
            snapshot = settings.resolved_home / "serving" / "followed.json"
            async with running(app, backend, metrics, settings, collected, snapshot):
                yield
        finally:
            # off the loop: a model worker still starting waits for the loop to read its hello
            await asyncio.to_thread(models.close)

    app = ScoringApp(
        title="modelyard serve",
        version=__version__,
        description="The scoring runtime of modelyard: /v1/deployments/{name}/predict, "
        "/invocations, /v2 (Open Inference Protocol), /metrics, /healthz, /readyz.",
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
        docs_url=None,
        redoc_url=None,
    )
    app.state.brake = Brake(settings.auth_failures_per_minute)
    app.state.mlflow_root = True
    errors.install(app)
    app.include_router(scoring.router)
    app.include_router(v2.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Ready: every deployment's current revision is loaded and answering here."""
        runtime: ServingRuntime = request.app.state.runtime
        if runtime.ready:
            return JSONResponse({"status": "ok", "checks": {"deployments": "ok"}})
        failed = len(runtime.failures)
        checks = {"deployments": f"{failed} failed to load" if failed else "loading"}
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)

    @app.get("/metrics", response_class=Response)
    async def prometheus(request: Request) -> Response:
        """A scoring key of a deployment served here, or a token the backend accepts,
        unless MODELYARD_PUBLIC_METRICS (or no authentication, on loopback)."""
        from prometheus_client import CONTENT_TYPE_LATEST

        runtime: ServingRuntime = request.app.state.runtime
        if not settings.public_metrics and runtime.services.auth_enabled:
            secret = bearer(request.headers.get("authorization"))
            hashes = tuple(h for _, pair in runtime.access.values() for h in pair)
            if not secret or not key_matches(secret, hashes):
                if not secret:
                    raise Unauthenticated("send a deployment's scoring key")
                await runtime.principal(secret)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    # -- mlflow models serve's root routes -----------------------------------------------
    @app.get("/ping", response_class=PlainTextResponse)
    @app.get("/health", response_class=PlainTextResponse)
    async def ping(request: Request) -> PlainTextResponse:
        """200 once the deployment answers (as MLflow's scoring server: 200 or 404)."""
        runtime: ServingRuntime = request.app.state.runtime
        return PlainTextResponse("\n", status_code=200 if runtime.ready else 503)

    @app.get("/version", response_class=PlainTextResponse)
    async def version() -> PlainTextResponse:
        return PlainTextResponse(__version__)

    @app.post("/invocations", summary="MLflow's scoring route (serving one deployment)")
    async def invocations() -> Response:
        """The fast path answers it when exactly one deployment is served."""
        raise NotFound(
            "/invocations scores when exactly one deployment is served here; "
            "use /v1/deployments/{name}/invocations"
        )

    return app
