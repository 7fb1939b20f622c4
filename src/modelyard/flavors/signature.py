"""Signatures: the columns a model takes (name, type, categories seen) and what it returns.

A signature is plain JSON kept in the manifest::

    {"inputs": [{"name": "amount", "type": "float", "nullable": false}, ...],
     "outputs": {"type": "string", "classes": ["late", "on_time", "very_late"]}}
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.errors import InvalidInput, ModelyardWarning
from modelyard.domain.reports import Column, Outputs, Signature

MAX_CATEGORIES = 1000
TYPES = ("boolean", "integer", "float", "string", "datetime")


def column_type(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def infer_signature(
    example: pd.DataFrame,
    model: Any | None = None,
    training: Callable[[], pd.DataFrame | None] | None = None,
) -> Signature:
    """The input columns and, given a loaded model, its outputs.

    The columns are those the model declares (``feature_names``: scikit-learn's
    ``feature_names_in_``, a booster's feature names, an ONNX graph's inputs), in its
    order, typed from the example; an example column it does not take (a label left in a
    training file) is left out with a warning. A model that declares nothing takes every
    column of the example. A string column's categories are those of the example and,
    when ``training`` gives the training data, of every training row."""
    if not isinstance(example, pd.DataFrame) or example.empty:
        raise InvalidInput("the input example must be a non-empty table of named columns")
    declared = getattr(model, "feature_names", None) if model is not None else None
    if declared:
        example = _declared_columns(example, [str(n) for n in declared])
    inputs: list[Column] = []
    seen: dict[str, set[str]] = {}  # the values of each string column
    for name in example.columns:
        series = example[name]
        entry: Column = {
            "name": str(name),
            "type": column_type(series),
            "nullable": bool(series.isna().any()),
        }
        if entry["type"] == "string" or isinstance(series.dtype, pd.CategoricalDtype):
            seen[str(name)] = {str(v) for v in series.dropna().unique()}
        inputs.append(entry)
    _add_categories(inputs, seen, training)
    signature: Signature = {"inputs": inputs}
    if model is not None:
        signature["outputs"] = _infer_outputs(example, model)
    return signature


def _declared_columns(example: pd.DataFrame, declared: list[str]) -> pd.DataFrame:
    names = [str(c) for c in example.columns]
    missing = [n for n in declared if n not in names]
    if missing:
        raise InvalidInput(
            f"the input example lacks {', '.join(missing)}, which the model takes "
            f"(it takes {', '.join(declared)})"
        )
    extra = [n for n in names if n not in declared]
    if extra:
        warnings.warn(
            f"{', '.join(extra)} left out of the signature: the model does not take "
            f"{'it' if len(extra) == 1 else 'them'} (it takes {', '.join(declared)})",
            ModelyardWarning,
            stacklevel=2,
        )
    return example.set_axis(names, axis=1)[declared]


def _add_categories(
    inputs: list[Column],
    seen: dict[str, set[str]],
    training: Callable[[], pd.DataFrame | None] | None,
) -> None:
    """Each string column's categories: the example's and the training data's (read only
    when there is a string column); none when there are more than ``MAX_CATEGORIES``."""
    frame = training() if training is not None and seen else None
    for column in inputs:
        values = seen.get(column["name"])
        if values is None:
            continue
        if frame is not None and column["name"] in frame.columns:
            values |= {str(v) for v in frame[column["name"]].dropna().unique()}
        if len(values) <= MAX_CATEGORIES:
            column["categories"] = sorted(values)


def _infer_outputs(example: pd.DataFrame, model: Any) -> Outputs:
    outputs: Outputs = {}
    try:
        predictions = np.asarray(model.predict(example.head(20)))
    except Exception:  # a model that cannot score its own example still registers
        return outputs
    kind = predictions.dtype.kind
    outputs["type"] = {"b": "boolean", "i": "integer", "u": "integer", "f": "float"}.get(
        kind, "string"
    )
    if predictions.ndim > 1:
        outputs["shape"] = [-1, *predictions.shape[1:]]
    classes = getattr(model, "classes", None)
    if classes is not None:
        outputs["classes"] = [_jsonable(c) for c in classes]
    return outputs


def read_example(path: Path) -> pd.DataFrame:
    """Read an input example from CSV, Parquet or JSON (records or ``dataframe_split``)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix == ".json":
            raw = json.loads(path.read_text())
            if isinstance(raw, dict) and "dataframe_split" in raw:
                raw = raw["dataframe_split"]
            if isinstance(raw, dict) and "columns" in raw and "data" in raw:
                frame = pd.DataFrame(raw["data"], columns=raw["columns"])
            elif isinstance(raw, dict) and "inputs" in raw:
                frame = pd.DataFrame(raw["inputs"])
            else:
                frame = pd.DataFrame(raw)
        else:
            raise InvalidInput(
                f"input example {path.name}: unsupported format (use .csv, .parquet or .json)"
            )
    except FileNotFoundError:
        raise InvalidInput(f"input example {path} does not exist") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInput(f"input example {path.name} cannot be read: {first}") from None
    if frame.empty or len(frame.columns) == 0:
        raise InvalidInput(f"input example {path.name} has no rows")
    return frame
