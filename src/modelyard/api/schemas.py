"""What the routes share besides the wire shapes (``modelyard.wire`` and the domain
entities): the error responses each route declares, the body of a raw-bytes route, and the
health answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from modelyard.wire.errors import ErrorBody

#: The OpenAPI request body of a route that takes raw bytes (an upload, a bundle).
BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "required": True,
    }
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": "error"} for s in statuses}


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
