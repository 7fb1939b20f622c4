"""Ensembles: one version whose answers combine those of other versions (its members).

An ensemble's package holds ``ensemble.json`` (how it combines: ``mean``, ``weighted``,
``vote`` or ``script``), a ``combine.py`` for ``script``, and every member's package
under ``members/<digest>/`` (its files and its exact ``modelyard.yaml``). The files are
the members' own blobs, stored once by digest, so an ensemble costs its manifest; and
it loads, travels in bundles and is verified like any package. The manifest's options
name each member (``ref``, ``digest``, ``weight``): its digest is the member's manifest
digest, which the file check verifies.

Combining, for members 1..k with weights w (1 each unless given):
- classifiers (every member predicts the same classes): ``mean`` averages the members'
  probabilities, ``weighted`` takes Σ wᵢ·Pᵢ / Σ wᵢ, ``vote`` counts each member's label
  with its weight and gives the vote shares as probabilities; the label is the class of
  the highest (the first class in order on a tie);
- regressors: ``mean`` and ``weighted`` average the predictions (``vote`` is refused);
- ``script``: ``combine(predictions, probabilities, weights, classes)`` in
  ``combine.py`` gets the members' predictions and probabilities (columns in ``classes``
  order; None for a regressor) and returns the labels, or ``(labels, probabilities)``.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.errors import InvalidInput, InvalidPackage
from modelyard.flavors.base import LoadedModel, Saved

ENTRYPOINT = "ensemble.json"
SCRIPT = "combine.py"
MEMBERS = "members"
COMBINES = ("mean", "weighted", "vote", "script")


@dataclass(frozen=True, slots=True)
class Member:
    model: LoadedModel
    columns: list[str] | None  # the inputs it takes, in its order; None: every column
    weight: float

    def frame(self, data: pd.DataFrame) -> pd.DataFrame:
        return data if self.columns is None else data[self.columns]


class Ensemble:
    """The members, loaded, and how their answers combine."""

    def __init__(self, members: list[Member], combine: str, script: Any = None) -> None:
        self.members = members
        self.combine = combine
        self.script = script
        first = members[0].model.classes
        self._classes = None if first is None else list(first)
        names: dict[str, None] = {}
        for member in members:
            names.update(dict.fromkeys(member.columns or []))
        self.feature_names = list(names) or None

    @property
    def classes(self) -> list[Any] | None:
        return self._classes

    def predict(self, data: Any) -> Any:
        return self.answer(data)[0]

    def predict_proba(self, data: Any) -> Any | None:
        return self.answer(data)[1]

    def answer(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        weights = np.array([m.weight for m in self.members], dtype=np.float64)
        if self._classes is None:  # regressors
            values = np.stack([np.asarray(m.model.predict(m.frame(data))) for m in self.members])
            if self.combine == "script":
                return self._scripted(list(values), [None] * len(values), weights)
            return np.average(values, axis=0, weights=weights), None
        classes = np.asarray(self._classes, dtype=object)
        if self.combine == "vote":
            shares = np.zeros((len(data), len(classes)))
            for member, weight in zip(self.members, weights, strict=True):
                labels = np.asarray(member.model.predict(member.frame(data)), dtype=object)
                shares += weight * (labels[:, None] == classes[None, :])
            proba = shares / weights.sum()
            return classes[np.argmax(proba, axis=1)], proba
        probabilities = [self._proba(m, data) for m in self.members]
        if self.combine == "script":
            predictions = [np.asarray(m.model.predict(m.frame(data))) for m in self.members]
            return self._scripted(predictions, probabilities, weights)
        proba = np.average(np.stack(probabilities), axis=0, weights=weights)
        return classes[np.argmax(proba, axis=1)], proba

    def _proba(self, member: Member, data: pd.DataFrame) -> np.ndarray:
        """A member's probabilities, columns in the ensemble's class order."""
        proba = np.asarray(member.model.predict_proba(member.frame(data)), dtype=np.float64)
        own = list(member.model.classes or [])
        assert self._classes is not None
        return proba[:, [own.index(c) for c in self._classes]]

    def _scripted(
        self, predictions: list[Any], probabilities: list[Any], weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        found = self.script.combine(predictions, probabilities, weights.tolist(), self._classes)
        if isinstance(found, tuple):
            labels, proba = found
            return np.asarray(labels), None if proba is None else np.asarray(proba, np.float64)
        return np.asarray(found), None


class EnsembleFlavor:
    name = "ensemble"
    file_suffixes: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.flavors: Any = None  # the registry that loads members (``Flavors.get`` binds it)

    def bind_flavors(self, flavors: Any) -> None:
        self.flavors = flavors

    def accepts_object(self, obj: Any) -> bool:
        return False

    def accepts_file(self, path: Path) -> bool:
        return False

    def save(self, obj: Any, folder: Path) -> Saved:
        raise InvalidInput("an ensemble is registered with `models ensemble`, not saved")

    def save_file(self, path: Path, folder: Path) -> Saved:
        raise InvalidInput("an ensemble is registered with `models ensemble`, not from a file")

    def load(self, folder: Path, entrypoint: str, options: dict[str, Any]) -> Ensemble:
        from modelyard.flavors.package import MANIFEST, Manifest

        spec = json.loads((folder / entrypoint).read_text())
        combine = str(spec.get("combine"))
        if combine not in COMBINES:
            raise InvalidPackage(f"ensemble: unknown way to combine {combine!r}")
        members = []
        for entry in options.get("members") or []:
            place = folder / MEMBERS / str(entry["digest"]).removeprefix("sha256:")
            manifest = Manifest.from_bytes((place / MANIFEST).read_bytes(), str(entry["ref"]))
            flavor = self.flavors.get(manifest.flavor)
            model = flavor.load(place, manifest.entrypoint, manifest.options)
            inputs = (manifest.signature or {}).get("inputs")
            columns = [c["name"] for c in inputs] if inputs else None
            members.append(Member(model, columns, float(entry.get("weight", 1.0))))
        if not members:
            raise InvalidPackage("ensemble: no members")
        script = _script(folder / SCRIPT) if combine == "script" else None
        return Ensemble(members, combine, script)


def _script(path: Path) -> Any:
    """The ``combine.py`` module, loaded under a name of its own."""
    spec = importlib.util.spec_from_file_location("modelyard_ensemble_combine", path)
    if spec is None or spec.loader is None:
        raise InvalidPackage(f"ensemble: cannot load {SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "combine", None)):
        raise InvalidPackage(f"ensemble: {SCRIPT} defines no combine function")
    return module
