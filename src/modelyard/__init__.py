"""modelyard: a self-hosted ML model lifecycle manager."""

from modelyard.domain.entities import AliasChange, AuditEvent, Model, ModelVersion, Page
from modelyard.domain.errors import (
    AlreadyExists,
    Conflict,
    DependencyExists,
    IntegrityFailure,
    InvalidFilter,
    InvalidInput,
    InvalidName,
    InvalidPackage,
    ModelyardError,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
    Unauthenticated,
)
from modelyard.domain.webhooks import verify_signature
from modelyard.sdk.client import Client
from modelyard.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "AliasChange",
    "AlreadyExists",
    "AuditEvent",
    "Client",
    "Conflict",
    "DependencyExists",
    "IntegrityFailure",
    "InvalidFilter",
    "InvalidInput",
    "InvalidName",
    "InvalidPackage",
    "Model",
    "ModelVersion",
    "ModelyardError",
    "NotFound",
    "Page",
    "PermissionDenied",
    "Settings",
    "StorageUnavailable",
    "Unauthenticated",
    "__version__",
    "verify_signature",
]
