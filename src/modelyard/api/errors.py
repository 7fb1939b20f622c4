"""One error body for every 4xx/5xx: ``{"error": {"code", "message", "details"}}``, but on
the Open Inference Protocol routes (``/v2/...``), whose clients (tritonclient, KServe's)
read the protocol's own ``{"error": "<message>"}``.

The ``ModelyardError`` tree maps to statuses here and nowhere else.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from modelyard.domain.errors import ModelyardError
from modelyard.wire.errors import invalid_body

log = logging.getLogger("modelyard.api")
V2_PREFIX = "/v2/"

# load, not faults (counted in /metrics), and an outage (logged once when it starts and ends)
QUIET = {"overloaded", "not_ready", "model_timeout", "storage_unavailable"}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


def too_large(scope: Scope) -> str:
    """The message of a body past its route's ``max_body_size``."""
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    return f"the body exceeds this route's limit of {limit} bytes" if limit else "body too large"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


def v2_body(body: dict[str, Any]) -> dict[str, Any]:
    """The canonical error body in the V2 protocol's shape."""
    return {"error": body["error"]["message"]}


def _shaped(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return v2_body(body) if request.url.path.startswith(V2_PREFIX) else body


def answer_error(
    exc: ModelyardError, *, v2_shape: bool = False
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and body of an error (logged when it is a fault). Every route
    answers errors through this, the scoring data plane included."""
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    if exc.status >= 500 and exc.code not in QUIET:
        log.error("%s: %s", exc.code, exc.message)
    body = exc.to_dict()
    return exc.status, headers, v2_body(body) if v2_shape else body


async def _modelyard_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModelyardError)
    status, headers, body = answer_error(exc)
    return _json(status, _shaped(request, body), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message, problems = invalid_body(list(exc.errors()))
    body = error_body("invalid_input", message, {"problems": problems})
    return _json(422, _shaped(request, body))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = str(exc.detail)
    if exc.status_code == 413:  # a route's max_body_size
        message = too_large(request.scope)
    body = _shaped(request, error_body(code, message))
    return _json(exc.status_code, body, getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return _json(500, _shaped(request, error_body("internal", "internal server error")))


async def _gone(request: Request, exc: Exception) -> Response:
    """The client went away (or was closed for sending too slowly) before its body was
    whole: nobody reads the answer, and it is no fault of ours to log."""
    return Response(status_code=400)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _gone)
    app.add_exception_handler(ModelyardError, _modelyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": None, "description": code.replace("_", " ")}
    for status, code in (
        (400, "invalid_input"),
        (401, "unauthenticated"),
        (403, "permission_denied"),
        (404, "not_found"),
        (409, "conflict"),
        (422, "invalid_input"),
    )
}
