"""The XGBoost flavor: ``XGBClassifier``, ``XGBRegressor`` or a ``Booster`` in native format.

Models are stored with ``save_model`` as ``model.ubj`` (bare ``.json`` files keep their
JSON format). The options record the wrapper class to rebuild and, for classifiers, the
class labels. A bare booster predicts the booster's raw output on a ``DMatrix``.
xgboost is imported lazily, so this module imports without it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from modelyard.domain.errors import InvalidInput, InvalidPackage, describe
from modelyard.flavors.base import LoadedModel, Saved

ENTRYPOINT = "model.ubj"
BOOSTER = "Booster"
CLASSIFIERS = ("XGBClassifier", "XGBRFClassifier")
WRAPPERS = (*CLASSIFIERS, "XGBRegressor", "XGBRFRegressor", BOOSTER)
REQUIREMENTS = ("xgboost", "xgboost-cpu", "numpy", "scipy", "pandas")


def _xgb() -> Any:
    try:
        import xgboost
    except ImportError:
        raise InvalidPackage(
            "the xgboost flavor needs the xgboost package: pip install 'modelyard[xgboost]'"
        ) from None
    return xgboost


def _wrapper_of(obj: Any) -> str | None:
    try:
        import xgboost as xgb
    except ImportError:
        return None
    if isinstance(obj, xgb.Booster):
        return BOOSTER
    if type(obj).__name__ in WRAPPERS:
        return type(obj).__name__
    if isinstance(obj, xgb.XGBClassifier):
        return "XGBClassifier"
    if isinstance(obj, xgb.XGBRegressor):
        return "XGBRegressor"
    return None


def _load(path: Path, wrapper: str) -> Any:
    xgb = _xgb()
    if wrapper not in WRAPPERS:
        raise InvalidPackage(f"{path.name}: unknown XGBoost model class {wrapper!r}")
    try:
        model = getattr(xgb, wrapper)()
        # From memory, XGBoost tells JSON from UBJSON by content, whatever the file's suffix
        # (MLflow writes ``model.xgb``).
        model.load_model(bytearray(path.read_bytes()))
    except Exception as e:  # XGBoostError, OSError...
        raise InvalidPackage(f"{path.name} cannot be loaded: {describe(e)}") from None
    return model


def options_for_file(path: Path, wrapper: str | None = None) -> dict[str, Any]:
    """Load a native XGBoost file and describe how to rebuild it.

    Without ``wrapper``, the scikit-learn estimator type XGBoost stores in the file decides
    between classifier, regressor and bare booster.
    """
    if wrapper is None:
        booster = _load(path, BOOSTER)
        estimator_type = json.loads(booster.attr("scikit_learn") or "{}").get("_estimator_type")
        wrapper = {"classifier": "XGBClassifier", "regressor": "XGBRegressor"}.get(
            estimator_type, BOOSTER
        )
    options: dict[str, Any] = {"wrapper": wrapper}
    if wrapper in CLASSIFIERS:
        options["classes"] = [int(c) for c in _load(path, wrapper).classes_]
    return options


class XGBoostModel:
    """A loaded XGBoost model; ``raw`` is the wrapper or the Booster."""

    def __init__(self, raw: Any, wrapper: str, classes: list[Any] | None) -> None:
        self.raw = raw
        self.wrapper = wrapper
        self._classes = classes

    @property
    def classes(self) -> list[Any] | None:
        return self._classes

    @property
    def feature_names(self) -> list[str] | None:
        """The booster's, kept when it was trained on a frame with named columns."""
        booster = self.raw if self.wrapper == BOOSTER else self.raw.get_booster()
        names = booster.feature_names
        return list(names) if names else None

    def predict(self, data: Any) -> Any:
        if self.wrapper == BOOSTER:
            xgb = _xgb()
            return self.raw.predict(xgb.DMatrix(data, enable_categorical=True))
        return self.raw.predict(data)

    def predict_proba(self, data: Any) -> Any | None:
        if self.wrapper not in CLASSIFIERS:
            return None
        return self.raw.predict_proba(data)

    exact_bias = False  # XGBoost computes contributions in single precision

    def tree_contributions(self, data: Any) -> tuple[Any, Any]:
        """TreeSHAP contributions (``pred_contribs``) and the raw margin."""
        xgb = _xgb()
        booster = self.raw if self.wrapper == BOOSTER else self.raw.get_booster()
        matrix = xgb.DMatrix(data, enable_categorical=True)
        return (
            booster.predict(matrix, pred_contribs=True),
            booster.predict(matrix, output_margin=True),
        )


class XGBoostFlavor:
    name: str = "xgboost"
    file_suffixes: tuple[str, ...] = (".ubj", ".json")

    def accepts_object(self, obj: Any) -> bool:
        return _wrapper_of(obj) is not None

    def accepts_file(self, path: Path) -> bool:
        suffix = path.suffix.lower()
        if suffix == ".ubj":
            try:
                with open(path, "rb") as fh:
                    return fh.read(1) == b"{"  # UBJSON documents open with an object
            except OSError:
                return False
        if suffix == ".json":
            try:
                with open(path, encoding="utf-8") as fh:
                    doc = json.load(fh)
            except (OSError, ValueError):
                return False
            return isinstance(doc, dict) and isinstance(doc.get("learner"), dict)
        return False

    def save(self, obj: Any, folder: Path) -> Saved:
        wrapper = _wrapper_of(obj)
        if wrapper is None:
            raise InvalidInput(
                f"the xgboost flavor cannot save a {type(obj).__qualname__}: "
                "expected an XGBClassifier, XGBRegressor or Booster"
            )
        options: dict[str, Any] = {"wrapper": wrapper}
        if wrapper in CLASSIFIERS:
            classes = getattr(obj, "classes_", None)
            if classes is None:
                raise InvalidInput("the XGBoost classifier is not fitted: fit it before saving")
            options["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
        try:
            obj.save_model(folder / ENTRYPOINT)
        except Exception as e:  # an unfitted model raises XGBoostError or NotFittedError
            raise InvalidInput(f"the XGBoost model cannot be saved: {describe(e)}") from None
        return Saved(entrypoint=ENTRYPOINT, options=options, distributions=REQUIREMENTS)

    def save_file(self, path: Path, folder: Path) -> Saved:
        options = options_for_file(path)
        entrypoint = "model" + path.suffix.lower()
        shutil.copyfile(path, folder / entrypoint)
        return Saved(entrypoint=entrypoint, options=options, distributions=REQUIREMENTS)

    def load(self, folder: Path, entrypoint: str, options: dict[str, Any]) -> LoadedModel:
        wrapper = str(options.get("wrapper", BOOSTER))
        model = _load(folder / entrypoint, wrapper)
        classes = options.get("classes")
        if wrapper in CLASSIFIERS and classes is None:
            classes = [int(c) for c in model.classes_]
        return XGBoostModel(model, wrapper, list(classes) if classes is not None else None)
