"""Import an MLflow model folder (``MLmodel`` plus its files) as a modelyard package.

The whole folder is copied; the package's entrypoint and options point at the model file
MLflow wrote, read by our own flavor: ``sklearn`` (pickle or cloudpickle), ``xgboost``,
``lightgbm`` (a booster natively, a scikit-learn wrapper through its pickle) and ``onnx``.
MLflow's column signature is converted to ours. Nothing here imports mlflow.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from modelyard.domain.errors import InvalidPackage
from modelyard.domain.reports import Column, Signature
from modelyard.flavors import lightgbm as lightgbm_flavor
from modelyard.flavors import onnx as onnx_flavor
from modelyard.flavors import sklearn as sklearn_flavor
from modelyard.flavors import xgboost as xgboost_flavor
from modelyard.flavors.base import Saved
from modelyard.flavors.package import MANIFEST

MLMODEL = "MLmodel"
#: MLflow flavors we read, most specific (native formats) first
SUPPORTED = ("xgboost", "lightgbm", "onnx", "sklearn")
PICKLE_FORMATS = ("pickle", "cloudpickle")
TYPES = {
    "boolean": "boolean",
    "integer": "integer",
    "long": "integer",
    "float": "float",
    "double": "float",
    "string": "string",
    "datetime": "datetime",
}


def is_mlflow_folder(path: Path) -> bool:
    """True when ``path`` is a folder holding an ``MLmodel`` file."""
    return path.is_dir() and (path / MLMODEL).is_file()


def _read_mlmodel(src: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load((src / MLMODEL).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidPackage(f"{MLMODEL} cannot be read: {e}") from None
    except yaml.YAMLError:
        raise InvalidPackage(f"{MLMODEL} is not valid YAML") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("flavors"), dict):
        raise InvalidPackage(f"{MLMODEL} has no flavors mapping")
    return raw


def _data_path(conf: dict[str, Any], key: str, flavor: str) -> str:
    value = conf.get(key)
    path = PurePosixPath(str(value)) if value else None
    if path is None or path.is_absolute() or ".." in path.parts:
        raise InvalidPackage(f"{MLMODEL}: the {flavor} flavor has no valid {key!r} file")
    return path.as_posix()


def _pickled(entrypoint: str, conf: dict[str, Any], flavor: str) -> tuple[str, str, dict[str, Any]]:
    fmt = str(conf.get("serialization_format", "cloudpickle"))
    if fmt not in PICKLE_FORMATS:
        raise InvalidPackage(
            f"{MLMODEL}: the {flavor} model is serialized as {fmt!r}, which modelyard does not "
            "read (save it with serialization_format='cloudpickle')"
        )
    return sklearn_flavor.SklearnFlavor.name, entrypoint, {}


def _map_flavor(flavor: str, conf: dict[str, Any], folder: Path) -> tuple[str, str, dict[str, Any]]:
    """(our flavor, entrypoint, options) for one MLflow flavor configuration."""
    if flavor == "sklearn":
        return _pickled(_data_path(conf, "pickled_model", flavor), conf, flavor)
    entrypoint = _data_path(conf, "data", flavor)
    if not (folder / entrypoint).is_file():
        raise InvalidPackage(f"{MLMODEL}: the {flavor} model file {entrypoint!r} is missing")
    model_class = str(conf.get("model_class", "")).rsplit(".", 1)[-1]
    if flavor == "xgboost":
        options = xgboost_flavor.options_for_file(folder / entrypoint, model_class or "Booster")
        return xgboost_flavor.XGBoostFlavor.name, entrypoint, options
    if flavor == "lightgbm":
        if model_class in ("", lightgbm_flavor.BOOSTER):
            options = {"wrapper": lightgbm_flavor.BOOSTER}
            return lightgbm_flavor.LightGBMFlavor.name, entrypoint, options
        return _pickled(entrypoint, conf, flavor)  # the scikit-learn wrapper is pickled
    return onnx_flavor.OnnxFlavor.name, entrypoint, {}


def _saved(folder: Path, flavor: str, entrypoint: str, options: dict[str, Any]) -> Saved:
    """What was imported, with the folder's ``requirements.txt`` (without mlflow itself)
    as its requirements, else the flavor's distributions, pinned from here."""
    path = folder / "requirements.txt"
    if path.is_file():
        lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
        requirements = tuple(
            line
            for line in lines
            if line and not line.startswith("-") and not line.lower().startswith("mlflow")
        )
        return Saved(entrypoint=entrypoint, options=options, requirements=requirements)
    modules = {
        "sklearn": sklearn_flavor,
        "xgboost": xgboost_flavor,
        "lightgbm": lightgbm_flavor,
        "onnx": onnx_flavor,
    }
    return Saved(entrypoint=entrypoint, options=options, distributions=modules[flavor].REQUIREMENTS)


def _columns(text: Any) -> list[Any] | None:
    if not isinstance(text, str):
        return None
    try:
        columns = json.loads(text)
    except ValueError:
        return None
    return columns if isinstance(columns, list) else None


def convert_signature(signature: Any) -> Signature | None:
    """MLflow's column signature in our format, or None (absent, tensor-based, unknown types)."""
    if not isinstance(signature, dict):
        return None
    columns = _columns(signature.get("inputs"))
    if not columns:
        return None
    inputs: list[Column] = []
    for column in columns:
        if not isinstance(column, dict) or "name" not in column:
            return None  # a tensor signature has no column names
        kind = TYPES.get(str(column.get("type")))
        if kind is None:
            return None
        nullable = not column.get("required", True)
        inputs.append({"name": str(column["name"]), "type": kind, "nullable": nullable})
    converted: Signature = {"inputs": inputs}
    outputs = _columns(signature.get("outputs"))
    if outputs and len(outputs) == 1 and isinstance(outputs[0], dict):
        kind = TYPES.get(str(outputs[0].get("type")))
        if kind is not None:
            converted["outputs"] = {"type": kind}
    return converted


def import_mlflow_folder(src: Path, folder: Path) -> tuple[str, Saved, Signature | None]:
    """Copy an MLflow model folder into the (empty) package folder.

    Returns our flavor's name, what was saved, and the signature in our format (or None).
    """
    mlmodel = _read_mlmodel(src)
    flavors: dict[str, Any] = mlmodel["flavors"]
    found = next((name for name in SUPPORTED if name in flavors), None)
    if found is None:
        raise InvalidPackage(
            f"{MLMODEL} has none of the flavors modelyard reads ({', '.join(SUPPORTED)}): "
            f"it has {', '.join(sorted(map(str, flavors))) or 'none'}"
        )
    conf = flavors[found] if isinstance(flavors[found], dict) else {}
    shutil.copytree(
        src, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", MANIFEST)
    )
    name, entrypoint, options = _map_flavor(found, conf, folder)
    if not (folder / entrypoint).is_file():
        raise InvalidPackage(f"{MLMODEL}: the {found} model file {entrypoint!r} is missing")
    saved = _saved(folder, found, entrypoint, options)
    return name, saved, convert_signature(mlmodel.get("signature"))
