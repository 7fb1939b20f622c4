"""modelyard: a self-hosted ML model lifecycle manager."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.client import Client
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

_HOMES = (  # the module of each public name but the errors (``modelyard.domain.errors``)
    ("modelyard.client", ("Client",)),
    ("modelyard.settings", ("Settings",)),
    ("modelyard.domain.webhooks", ("verify_signature",)),
    ("modelyard.domain.entities", ("AliasChange", "AuditEvent", "Model", "ModelVersion", "Page")),
)


def __getattr__(name: str) -> Any:
    """Load a public name on first use, so the CLI's entry point runs before anything heavy."""
    if name not in __all__:
        raise AttributeError(f"module 'modelyard' has no attribute {name!r}")
    home = next((module for module, names in _HOMES if name in names), "modelyard.domain.errors")
    return getattr(importlib.import_module(home), name)
