"""The scoring fast path: plain ASGI in front of FastAPI for the three scoring routes.

Scoring is the hot path: one row per request, thousands per second. Measured on 2 cores,
FastAPI's route matching, request objects and middleware took 30 % of a worker's GIL time
per scoring request. ``FastScoring`` matches the scoring paths with one regular expression
before the app's middleware stack runs (not as a middleware inside it: FastAPI puts its own
exception-telemetry and body-limit layers in front of every added middleware, 7 % of a
worker's CPU at 2,400 req/s), reads the body and hands it to the same ``DataPlane`` the
documented routes use; every other request (and the OpenAPI document) goes to FastAPI
unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.types import Message, Receive, Scope, Send

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


class FastScoring:
    """Mixed into the app's class ahead of ``FastAPI``: scoring requests are answered here,
    everything else by FastAPI. Exceptions cannot escape: ``DataPlane.handle`` answers each
    one."""

    state: Any

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await super().__call__(scope, receive, send)  # type: ignore[misc]
            return
        match = _ROUTE.match(scope["path"])
        plane: DataPlane | None = getattr(self.state, "dataplane", None)
        if match is None or plane is None:
            await super().__call__(scope, receive, send)  # type: ignore[misc]
            return
        name = match["v1"] or match["v2"]
        protocol = match["protocol"] or "v2"
        if match["root"]:  # ``modelyard serve`` of one deployment: MLflow's root route
            served = list(plane.runtime.access) if self.state.mlflow_root else []
            if len(served) != 1:
                await super().__call__(scope, receive, send)  # type: ignore[misc]
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
        query = scope.get("query_string", b"").decode("latin-1")
        await _send(send, await plane.handle(protocol, name, headers, read, address, query))


class ScoringApp(FastScoring, FastAPI):
    """A FastAPI app with scoring on the fast path."""


async def _send(send: Send, reply: Reply) -> None:
    raw: list[Any] = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
    raw.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": raw})
    await send({"type": "http.response.body", "body": reply.body})
