"""Scoring routes: translate a protocol, hand the rows to the runtime, render the answer.

Native ``/v1/deployments/{name}/predict`` (JSON or CSV), MLflow's ``/invocations`` and the
Open Inference Protocol V2 under ``/v2``. Every answer names the model version and a
request id (body where the protocol has room, and the ``modelyard-model-version`` and
``x-request-id`` headers always).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from modelyard.domain.errors import ModelyardError, PayloadTooLarge
from modelyard.serving import protocols
from modelyard.serving.runtime import VARIANT_HEADER, LiveDeployment, Scored, ServingRuntime

router = APIRouter(tags=["scoring"])
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
JSON = "application/json"

_TABULAR_BODY = {
    "required": True,
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "description": '{"inputs": [{column: value}, ...]} or '
                '{"dataframe_split": {"columns": [...], "data": [[...]]}}',
                "additionalProperties": True,
            }
        },
        "text/csv": {"schema": {"type": "string", "description": "a header row, then rows"}},
    },
}
_PREDICTION = {
    "description": "Predictions",
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "properties": {
                    "predictions": {"type": "array", "items": {}},
                    "probabilities": {"type": "array", "items": {"type": "array", "items": {}}},
                    "classes": {"type": "array", "items": {}},
                    "model_version": {"type": "string"},
                    "request_id": {"type": "string"},
                },
                "required": ["predictions", "model_version", "request_id"],
            }
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}
SCORING_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text}
    for code, text in {
        400: "Malformed request",
        401: "Missing or invalid key or token",
        403: "Not allowed to score here",
        404: "No such deployment",
        413: "Body too large",
        415: "Unsupported media type",
        422: "Input does not fit the model's signature",
        500: "The model failed",
        503: "Overloaded or not ready (Retry-After)",
        504: "The model timed out",
    }.items()
}


def runtime_of(request: Request) -> ServingRuntime:
    found: ServingRuntime = request.app.state.runtime
    return found


def secret_of(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def _body(request: Request, live: LiveDeployment) -> bytes:
    limit = live.options.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; this deployment takes {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


Handler = Callable[[LiveDeployment, bytes, str], Awaitable[Response]]


async def serve(request: Request, name: str, handle: Handler) -> Response:
    """Shared by every scoring route: auth, body limit, request id, metrics."""
    runtime = runtime_of(request)
    started = time.perf_counter()
    given = request.headers.get("x-request-id")
    request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
    request.state.request_id = request_id
    known = False
    try:
        live = await runtime.get(name)
        known = True
        await runtime.authorize(live, secret_of(request))
        response = await handle(live, await _body(request, live), request_id)
    except ModelyardError as e:
        # unknown names share one label: a caller cannot grow the metrics without bound
        label = name if known else "-"
        runtime.metrics.errors.labels(label, str(e.status), e.code).inc()
        e.details.setdefault("request_id", request_id)
        raise
    variant = response.headers.get("modelyard-variant", "")
    runtime.metrics.requests.labels(name, variant, str(response.status_code)).inc()
    runtime.metrics.latency.labels(name, variant).observe(time.perf_counter() - started)
    return response


def answer_headers(scored: Scored, request_id: str) -> dict[str, str]:
    return {
        "modelyard-model-version": scored.variant.name,
        VARIANT_HEADER: scored.variant.name,
        "x-request-id": request_id,
    }


@router.post(
    "/v1/deployments/{name}/predict",
    summary="Score rows (JSON records, dataframe_split, or CSV answered in CSV)",
    openapi_extra={"requestBody": _TABULAR_BODY},
    responses={200: _PREDICTION, **SCORING_ERRORS},
    response_class=Response,
)
async def predict(name: str, request: Request) -> Response:
    content_type = request.headers.get("content-type")
    pin = request.headers.get(VARIANT_HEADER)

    async def handle(live: LiveDeployment, body: bytes, request_id: str) -> Response:
        parsed = protocols.parse_native(body, content_type)
        scored = await runtime_of(request).score(live, parsed, pin)
        headers = answer_headers(scored, request_id)
        classes = scored.variant.scorer.classes
        if protocols.media_type(content_type) == "text/csv":
            content = protocols.csv_body(scored.output, classes)
            return Response(content, media_type="text/csv", headers=headers)
        content = protocols.native_body(scored.output, classes, scored.variant.name, request_id)
        return Response(content, media_type=JSON, headers=headers)

    return await serve(request, name, handle)


@router.post(
    "/v1/deployments/{name}/invocations",
    summary="Score rows with MLflow's scoring protocol",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "description": "one of dataframe_split, dataframe_records, "
                        "instances, inputs",
                        "additionalProperties": True,
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
    responses={
        200: {
            "description": "Predictions",
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "properties": {"predictions": {"type": "array", "items": {}}},
                        "required": ["predictions"],
                    }
                }
            },
        },
        **SCORING_ERRORS,
    },
    response_class=Response,
)
async def invocations(name: str, request: Request) -> Response:
    content_type = request.headers.get("content-type")
    pin = request.headers.get(VARIANT_HEADER)

    async def handle(live: LiveDeployment, body: bytes, request_id: str) -> Response:
        parsed = protocols.parse_mlflow(body, content_type)
        scored = await runtime_of(request).score(live, parsed, pin)
        content = protocols.mlflow_body(scored.output)
        return Response(content, media_type=JSON, headers=answer_headers(scored, request_id))

    return await serve(request, name, handle)
