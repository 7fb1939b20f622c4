"""A tiny ASGI app for the supervisor's tests: it answers with its process id, and it
fails to start while the file named by ``FLAKY_MARKER`` exists."""

from __future__ import annotations

import os
from typing import Any


def create() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # startup
            if os.path.exists(os.environ["FLAKY_MARKER"]):
                await send({"type": "lifespan.startup.failed", "message": "marker present"})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()  # shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})

    return app
