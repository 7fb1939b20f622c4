"""The public API is exactly what ``modelyard.__all__`` lists, and every name there loads."""

from __future__ import annotations

import inspect
import subprocess
import sys

import modelyard
from modelyard.domain import errors

PINNED = {
    "__version__",
    "Client",
    "Settings",
    "verify_signature",
    # every error a caller can catch
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
    # the warning a caller can filter
    "ModelyardWarning",
    # what the client's methods return
    "AliasChange",
    "AuditEvent",
    "DoctorReport",
    "Model",
    "ModelVersion",
    "Page",
    "BatchTarget",
    "Deployment",
    "Revision",
    "DatasetVersion",
    "Alert",
    "AlertRule",
    "Evaluation",
    "Gates",
    "PromotionRequest",
    "ImportResult",
    "TrustedKey",
    "ExperimentRun",
    "IssuedToken",
    "Principal",
    "Token",
    "User",
    "CreatedWebhook",
    "Delivery",
    "Webhook",
}


def test_all_is_pinned() -> None:
    assert set(modelyard.__all__) == PINNED
    assert len(modelyard.__all__) == len(PINNED), "a name is listed twice"


def test_every_public_name_loads() -> None:
    for name in modelyard.__all__:
        assert getattr(modelyard, name) is not None, name


def test_every_error_class_is_public() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.ModelyardError)
    }
    assert classes <= set(modelyard.__all__), sorted(classes - set(modelyard.__all__))


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        modelyard.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as e:
        assert "NoSuchThing" in str(e)
    else:
        raise AssertionError("modelyard.NoSuchThing did not raise")


def test_importing_the_package_loads_nothing_else() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, modelyard\nprint(*sys.modules)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert [name for name in loaded if name.startswith("modelyard.")] == []
