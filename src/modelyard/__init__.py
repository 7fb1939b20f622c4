"""modelyard: a self-hosted ML model lifecycle manager.

The public API is what ``__all__`` lists. Names load on first use, so ``import modelyard``
(and the CLI that imports it) starts at once.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_PUBLIC = MappingProxyType(
    {
        "Client": "modelyard.sdk.client",
        "Settings": "modelyard.settings",
        "verify_signature": "modelyard.domain.webhooks",
        **dict.fromkeys(
            (
                "ModelyardError",
                "NotFound",
                "Conflict",
                "AlreadyExists",
                "DependencyExists",
                "InvalidInput",
                "InvalidName",
                "InvalidFilter",
                "InvalidPackage",
                "InvalidData",
                "PayloadTooLarge",
                "UnsupportedMediaType",
                "Unauthenticated",
                "PermissionDenied",
                "IntegrityFailure",
                "StorageUnavailable",
                "TooManyRequests",
                "Overloaded",
                "NotReady",
                "ModelTimeout",
                "ModelFailed",
                "ModelyardWarning",
            ),
            "modelyard.domain.errors",
        ),
        **dict.fromkeys(
            ("AliasChange", "AuditEvent", "DoctorReport", "Model", "ModelVersion", "Page"),
            "modelyard.domain.entities",
        ),
        **dict.fromkeys(("BatchTarget", "Deployment", "Revision"), "modelyard.domain.deployments"),
        "DatasetVersion": "modelyard.domain.datasets",
        **dict.fromkeys(("Alert", "AlertRule"), "modelyard.domain.monitoring"),
        **dict.fromkeys(("Evaluation", "Gates", "PromotionRequest"), "modelyard.domain.promotions"),
        **dict.fromkeys(("ImportResult", "TrustedKey"), "modelyard.domain.bundles"),
        "ExperimentRun": "modelyard.domain.experiments",
        **dict.fromkeys(("IssuedToken", "Principal", "Token", "User"), "modelyard.domain.auth"),
        **dict.fromkeys(("CreatedWebhook", "Delivery", "Webhook"), "modelyard.domain.webhooks"),
    }
)

__all__ = [
    "Alert",
    "AlertRule",
    "AliasChange",
    "AlreadyExists",
    "AuditEvent",
    "BatchTarget",
    "Client",
    "Conflict",
    "CreatedWebhook",
    "DatasetVersion",
    "Delivery",
    "DependencyExists",
    "Deployment",
    "DoctorReport",
    "Evaluation",
    "ExperimentRun",
    "Gates",
    "ImportResult",
    "IntegrityFailure",
    "InvalidData",
    "InvalidFilter",
    "InvalidInput",
    "InvalidName",
    "InvalidPackage",
    "IssuedToken",
    "Model",
    "ModelFailed",
    "ModelTimeout",
    "ModelVersion",
    "ModelyardError",
    "ModelyardWarning",
    "NotFound",
    "NotReady",
    "Overloaded",
    "Page",
    "PayloadTooLarge",
    "PermissionDenied",
    "Principal",
    "PromotionRequest",
    "Revision",
    "Settings",
    "StorageUnavailable",
    "Token",
    "TooManyRequests",
    "TrustedKey",
    "Unauthenticated",
    "UnsupportedMediaType",
    "User",
    "Webhook",
    "__version__",
    "verify_signature",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'modelyard' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:
    from modelyard.domain.auth import IssuedToken, Principal, Token, User
    from modelyard.domain.bundles import ImportResult, TrustedKey
    from modelyard.domain.datasets import DatasetVersion
    from modelyard.domain.deployments import BatchTarget, Deployment, Revision
    from modelyard.domain.entities import (
        AliasChange,
        AuditEvent,
        DoctorReport,
        Model,
        ModelVersion,
        Page,
    )
    from modelyard.domain.errors import (
        AlreadyExists,
        Conflict,
        DependencyExists,
        IntegrityFailure,
        InvalidData,
        InvalidFilter,
        InvalidInput,
        InvalidName,
        InvalidPackage,
        ModelFailed,
        ModelTimeout,
        ModelyardError,
        ModelyardWarning,
        NotFound,
        NotReady,
        Overloaded,
        PayloadTooLarge,
        PermissionDenied,
        StorageUnavailable,
        TooManyRequests,
        Unauthenticated,
        UnsupportedMediaType,
    )
    from modelyard.domain.experiments import ExperimentRun
    from modelyard.domain.monitoring import Alert, AlertRule
    from modelyard.domain.promotions import Evaluation, Gates, PromotionRequest
    from modelyard.domain.webhooks import CreatedWebhook, Delivery, Webhook, verify_signature
    from modelyard.sdk.client import Client
    from modelyard.settings import Settings
