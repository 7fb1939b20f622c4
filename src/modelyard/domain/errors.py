"""The one exception tree of modelyard.

Every error a caller can act on is a ``ModelyardError``; the CLI turns it into a one-line
message and exit code 1, the HTTP API into ``{"error": {"code", "message", "details"}}``
with the status below. Third-party errors are translated where they arise (``store/``,
``artifacts/``, ``flavors/``) so nothing above those layers sees them.

    ModelyardError                      (500 internal)
    ├── NotFound                        404 not_found
    ├── Conflict                        409 conflict
    │   ├── AlreadyExists               409 already_exists
    │   └── DependencyExists            409 has_dependents
    ├── InvalidInput                    400 invalid_input
    │   ├── InvalidName                 400 invalid_name
    │   ├── InvalidFilter               400 invalid_filter
    │   ├── InvalidPackage              400 invalid_package
    │   ├── InvalidData                 422 invalid_data  (scoring input vs the signature)
    │   ├── PayloadTooLarge             413 payload_too_large
    │   └── UnsupportedMediaType        415 unsupported_media_type
    ├── Unauthenticated                 401 unauthenticated
    ├── PermissionDenied                403 permission_denied
    ├── IntegrityFailure                500 integrity_failure  (stored data is not what it claims)
    ├── StorageUnavailable              503 storage_unavailable
    ├── Overloaded                      503 overloaded  (Retry-After: details.retry_after)
    ├── NotReady                        503 not_ready  (a deployment is still loading)
    ├── ModelTimeout                    504 model_timeout
    └── ModelFailed                     500 model_error  (the model raised; no trace leaves)
"""

from __future__ import annotations

from typing import Any


class ModelyardError(Exception):
    """Base of every error modelyard raises on purpose."""

    code = "internal"
    status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(ModelyardError):
    code = "not_found"
    status = 404


class Conflict(ModelyardError):
    code = "conflict"
    status = 409


class AlreadyExists(Conflict):
    code = "already_exists"


class DependencyExists(Conflict):
    """The subject is referenced by something that depends on it (an alias, a deployment...)."""

    code = "has_dependents"


class InvalidInput(ModelyardError):
    code = "invalid_input"
    status = 400


class InvalidName(InvalidInput):
    code = "invalid_name"


class InvalidFilter(InvalidInput):
    """A search filter that does not parse; ``details`` hold ``position`` and ``token``."""

    code = "invalid_filter"


class InvalidPackage(InvalidInput):
    code = "invalid_package"


class InvalidData(InvalidInput):
    """Scoring input that does not fit the model's signature; ``details`` name the field,
    the expected type and the row."""

    code = "invalid_data"
    status = 422


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"
    status = 415


class Unauthenticated(ModelyardError):
    """No credentials, or credentials that match no active token."""

    code = "unauthenticated"
    status = 401


class PermissionDenied(ModelyardError):
    code = "permission_denied"
    status = 403


class IntegrityFailure(ModelyardError):
    """Stored bytes or rows are not what their digest or references claim."""

    code = "integrity_failure"
    status = 500


class TooManyRequests(ModelyardError):
    """Too many failed authentications from one address: retry after
    ``details["retry_after"]`` seconds."""

    code = "too_many_requests"
    status = 429


class StorageUnavailable(ModelyardError):
    code = "storage_unavailable"
    status = 503


class Overloaded(ModelyardError):
    """The scoring queue is full: retry after ``details["retry_after"]`` seconds."""

    code = "overloaded"
    status = 503


class NotReady(ModelyardError):
    """A deployment's current revision is loading, or failed to load, in this worker."""

    code = "not_ready"
    status = 503


class ModelTimeout(ModelyardError):
    code = "model_timeout"
    status = 504


class ModelFailed(ModelyardError):
    """The model raised on input that passed its signature checks."""

    code = "model_error"
    status = 500


__all__ = [
    "AlreadyExists",
    "Conflict",
    "DependencyExists",
    "IntegrityFailure",
    "InvalidData",
    "InvalidFilter",
    "InvalidInput",
    "InvalidName",
    "InvalidPackage",
    "ModelFailed",
    "ModelTimeout",
    "ModelyardError",
    "NotFound",
    "NotReady",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "StorageUnavailable",
    "TooManyRequests",
    "Unauthenticated",
    "UnsupportedMediaType",
]


def describe(error: BaseException) -> str:
    """A third-party error as one line: ``TypeName: first line of its message``."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


class ModelyardWarning(UserWarning):
    """Something registered as asked that the user should know about (the CLI prints it
    as one ``warning:`` line; the SDK issues it with ``warnings.warn``)."""
