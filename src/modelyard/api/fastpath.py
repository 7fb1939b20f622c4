"""The scoring fast path: plain ASGI in front of FastAPI for the three scoring routes.

Scoring is the hot path: one row per request, thousands per second. Measured on 2 cores,
FastAPI's route matching, request objects and middleware took 30 % of a worker's GIL time
per scoring request. This layer matches the scoring paths with one regular expression,
reads the body and hands it to the same ``DataPlane`` the documented routes use; every
other request (and the OpenAPI document) goes to FastAPI unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelyard.api.dataplane import DataPlane, Reply
from modelyard.domain.errors import InvalidInput, PayloadTooLarge

_ROUTE = re.compile(
    r"^(?:/v1/deployments/(?P<v1>[^/]+)/(?P<protocol>predict|invocations)"
    r"|/v2/models/(?P<v2>[^/]+)/infer|/(?P<root>invocations))/?$"
)
#: FastAPI's OpenTelemetry hooks, off in both apps: modelyard's metrics are Prometheus
#: (``/metrics``), and with no OpenTelemetry provider configured the hooks only look at the
#: process's environment on every request (measured: 5 % of a worker's CPU at 2,400 req/s).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
_WANTED = {
    b"authorization",
    b"content-type",
    b"content-length",
    b"x-request-id",
    b"modelyard-variant",
    b"inference-header-content-length",  # the V2 binary tensor extension
}


class ScoringFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _ROUTE.match(scope["path"])
        plane: DataPlane | None = getattr(scope["app"].state, "dataplane", None)
        if match is None or plane is None:
            await self.app(scope, receive, send)
            return
        name = match["v1"] or match["v2"]
        protocol = match["protocol"] or "v2"
        if match["root"]:  # ``modelyard serve`` of one deployment: MLflow's root route
            served = list(plane.runtime.access) if scope["app"].state.mlflow_root else []
            if len(served) != 1:
                await self.app(scope, receive, send)
                return
            name, protocol = served[0], "invocations"
        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _WANTED
        }

        async def read(limit: int) -> bytes:
            chunks: list[bytes] = []
            size = 0
            while True:
                message: Message = await receive()
                if message["type"] == "http.disconnect":
                    raise InvalidInput("the client went away before sending the whole body")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the body exceeds {limit} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)

        client = scope.get("client")
        address = client[0] if client else None
        await _send(send, await plane.handle(protocol, name, headers, read, address))


async def _send(send: Send, reply: Reply) -> None:
    raw: list[Any] = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
    raw.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": raw})
    await send({"type": "http.response.body", "body": reply.body})
