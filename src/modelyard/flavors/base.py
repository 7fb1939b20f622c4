"""What a flavor is: how one framework's models are saved into, and loaded from, a package."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Saved:
    """What a flavor wrote into a package folder."""

    entrypoint: str  # the main file, relative to the package folder
    options: dict[str, Any] = field(default_factory=dict)  # flavor-specific, JSON-able
    requirements: tuple[str, ...] = ()  # already pinned (an MLflow folder's requirements.txt)
    # Distributions the flavor needs, pinned to the running environment's versions by
    # whoever writes the manifest (``RequirementResolver.pin``, which caches the lookups).
    distributions: tuple[str, ...] = ()
    # Top-level names the package's code imports: whoever writes the manifest adds pins for
    # the distributions that provide them (``RequirementResolver.pin``).
    imports: tuple[str, ...] = ()


@runtime_checkable
class LoadedModel(Protocol):
    """A model ready to score pandas DataFrames.

    Optional: ``feature_names`` (a list of str, or None), the input columns the model
    itself declares, in its order; the signature is built from them (``signature.py``).
    Optional: ``tree_contributions(data)``, the framework's own exact TreeSHAP: per row
    each input's contribution then the bias (a class axis before them for multi-class),
    and the raw output; with ``exact_bias`` False the bias is rounded (single precision)
    and the raw output is what the contributions add up to (``runtimes.explain``)."""

    @property
    def classes(self) -> list[Any] | None:
        """Class labels in probability-column order, or None for regressors."""

    def predict(self, data: Any) -> Any:
        """Predictions for each row of ``data`` (a pandas DataFrame)."""

    def predict_proba(self, data: Any) -> Any | None:
        """Class probabilities (n_rows x n_classes), or None when the model has none."""


class Flavor(Protocol):
    """A framework adapter. Built-ins register through ``flavors.registry`` like any plugin."""

    name: str
    #: file suffixes this flavor accepts as a bare model file (e.g. ``(".onnx",)``)
    file_suffixes: tuple[str, ...]

    def accepts_object(self, obj: Any) -> bool:
        """True when ``save`` can write this in-memory model."""

    def accepts_file(self, path: Path) -> bool:
        """True when this bare model file belongs to this flavor (may peek inside)."""

    def save(self, obj: Any, folder: Path) -> Saved:
        """Write an in-memory model into the (empty) package folder."""

    def save_file(self, path: Path, folder: Path) -> Saved:
        """Copy a bare model file into the (empty) package folder."""

    def load(self, folder: Path, entrypoint: str, options: dict[str, Any]) -> LoadedModel:
        """Load a model from a verified package folder."""
