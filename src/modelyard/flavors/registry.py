"""The registry of flavors, keyed by name. Built-ins register the way a third party would."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from modelyard.domain.errors import InvalidInput, InvalidPackage
from modelyard.flavors.base import Flavor

_FLAVORS: dict[str, Flavor] = {}
# Built-in flavor name -> module. Imported on first use only: a server that only stores
# packages never pays for numpy, pandas or onnxruntime.
_BUILTINS = {
    "sklearn": "modelyard.flavors.sklearn",
    "xgboost": "modelyard.flavors.xgboost",
    "lightgbm": "modelyard.flavors.lightgbm",
    "onnx": "modelyard.flavors.onnx",
    "python": "modelyard.flavors.python",
}
_loaded = False


def register_flavor(flavor: Flavor) -> None:
    _FLAVORS[flavor.name] = flavor


def _ensure_builtins() -> None:
    global _loaded  # noqa: PLW0603 - the registry is filled once, lazily, on first use
    if _loaded:
        return
    for module in _BUILTINS.values():
        importlib.import_module(module).register()
    _loaded = True


def check_flavor(name: str) -> None:
    """Refuse an unknown flavor name without importing any flavor's module."""
    if name not in _BUILTINS and name not in _FLAVORS:
        known = ", ".join(sorted({*_BUILTINS, *_FLAVORS}))
        raise InvalidPackage(f"unknown flavor {name!r}: known flavors are {known}")


def get_flavor(name: str) -> Flavor:
    check_flavor(name)
    if name not in _FLAVORS:
        importlib.import_module(_BUILTINS[name]).register()
    return _FLAVORS[name]


def flavor_names() -> list[str]:
    _ensure_builtins()
    return sorted(_FLAVORS)


def flavor_for_object(obj: Any) -> Flavor:
    _ensure_builtins()
    # Most specific first: framework flavors before the generic scikit-learn one.
    for name in ("xgboost", "lightgbm", "onnx", "sklearn", *sorted(_FLAVORS)):
        flavor = _FLAVORS.get(name)
        if flavor is not None and flavor.accepts_object(obj):
            return flavor
    raise InvalidInput(
        f"cannot register a {type(obj).__module__}.{type(obj).__qualname__}: no flavor "
        f"accepts it (known: {', '.join(sorted(_FLAVORS))})"
    )


def flavor_for_file(path: Path) -> Flavor:
    _ensure_builtins()
    for flavor in _FLAVORS.values():
        if path.suffix.lower() in flavor.file_suffixes and flavor.accepts_file(path):
            return flavor
    suffixes = sorted({s for f in _FLAVORS.values() for s in f.file_suffixes})
    raise InvalidPackage(
        f"{path.name}: not a model file modelyard can read (expected one of {', '.join(suffixes)}, "
        "a package folder with modelyard.yaml, or an MLflow model folder with MLmodel)"
    )
