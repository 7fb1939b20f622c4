"""Scoring routes: translate a protocol, hand the rows to the runtime, render the answer.

Native ``/v1/deployments/{name}/predict`` (JSON or CSV), MLflow's ``/invocations`` and the
Open Inference Protocol V2 under ``/v2``. Every answer names the model version and a
request id (body where the protocol has room, and the ``modelyard-model-version`` and
``x-request-id`` headers always).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from modelyard.api.dataplane import JSON, SCALAR_SCHEMA, DataPlane, bearer
from modelyard.api.limits import UNBOUNDED
from modelyard.domain.auth import SYSTEM
from modelyard.domain.errors import InvalidInput, PayloadTooLarge
from modelyard.serving.runtime import ServingRuntime

router = APIRouter(tags=["scoring"], max_body_size=UNBOUNDED)  # per deployment, after auth
#: Ground truth goes to the server's monitoring: ``modelyard serve`` has no such route.
feedback_router = APIRouter(tags=["scoring"])

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
                    "predictions": {"type": "array", "items": SCALAR_SCHEMA},
                    "probabilities": {
                        "type": "array",
                        "items": {"type": "array", "items": {"type": "number"}},
                    },
                    "classes": {"type": "array", "items": SCALAR_SCHEMA},
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
    return bearer(request.headers.get("authorization"))


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


async def reply_to(request: Request, protocol: str, name: str) -> Response:
    """Hand the request to the data plane (the ASGI fast path usually answers first)."""

    async def read(limit: int) -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body exceeds {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    plane: DataPlane = request.app.state.dataplane
    reply = await plane.handle(
        protocol, name, request.headers, read, client_of(request), request.url.query
    )
    return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))


@router.post(
    "/v1/deployments/{name}/predict",
    summary="Score rows (JSON records, dataframe_split, or CSV answered in CSV)",
    openapi_extra={"requestBody": _TABULAR_BODY},
    responses={200: _PREDICTION, **SCORING_ERRORS},
    response_class=Response,
)
async def predict(name: str, request: Request) -> Response:
    return await reply_to(request, "predict", name)


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
                        "properties": {"predictions": {"type": "array", "items": SCALAR_SCHEMA}},
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
    return await reply_to(request, "invocations", name)


FEEDBACK_LIMIT = 64 << 20


@feedback_router.post(
    "/v1/deployments/{name}/feedback",
    max_body_size=FEEDBACK_LIMIT,
    summary="Send ground truth for scored rows, joined by request id, or outcomes by key",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "description": "{request_id, actual, row?}; with ?key=K: "
                            "{K: value, actual, observed_at?}",
                            "properties": {
                                "request_id": {"type": "string"},
                                "row": {"type": "integer", "minimum": 0},
                                "actual": {},
                                "observed_at": {"type": "string", "format": "date-time"},
                            },
                            "required": ["actual"],
                            "additionalProperties": True,
                        },
                    }
                }
            },
        }
    },
    responses={
        200: {
            "description": "Accepted",
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "accepted": {"type": "integer"},
                            "unknown": {"type": "integer"},
                            "unknown_keys": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["accepted", "unknown", "unknown_keys"],
                    }
                }
            },
        },
        **{k: v for k, v in SCORING_ERRORS.items() if k in (400, 401, 403, 404, 413)},
    },
    response_class=Response,
)
async def feedback(
    name: str,
    request: Request,
    key: Annotated[
        str | None,
        Query(max_length=128, description="outcomes by this key column of the deployment"),
    ] = None,
) -> Response:
    """``[{"request_id": "...", "actual": "late", "row": 0}]``: ``row`` is the row's position
    in its scoring request (default 0). With ``?key=invoice_id``: outcomes by key,
    ``[{"invoice_id": "...", "actual": "late", "observed_at": "2026-12-01T00:00:00Z"}]``,
    each labelling the latest live prediction of its key made before it was observed;
    ``unknown`` counts the outcomes no such prediction had (not stored). Authorised like
    scoring: a scoring key of the deployment, or a token allowed to score in its
    environment."""
    plane: DataPlane = request.app.state.dataplane
    live = await plane.open(name, secret_of(request), client_of(request))
    body = await request.body()  # at most FEEDBACK_LIMIT bytes (413 past it)
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput(
            "the body is not valid JSON: expected a list of {request_id, actual}"
        ) from None
    # the scoring key or token was checked above, as for scoring
    monitoring = request.app.state.services.bind(SYSTEM).monitoring
    result = await run_in_threadpool(monitoring.record_feedback, live.name, items, key=key)
    return Response(orjson.dumps(result), media_type=JSON)
