"""Tiny tables and the save → manifest → verify → load round trip every flavor test uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelyard.flavors.base import Flavor, LoadedModel, Saved
from modelyard.flavors.package import Manifest, read_manifest, verify_folder, write_manifest
from modelyard.flavors.registry import Flavors
from modelyard.flavors.requirements import RequirementResolver

CLASSES = ("late", "on_time", "very_late")


@dataclass(frozen=True)
class Table:
    X: pd.DataFrame
    y: np.ndarray

    @property
    def categorical(self) -> pd.DataFrame:
        """The frame with its string column as a pandas category (for XGBoost and LightGBM)."""
        return self.X.astype({"group": "category"})

    @property
    def codes(self) -> np.ndarray:
        """The labels encoded 0..k-1, as XGBoost wants them."""
        return np.unique(self.y, return_inverse=True)[1]


def _features(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": rng.normal(100.0, 30.0, n).round(2),
            "days": rng.integers(0, 60, n),
            "group": rng.choice(["retail", "wholesale", "public"], n),
        }
    )


@pytest.fixture
def classification() -> Table:
    """Three noisy payment outcomes from a float, an integer and a string column."""
    rng = np.random.default_rng(7)
    X = _features(rng, 90)
    score = X["amount"] / 30 + X["days"] / 15 + (X["group"] == "public") + rng.normal(0, 1, 90)
    y = np.asarray(CLASSES)[np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))]
    return Table(X, y)


@pytest.fixture
def binary(classification: Table) -> Table:
    return Table(classification.X, np.where(classification.y == "on_time", "yes", "no"))


@pytest.fixture
def regression() -> Table:
    rng = np.random.default_rng(11)
    X = _features(rng, 60)
    y = 2.0 * X["amount"] - X["days"] + (X["group"] == "retail") * 10 + rng.normal(0, 5, 60)
    return Table(X, y.to_numpy())


@pytest.fixture
def flavors() -> Flavors:
    """The flavors an installation knows: the built-ins, from their entry points."""
    return Flavors()


@dataclass(frozen=True)
class Package:
    folder: Path
    saved: Saved
    manifest: Manifest
    model: LoadedModel


Packager = Callable[..., Package]


@pytest.fixture
def package(tmp_path: Path) -> Packager:
    """Save a model (an object, a bare ``file=``, or through ``save=``), write and verify its
    manifest (the flavor's pins and those of the modules its code imports), and load it
    back, as the registry does."""
    count = 0
    requirements = RequirementResolver()

    def make(
        flavor: Flavor,
        obj: Any = None,
        *,
        file: Path | None = None,
        save: Callable[[Path], Saved] | None = None,
    ) -> Package:
        nonlocal count
        count += 1
        folder = tmp_path / f"pkg{count}"
        folder.mkdir()
        if save is not None:
            saved = save(folder)
        elif file is not None:
            saved = flavor.save_file(file, folder)
        else:
            saved = flavor.save(obj, folder)
        write_manifest(
            folder,
            flavor=flavor.name,
            entrypoint=saved.entrypoint,
            options=saved.options,
            requirements=requirements.pin(saved),
        )
        manifest = read_manifest(folder)
        verify_folder(folder, manifest)
        model = flavor.load(folder, manifest.entrypoint, manifest.options)
        assert isinstance(model, LoadedModel)
        return Package(folder, saved, manifest, model)

    return make
