"""``create_app(settings)``: the FastAPI app with its services, opened and closed in the
lifespan. Nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from modelyard import __version__
from modelyard.api import errors, models, packages, system, users, webhooks
from modelyard.services.container import Services
from modelyard.services.dispatcher import WebhookDispatcher
from modelyard.settings import Settings

log = logging.getLogger("modelyard.server")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.open(settings)
        app.state.services = services
        dispatcher = WebhookDispatcher(services.db)  # one per worker: rows are claimed
        dispatcher.start()
        try:
            yield
        finally:
            dispatcher.stop()
            services.close()

    app = FastAPI(
        title="modelyard",
        version=__version__,
        description="Control plane of modelyard: models, versions, aliases, search, audit, "
        'users and tokens. Errors: {"error": {"code", "message", "details"}}.',
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(system.router)
    app.include_router(models.router)
    app.include_router(packages.router)
    app.include_router(users.router)
    app.include_router(webhooks.router)
    return app
