"""One error body for every 4xx/5xx: ``{"error": {"code", "message", "details"}}``.

The ``ModelyardError`` tree maps to statuses here and nowhere else.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelyard.domain.errors import ModelyardError
from modelyard.wire.errors import invalid_body

log = logging.getLogger("modelyard.api")

QUIET = {"overloaded", "not_ready", "model_timeout"}  # load, not faults: counted in /metrics
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


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


def answer_error(exc: ModelyardError) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and canonical body of an error (logged when it is a fault). Every
    route answers errors through this, the scoring data plane included."""
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    if exc.status >= 500 and exc.code not in QUIET:
        log.error("%s: %s", exc.code, exc.message)
    return exc.status, headers, exc.to_dict()


async def _modelyard_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModelyardError)
    status, headers, body = answer_error(exc)
    return _json(status, body, headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message, problems = invalid_body(list(exc.errors()))
    return _json(422, error_body("invalid_input", message, {"problems": problems}))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return _json(exc.status_code, error_body(code, str(exc.detail)), getattr(exc, "headers", None))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return _json(500, error_body("internal", "internal server error"))


def install(app: FastAPI) -> None:
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
