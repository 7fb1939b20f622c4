"""The LightGBM flavor: ``LGBMClassifier``, ``LGBMRegressor`` or a ``Booster`` as native text.

The booster is stored as ``model.txt``. For a classifier the options record the class
labels, and ``predict`` is rebuilt exactly as the wrapper computes it: the labels at the
argmax of the probabilities (binary probabilities are ``[1 - p, p]``). A bare booster
predicts the booster's raw output. lightgbm is imported lazily, so this module imports
without it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.domain.errors import InvalidInput, InvalidPackage, describe
from modelyard.flavors.base import LoadedModel, Saved

ENTRYPOINT = "model.txt"
BOOSTER = "Booster"
CLASSIFIER = "LGBMClassifier"
REQUIREMENTS = ("lightgbm", "numpy", "scipy", "pandas")


def _lgb() -> Any:
    try:
        import lightgbm
    except ImportError:
        raise InvalidPackage(
            "the lightgbm flavor needs the lightgbm package: pip install 'modelyard[lightgbm]'"
        ) from None
    return lightgbm


def _wrapper_of(obj: Any) -> str | None:
    try:
        import lightgbm as lgb
    except ImportError:
        return None
    if isinstance(obj, lgb.Booster):
        return BOOSTER
    if isinstance(obj, lgb.LGBMClassifier):
        return CLASSIFIER
    if isinstance(obj, lgb.LGBMModel):  # LGBMRegressor, LGBMRanker: the booster's output
        return type(obj).__name__
    return None


def load_booster(path: Path) -> Any:
    """Read a LightGBM text model; ``InvalidPackage`` when it cannot be read."""
    lgb = _lgb()
    try:
        return lgb.Booster(model_file=path)
    except Exception as e:  # LightGBMError, OSError...
        raise InvalidPackage(f"{path.name} cannot be loaded: {describe(e)}") from None


class LightGBMModel:
    """A loaded LightGBM booster; ``raw`` is the ``lightgbm.Booster``."""

    def __init__(self, raw: Any, classes: list[Any] | None) -> None:
        self.raw = raw
        self._classes = classes

    @property
    def classes(self) -> list[Any] | None:
        return self._classes

    @property
    def feature_names(self) -> list[str] | None:
        """The booster's, unless they are the ``Column_N`` LightGBM makes up for arrays."""
        names = [str(n) for n in self.raw.feature_name()]
        made_up = all(n == f"Column_{i}" for i, n in enumerate(names))
        return None if made_up else names

    def _proba(self, data: Any) -> Any:
        result = self.raw.predict(data)
        if result.ndim == 1:  # binary: the probability of the second class
            return np.vstack((1.0 - result, result)).transpose()
        return result

    def predict(self, data: Any) -> Any:
        if self._classes is None:
            return self.raw.predict(data)
        return np.asarray(self._classes)[np.argmax(self._proba(data), axis=1)]

    def predict_proba(self, data: Any) -> Any | None:
        return None if self._classes is None else self._proba(data)

    exact_bias = True

    def tree_contributions(self, data: Any) -> tuple[Any, Any]:
        """TreeSHAP contributions (``pred_contrib``; multi-class: the classes side by
        side) and the raw score."""
        return self.raw.predict(data, pred_contrib=True), self.raw.predict(data, raw_score=True)


class LightGBMFlavor:
    name: str = "lightgbm"
    file_suffixes: tuple[str, ...] = (".txt",)

    def accepts_object(self, obj: Any) -> bool:
        return _wrapper_of(obj) is not None

    def accepts_file(self, path: Path) -> bool:
        if path.suffix.lower() not in self.file_suffixes:
            return False
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                head = [fh.readline(256).strip() for _ in range(2)]
        except OSError:
            return False
        return head[0] == "tree" and head[1].startswith("version=v")

    def save(self, obj: Any, folder: Path) -> Saved:
        wrapper = _wrapper_of(obj)
        if wrapper is None:
            raise InvalidInput(
                f"the lightgbm flavor cannot save a {type(obj).__qualname__}: "
                "expected an LGBMClassifier, LGBMRegressor or Booster"
            )
        options: dict[str, Any] = {"wrapper": wrapper}
        try:
            booster = obj if wrapper == BOOSTER else obj.booster_
            if wrapper == CLASSIFIER and not callable(obj.objective):
                # a custom objective makes the wrapper predict raw scores: no classes then
                options["classes"] = [
                    c.item() if isinstance(c, np.generic) else c for c in obj.classes_
                ]
            booster.save_model(folder / ENTRYPOINT)
        except Exception as e:  # an unfitted wrapper raises LGBMNotFittedError
            raise InvalidInput(f"the LightGBM model cannot be saved: {describe(e)}") from None
        return Saved(entrypoint=ENTRYPOINT, options=options, distributions=REQUIREMENTS)

    def save_file(self, path: Path, folder: Path) -> Saved:
        load_booster(path)
        shutil.copyfile(path, folder / ENTRYPOINT)
        return Saved(
            entrypoint=ENTRYPOINT, options={"wrapper": BOOSTER}, distributions=REQUIREMENTS
        )

    def load(self, folder: Path, entrypoint: str, options: dict[str, Any]) -> LoadedModel:
        booster = load_booster(folder / entrypoint)
        classes = options.get("classes")
        return LightGBMModel(booster, list(classes) if classes is not None else None)
