"""``create_app(settings)``: the FastAPI app with its services, opened and closed in the
lifespan. Nothing happens at import time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from modelyard import __version__
from modelyard.api import (
    bundles,
    datasets,
    deployments,
    edge,
    errors,
    home,
    jobs,
    models,
    monitoring,
    packages,
    promotions,
    schemas,
    scoring,
    system,
    users,
    v2,
    webhooks,
)
from modelyard.api.brake import Brake
from modelyard.api.dataplane import bearer, running
from modelyard.api.deps import identify
from modelyard.api.fastpath import NO_TELEMETRY, ScoringApp
from modelyard.api.limits import UNBOUNDED, BodyGuard
from modelyard.services.alerts import SCHEDULER, evaluate_and_log
from modelyard.services.container import Services
from modelyard.services.dispatcher import WebhookDispatcher
from modelyard.services.egress import Egress
from modelyard.services.periodic import Periodic
from modelyard.serving.metrics import ServingMetrics
from modelyard.settings import Settings
from modelyard.web import STATIC, Pages

log = logging.getLogger("modelyard.server")


async def _match_every_route(app: FastAPI) -> None:
    """FastAPI prepares a route (its parameter and body models) the first time a request
    is matched against it: the first request to a late route (``/metrics``) prepared
    every route before it, 0.5 s on the event loop while other requests waited. A request
    that matches nothing prepares them all, before the server takes its first call."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/.prepare",
        "raw_path": b"/.prepare",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }  # without "app", the router answers its 404 instead of raising it

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        return None

    await app.router(scope, receive, send)


def create_app(settings: Settings | None = None, *, prepare: bool = False) -> FastAPI:
    """The server's app. ``prepare``: prepare every route as it starts
    (``_match_every_route``), as ``modelyard server`` does; an app a test or another host
    builds prepares each route when a request first reaches it."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.open(settings, database_may_be_away=True, server=True)
        app.state.services = services
        if prepare:
            await _match_every_route(app)
        dispatcher = WebhookDispatcher(  # one per worker: rows are claimed
            services.store, egress=Egress.from_text(settings.webhook_allow)
        )
        dispatcher.start()
        scheduler = services.bind(SCHEDULER)
        periodic = (
            Periodic(
                "modelyard-alerts",
                lambda: evaluate_and_log(scheduler.alerts),
                settings.alert_seconds,
            ),
            Periodic("modelyard-jobs", scheduler.jobs.run_due, settings.job_seconds),
        )
        for task in periodic:
            task.start()
        try:
            snapshot = settings.resolved_home / "serving" / "deployments.json"
            async with running(app, services, metrics, settings, services.collected, snapshot):
                yield
        finally:
            for task in periodic:
                task.stop()
            dispatcher.stop()
            # off the loop: a model worker still starting waits for the loop to read its hello
            await asyncio.to_thread(services.close)

    metrics = ServingMetrics()

    app = FastAPIOffline(  # /docs and /redoc load their scripts from here, not from a CDN
        static_url="/docs/static",
        title="modelyard",
        version=__version__,
        description="modelyard: the control plane under /api/v1 (models, versions, aliases, "
        "search, audit, users, tokens, webhooks, deployments) and scoring under "
        "/v1/deployments and /v2 (Open Inference Protocol). "
        'Errors: {"error": {"code", "message", "details"}}.',
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
    )
    # FastAPIOffline is a function that builds a plain FastAPI: give that app the fast path
    app.__class__ = ScoringApp
    app.state.brake = Brake(settings.auth_failures_per_minute)
    app.state.pages = Pages()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.mlflow_root = False  # the server answers /invocations per deployment only
    errors.install(app)
    app.add_middleware(BodyGuard)
    control_plane = (system, home, models, packages, users, webhooks, deployments, datasets)
    for module in (*control_plane, monitoring, jobs, promotions, bundles):
        # a route that bounds its own body (an upload) says so and takes precedence
        app.include_router(module.router, max_body_size=settings.max_body_bytes)
    app.include_router(edge.router, max_body_size=settings.max_body_bytes)
    app.include_router(scoring.router)
    app.include_router(scoring.feedback_router, max_body_size=UNBOUNDED)
    app.include_router(v2.router)

    @app.get(
        "/metrics",
        tags=["system"],
        summary="Prometheus metrics of this worker",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **schemas.errors(401, 429),
        },
    )
    async def prometheus(request: Request) -> Response:  # off the thread pool, always
        """Any user's token (or the landing page's cookie) unless MODELYARD_PUBLIC_METRICS:
        the series name deployments and model versions."""
        from prometheus_client import CONTENT_TYPE_LATEST

        if not settings.public_metrics:
            secret = bearer(request.headers.get("authorization"))
            await identify(request, secret or request.cookies.get(home.COOKIE))

        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return app
