"""The flavors an installation knows, as an instance owned by whoever builds packages.

Every flavor, built-in or third party, comes from the entry point group
``modelyard.flavors`` (``name = "module:Class"``; the class takes no arguments). A flavor's
module is imported on first use only: a server that only stores packages never pays for
numpy, pandas or onnxruntime. ``add`` plugs one in directly (tests, notebooks).
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from modelyard.domain.errors import InvalidInput, InvalidPackage
from modelyard.flavors.base import Flavor

GROUP = "modelyard.flavors"
#: Most specific first when an in-memory object is matched: the framework flavors before
#: the generic scikit-learn one (an XGBClassifier is also a scikit-learn estimator).
PREFERENCE = ("xgboost", "lightgbm", "onnx", "sklearn")


class Flavors:
    def __init__(self, entry_points_group: str = GROUP) -> None:
        self._group = entry_points_group
        self._points: dict[str, EntryPoint] | None = None
        self._loaded: dict[str, Flavor] = {}

    def _entry_points(self) -> dict[str, EntryPoint]:
        if self._points is None:
            self._points = {ep.name: ep for ep in entry_points(group=self._group)}
        return self._points

    @classmethod
    def from_points(cls, points: dict[str, str]) -> Flavors:
        """The flavors named by entry points given as text (``name -> "module:Class"``):
        another environment's, where modelyard is not installed."""
        flavors = cls()
        flavors._points = {n: EntryPoint(n, value, GROUP) for n, value in points.items()}
        return flavors

    def entry_points(self) -> dict[str, str]:
        """Each flavor's entry point as text, for ``from_points``."""
        return {name: point.value for name, point in self._entry_points().items()}

    def add(self, flavor: Flavor) -> None:
        """Plug a flavor in without an entry point."""
        self._loaded[flavor.name] = flavor

    def names(self) -> list[str]:
        return sorted({*self._entry_points(), *self._loaded})

    def check(self, name: str) -> None:
        """Refuse an unknown flavor name without importing any flavor's module."""
        if name not in self._loaded and name not in self._entry_points():
            raise InvalidPackage(
                f"unknown flavor {name!r}: known flavors are {', '.join(self.names())}"
            )

    def get(self, name: str) -> Flavor:
        self.check(name)
        found = self._loaded.get(name)
        if found is None:
            found = self._loaded[name] = self._entry_points()[name].load()()
            bind = getattr(found, "bind_flavors", None)
            if callable(bind):  # a flavor that loads other packages (an ensemble's members)
                bind(self)
        return found

    def _all(self) -> list[Flavor]:
        order = [n for n in PREFERENCE if n in self.names()]
        return [self.get(n) for n in [*order, *(n for n in self.names() if n not in order)]]

    def for_object(self, obj: Any) -> Flavor:
        for flavor in self._all():
            if flavor.accepts_object(obj):
                return flavor
        raise InvalidInput(
            f"cannot register a {type(obj).__module__}.{type(obj).__qualname__}: no flavor "
            f"accepts it (known: {', '.join(self.names())})"
        )

    def for_file(self, path: Path) -> Flavor:
        flavors = self._all()
        for flavor in flavors:
            if path.suffix.lower() in flavor.file_suffixes and flavor.accepts_file(path):
                return flavor
        suffixes = sorted({s for f in flavors for s in f.file_suffixes})
        raise InvalidPackage(
            f"{path.name}: not a model file modelyard can read (expected one of "
            f"{', '.join(suffixes)}, a package folder with modelyard.yaml, or an MLflow model "
            "folder with MLmodel)"
        )
