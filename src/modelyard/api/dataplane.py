"""The scoring data plane: one request in (protocol, deployment, headers, body), one reply
out (status, headers, bytes). Transport-agnostic, as MLServer's ``DataPlane`` is: the
documented FastAPI routes (``api/scoring.py``, ``api/v2.py``) and the ASGI fast path
(``api/fastpath.py``) both call it, so the two can never answer differently.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from modelyard.api.brake import Brake
from modelyard.api.errors import answer_error
from modelyard.domain.errors import InvalidInput, ModelyardError, PayloadTooLarge, Unauthenticated
from modelyard.monitoring.collector import Collector
from modelyard.monitoring.lake import Lake
from modelyard.runtimes.explain import explain_count
from modelyard.serving import protocols, v2
from modelyard.serving.live import VARIANT_HEADER, LiveDeployment, LiveVariant
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.runtime import Backend, ServingRuntime
from modelyard.settings import Settings

log = logging.getLogger("modelyard.api")
PROTOCOLS = ("predict", "invocations", "v2")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
JSON = "application/json"
#: The OpenAPI schema of one value in a scoring answer: a label, a number or nothing.
SCALAR_SCHEMA = {
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]
}

ReadBody = Callable[[int], Awaitable[bytes]]  # reads the body, refusing more than n bytes


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def error_reply(
    exc: ModelyardError, extra: list[tuple[str, str]] | None = None, *, v2_shape: bool = False
) -> Reply:
    """The error exactly as ``api/errors.py`` answers it on every other route (on the V2
    routes in the protocol's own shape, ``{"error": "<message>"}``)."""
    status, headers, body = answer_error(exc, v2_shape=v2_shape)
    return Reply(
        status, [("content-type", JSON), *(extra or []), *headers.items()], orjson.dumps(body)
    )


def bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, secret = value.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else None


@contextlib.asynccontextmanager
async def running(
    app: Any,
    backend: Backend,
    metrics: ServingMetrics,
    settings: Settings,
    collected: Lake,
    snapshot: Path,
) -> AsyncIterator[ServingRuntime]:
    """Run the scoring runtime of an app's worker (its collector, its runtime, its data
    plane) for the life of the block; a graceful stop writes every collected row."""
    collector = Collector(
        collected,
        on_drop=lambda deployment, rows: metrics.collection_dropped.labels(deployment).inc(rows),
    )
    collector.start()
    runtime = ServingRuntime(
        backend,
        metrics,
        poll_seconds=settings.poll_seconds,
        collector=collector,
        snapshot=snapshot,
    )
    app.state.runtime = runtime
    app.state.dataplane = DataPlane(runtime, app.state.brake)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
        await collector.stop()


def _explain_asked(protocol: str, query: str) -> int:
    """The ``explain`` of a query string: top factors are answered by the native protocol."""
    if "explain" not in query:
        return 0
    from urllib.parse import parse_qs

    given = parse_qs(query).get("explain")
    if not given:
        return 0
    if protocol != "predict":
        raise InvalidInput("explain: top factors are answered by /v1/deployments/NAME/predict")
    return explain_count(given[-1])


class DataPlane:
    def __init__(self, runtime: ServingRuntime, brake: Brake) -> None:
        self.runtime = runtime
        self.metrics = runtime.metrics
        self.brake = brake

    async def handle(
        self,
        protocol: str,
        name: str,
        headers: Mapping[str, str],
        read_body: ReadBody,
        client: str | None = None,
        query: str = "",
    ) -> Reply:
        """Auth, body limit, parse, score, render, count. Never raises a ModelyardError.
        ``query``: the URL's query string (``explain=N`` on the native protocol)."""
        started = time.perf_counter()
        given = headers.get("x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else os.urandom(16).hex()
        id_header = [("x-request-id", request_id)]
        known = False
        try:
            live = await self.open(name, bearer(headers.get("authorization")), client)
            known = True
            declared = headers.get("content-length")
            limit = live.options.max_body_bytes
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise PayloadTooLarge(
                    f"the body is {declared} bytes; this deployment takes {limit}"
                )
            body = await read_body(limit)
            explain = _explain_asked(protocol, query)
            reply, variant = await self._score(protocol, live, headers, body, request_id, explain)
        except ModelyardError as e:
            # unknown names share one label: a caller cannot grow the metrics without bound
            self.metrics.errors.labels(name if known else "-", str(e.status), e.code).inc()
            e.details.setdefault("request_id", request_id)
            return error_reply(e, id_header, v2_shape=protocol == "v2")
        except Exception:  # a fault of ours: logged, counted and answered like any error
            log.exception("scoring request %s for %r failed", request_id, name)
            fault = ModelyardError("internal server error")  # code "internal", status 500
            self.metrics.errors.labels(name if known else "-", "500", fault.code).inc()
            return error_reply(fault, id_header, v2_shape=protocol == "v2")
        variant.series.answered.inc()
        variant.series.latency.observe(time.perf_counter() - started)
        return reply

    async def open(self, name: str, secret: str | None, client: str | None) -> LiveDeployment:
        """Deployment ``name`` for a caller whose credentials allow it, checked first
        (unless its address has failed too often: ``Brake``); every route of the data plane
        starts here."""
        if self.runtime.services.auth_enabled:
            self.brake.check(client)
            try:
                await self.runtime.authorize(name, secret)
            except Unauthenticated:
                self.brake.failed(client)
                raise
        return await self.runtime.get(name)

    async def _score(
        self,
        protocol: str,
        live: LiveDeployment,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str,
        explain: int = 0,
    ) -> tuple[Reply, LiveVariant]:
        content_type = headers.get("content-type")
        pin = headers.get(VARIANT_HEADER)
        tensors: v2.Request | None = None
        if protocol == "predict":
            parsed = protocols.parse_native(body, content_type, explain)
        elif protocol == "invocations":
            parsed = protocols.parse_mlflow(body, content_type)
        elif protocol == "v2":
            tensors = v2.parse(body, headers.get(v2.HEADER_LENGTH))
            parsed = tensors.parsed
        else:
            raise InvalidInput(f"unknown scoring protocol {protocol!r}")
        scored = await self.runtime.score(live, parsed, pin, request_id)
        variant = scored.variant.name
        out = [
            ("modelyard-model-version", variant),
            (VARIANT_HEADER, variant),
            ("x-request-id", request_id),
        ]
        output, classes, keys = scored.output, scored.variant.model.classes, scored.keys
        if protocol == "predict" and protocols.media_type(content_type) == "text/csv":
            content = protocols.csv_body(output, classes, keys)
            csv = [("content-type", "text/csv; charset=utf-8"), *out]
            return Reply(200, csv, content), scored.variant
        if protocol == "predict":
            content = protocols.native_body(
                output, classes, variant, request_id, keys, parsed.columns
            )
        elif protocol == "invocations":
            content = protocols.mlflow_body(output, keys)
        else:
            assert tensors is not None
            content, extra = v2.body(
                output,
                tensors,
                model_name=live.name,
                model_version=variant,
                request_id=tensors.id or request_id,
                keys=keys,
            )
            kind = "application/octet-stream" if extra else JSON
            return Reply(200, [("content-type", kind), *extra, *out], content), scored.variant
        return Reply(200, [("content-type", JSON), *out], content), scored.variant
