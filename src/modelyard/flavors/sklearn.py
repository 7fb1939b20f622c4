"""The scikit-learn flavor: any estimator or pipeline, stored with joblib as ``model.joblib``.

Bare ``.joblib``, ``.pkl`` and ``.pickle`` files are accepted when they unpickle to an
object with a ``predict`` method. Unpickling runs code from the file: register only files
you trust.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from modelyard.domain.errors import InvalidInput, InvalidPackage, describe
from modelyard.flavors.base import LoadedModel, Saved

ENTRYPOINT = "model.joblib"
REQUIREMENTS = ("scikit-learn", "joblib", "numpy", "scipy", "pandas")


def load_pickle(path: Path) -> Any:
    """Unpickle a joblib or plain (cloud)pickle file; ``InvalidPackage`` when it cannot be."""
    try:
        return joblib.load(path)
    except Exception as e:  # unpickling can raise anything the pickled classes raise
        raise InvalidPackage(f"{path.name} cannot be loaded: {describe(e)}") from None


def as_list(values: Any) -> list[Any] | None:
    """Class labels as a plain JSON-able list (numpy scalars become Python ones)."""
    if values is None:
        return None
    return [v.item() if isinstance(v, np.generic) else v for v in np.asarray(values).tolist()]


class SklearnModel:
    """A loaded scikit-learn estimator; ``raw`` is the estimator itself."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @property
    def classes(self) -> list[Any] | None:
        return as_list(getattr(self.raw, "classes_", None))

    @property
    def feature_names(self) -> list[Any] | None:
        """``feature_names_in_``: set when it was fitted on a frame with named columns."""
        return as_list(getattr(self.raw, "feature_names_in_", None))

    def predict(self, data: Any) -> Any:
        return self.raw.predict(data)

    def predict_proba(self, data: Any) -> Any | None:
        # ``hasattr`` honours scikit-learn's ``available_if`` (e.g. SVC without probability).
        if not hasattr(self.raw, "predict_proba"):
            return None
        return self.raw.predict_proba(data)


class SklearnFlavor:
    name: str = "sklearn"
    file_suffixes: tuple[str, ...] = (".joblib", ".pkl", ".pickle")

    def accepts_object(self, obj: Any) -> bool:
        try:
            from sklearn.base import BaseEstimator
            from sklearn.pipeline import Pipeline
        except ImportError:
            return False
        if isinstance(obj, Pipeline):
            return True
        return isinstance(obj, BaseEstimator) and callable(getattr(obj, "predict", None))

    def accepts_file(self, path: Path) -> bool:
        if path.suffix.lower() not in self.file_suffixes:
            return False
        return callable(getattr(load_pickle(path), "predict", None))

    def save(self, obj: Any, folder: Path) -> Saved:
        if not self.accepts_object(obj):
            raise InvalidInput(
                f"the sklearn flavor cannot save a {type(obj).__qualname__}: "
                "expected a scikit-learn estimator or pipeline"
            )
        joblib.dump(obj, folder / ENTRYPOINT)
        return Saved(entrypoint=ENTRYPOINT, distributions=REQUIREMENTS)

    def save_file(self, path: Path, folder: Path) -> Saved:
        if not callable(getattr(load_pickle(path), "predict", None)):
            raise InvalidPackage(f"{path.name} holds no model: the object has no predict method")
        entrypoint = "model" + path.suffix.lower()
        shutil.copyfile(path, folder / entrypoint)
        return Saved(entrypoint=entrypoint, distributions=REQUIREMENTS)

    def load(self, folder: Path, entrypoint: str, options: dict[str, Any]) -> LoadedModel:
        model = load_pickle(folder / entrypoint)
        if not callable(getattr(model, "predict", None)):
            raise InvalidPackage(f"{entrypoint} holds no model: the object has no predict method")
        return SklearnModel(model)
