"""The one error body, and the way back from its ``code`` to the exception class: an index
built from the exception tree itself, so a new error class needs no entry anywhere."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from modelyard.domain.errors import ModelyardError


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable error code, e.g. not_found.")
    message: str = Field(description="One line saying what is wrong.")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


def _subclasses(cls: type[ModelyardError]) -> list[type[ModelyardError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def error_class(code: str) -> type[ModelyardError]:
    """The class of the error an HTTP body's ``code`` names (the base for a code this
    version does not know, e.g. from a newer server)."""
    for cls in _subclasses(ModelyardError):
        if cls.__dict__.get("code") == code:
            return cls
    return ModelyardError


def invalid_body(problems: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """The one-line message and the details of a body that does not fit its shape (pydantic's
    ``errors()``): the API answers these with 422, the HTTP SDK raises them before sending."""
    found = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
        for e in problems
    ]
    first = found[0] if found else {"location": "request", "problem": "invalid"}
    return f"{first['location']}: {first['problem']}", found
