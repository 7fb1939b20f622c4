"""A loaded model converted to ONNX (``models compile``), in the model worker that loaded
it: skl2onnx for scikit-learn estimators and pipelines, onnxmltools for XGBoost and
LightGBM. The service verifies every candidate against the source before registering one
(``services/compiling.py``); nothing here decides whether a conversion is good.

Each numeric input is given both ways: as double (what scikit-learn computes in, and
HistGradientBoosting's thresholds) and as single precision (what scikit-learn's
decision trees and forests cast their inputs to). The service keeps the first that
verifies.

Two adjustments to skl2onnx 1.20 with scikit-learn 1.9 and onnx 1.23, both confined to
the conversion (written here because no release does it):
- its tree converters write a Python ``bool`` into an integer attribute
  (``nodes_missing_value_tracks_true``), which onnx 1.23 refuses: booleans are given as
  integers while converting;
- its HistGradientBoosting converters store thresholds and leaf values as float32
  attributes, although scikit-learn compares float64 values with float64 thresholds, so
  a value near a threshold goes the other way: with double inputs they are converted
  with ``ai.onnx.ml`` opset 3, whose ``*_as_tensor`` attributes keep float64.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np

from modelyard.domain.errors import InvalidInput
from modelyard.domain.reports import Signature

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
AS_TENSOR = ("nodes_values", "nodes_hitrates", "class_weights", "target_weights", "base_values")
PRECISIONS = ("double", "single")


class ConversionFailed(InvalidInput):
    """The model cannot be expressed in ONNX: the message names the step or operator."""


def candidates(model: Any, flavor: str, signature: Signature | None) -> list[tuple[str, bytes]]:
    """``(precision, ONNX bytes)`` for each way the model converts, best first."""
    raw = getattr(model, "raw", model)
    columns = (signature or {}).get("inputs") or []
    if not columns:
        raise ConversionFailed("compile needs the version's input signature (an input example)")
    found, errors = [], []
    for precision in PRECISIONS:
        try:
            found.append((precision, _convert(raw, flavor, columns, precision)))
        except ConversionFailed as e:
            errors.append(e.message)
    if not found:
        raise ConversionFailed(errors[0])
    return found


def _convert(raw: Any, flavor: str, columns: list[Any], precision: str) -> bytes:
    try:
        from skl2onnx.common.data_types import (
            DoubleTensorType,
            FloatTensorType,
            StringTensorType,
        )
    except ImportError:
        raise ConversionFailed(
            "compiling needs skl2onnx in the model's environment: pip install 'modelyard[onnx]'"
        ) from None
    number = DoubleTensorType if precision == "double" else FloatTensorType
    if any(c.get("type") in ("datetime", "boolean") for c in columns):
        kinds = sorted({str(c.get("type")) for c in columns} - {"string", "float", "integer"})
        raise ConversionFailed(f"ONNX conversion: {', '.join(kinds)} inputs are not supported")
    if _takes_columns(raw):  # a pipeline or column transformer: one input per column
        types = [
            (
                c["name"],
                StringTensorType([None, 1]) if c.get("type") == "string" else number([None, 1]),
            )
            for c in columns
        ]
    elif any(c.get("type") == "string" for c in columns):
        raise ConversionFailed(
            "ONNX conversion: a bare estimator takes numbers only; put its encoders in a Pipeline"
        )
    else:  # a bare estimator: one tensor of every column, in the signature's order
        types = [("input", number([None, len(columns)]))]
    with _adjusted(precision):
        try:
            if flavor in ("xgboost", "lightgbm"):
                return _boosters(raw, flavor, len(columns))
            from skl2onnx import to_onnx

            proto = to_onnx(
                raw, initial_types=types, options={"zipmap": False}, target_opset=TARGET_OPSET
            )
        except ConversionFailed:
            raise
        except Exception as e:  # skl2onnx says which operator it lacks, in its own words
            raise ConversionFailed(f"ONNX conversion failed: {_first_line(e)}") from None
    return bytes(proto.SerializeToString())


def _takes_columns(raw: Any) -> bool:
    try:
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
    except ImportError:
        return False
    return isinstance(raw, Pipeline | ColumnTransformer)


def _boosters(raw: Any, flavor: str, width: int) -> bytes:
    try:
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError:
        raise ConversionFailed(
            f"compiling a {flavor} model needs onnxmltools: pip install 'modelyard[onnx]'"
        ) from None
    features = [("input", FloatTensorType([None, width]))]
    if flavor == "xgboost":
        proto = onnxmltools.convert_xgboost(_unnamed(raw), initial_types=features, target_opset=15)
    else:
        proto = onnxmltools.convert_lightgbm(
            raw, initial_types=features, target_opset=15, zipmap=False
        )
    return bytes(proto.SerializeToString())


def _unnamed(raw: Any) -> Any:
    """An XGBoost model whose booster has no feature names: onnxmltools reads features
    as ``f0``, ``f1``… only (the inputs are one tensor, in the signature's order)."""
    import copy

    booster = raw.get_booster() if hasattr(raw, "get_booster") else raw
    renamed = booster.copy()
    renamed.feature_names = None
    if not hasattr(raw, "get_booster"):
        return renamed
    model = copy.copy(raw)
    model._Booster = renamed
    return model


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


@contextlib.contextmanager
def _adjusted(precision: str) -> Iterator[None]:
    """The two adjustments of the module docstring, undone on the way out."""
    import onnx.helper

    make_attribute = onnx.helper.make_attribute

    def integers(key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, list | tuple) and any(isinstance(v, bool | np.bool_) for v in value):
            value = [int(v) for v in value]
        return make_attribute(key, value, *args, **kwargs)

    onnx.helper.make_attribute = integers
    restore = _hist_gradient_boosting_in_double() if precision == "double" else []
    try:
        yield
    finally:
        onnx.helper.make_attribute = make_attribute
        for args in restore:
            _register(*args)


def _register(model: type, alias: str, shape: Any, converter: Any, options: Any) -> None:
    from skl2onnx import update_registered_converter

    update_registered_converter(model, alias, shape, converter, options=options)


def _hist_gradient_boosting_in_double() -> list[tuple[Any, ...]]:
    """Register double-keeping converters for HistGradientBoosting; what to restore."""
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import _converter_pool, _shape_calculator_pool
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    restore = []
    for model in (HistGradientBoostingClassifier, HistGradientBoostingRegressor):
        alias = sklearn_operator_name_map[model]
        converter = _converter_pool[alias]
        options = getattr(converter, "get_allowed_options", lambda: None)()
        shape = _shape_calculator_pool[alias]
        restore.append((model, alias, shape, getattr(converter, "_fct", converter), options))
        _register(model, alias, shape, functools.partial(_in_double, converter), options)
    return restore


class _DoubleTrees:
    """A converter's container whose tree ensembles keep float64 attributes."""

    def __init__(self, container: Any) -> None:
        self._container = container

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)

    def add_node(self, op_type: str, *args: Any, **attrs: Any) -> Any:
        if op_type.startswith("TreeEnsemble"):
            from onnx import numpy_helper

            for key in AS_TENSOR:
                if key in attrs and np.asarray(attrs[key]).dtype == np.float64:
                    values = np.asarray(attrs.pop(key), dtype=np.float64)
                    attrs[f"{key}_as_tensor"] = numpy_helper.from_array(values)
            attrs["op_version"] = 3
        return self._container.add_node(op_type, *args, **attrs)


def _in_double(converter: Any, scope: Any, operator: Any, container: Any) -> Any:
    fn = getattr(converter, "_fct", converter)
    return fn(scope, operator, _DoubleTrees(container), op_version=3)
