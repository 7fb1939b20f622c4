from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard.domain.errors import InvalidInput, InvalidPackage
from modelyard.flavors.onnx import OnnxFlavor
from modelyard.flavors.registry import Flavors

from .conftest import CLASSES, Packager, Table

NUMERIC = ["amount", "days"]


def _direct(proto: Any, feeds: dict[str, np.ndarray]) -> list[Any]:
    """The reference: a session run straight on the converted ModelProto."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return list(session.run(None, feeds))


def _matrix_classifier(table: Table, **options: Any) -> tuple[Any, pd.DataFrame]:
    X = table.X[NUMERIC]
    model = LogisticRegression().fit(X.to_numpy(np.float32), table.y)
    proto = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, len(NUMERIC)]))],
        options={id(model): options} if options else None,
    )
    return proto, X


def test_tensor_probabilities_round_trip(package: Packager, classification: Table) -> None:
    proto, X = _matrix_classifier(classification, zipmap=False)
    labels, proba = _direct(proto, {"input": X.to_numpy(np.float32)})

    pkg = package(OnnxFlavor(), proto)

    assert pkg.manifest.entrypoint == "model.onnx"
    assert pkg.manifest.options == {"classes": list(CLASSES)}
    assert any(r.startswith("onnxruntime==") for r in pkg.manifest.requirements)
    assert pkg.model.classes == list(CLASSES)
    assert np.array_equal(pkg.model.predict(X), labels)
    assert np.array_equal(pkg.model.predict_proba(X), proba)


def test_zipmap_probabilities_round_trip(package: Packager, classification: Table) -> None:
    proto, X = _matrix_classifier(classification)
    labels, rows = _direct(proto, {"input": X.to_numpy(np.float32)})

    pkg = package(OnnxFlavor(), proto)

    assert pkg.model.classes == list(CLASSES)
    assert np.array_equal(pkg.model.predict(X), labels)
    expected = np.array([[row[c] for c in CLASSES] for row in rows], dtype=np.float32)
    assert np.array_equal(pkg.model.predict_proba(X), expected)


def test_one_input_per_column(package: Packager, classification: Table) -> None:
    columns = ColumnTransformer(
        [("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(), ["group"])]
    )
    model = make_pipeline(columns, LogisticRegression()).fit(classification.X, classification.y)
    proto = convert_sklearn(
        model,
        initial_types=[
            ("amount", FloatTensorType([None, 1])),
            ("days", Int64TensorType([None, 1])),
            ("group", StringTensorType([None, 1])),
        ],
        options={id(model): {"zipmap": False}},
    )
    X = classification.X
    feeds = {
        "amount": X[["amount"]].to_numpy(np.float32),
        "days": X[["days"]].to_numpy(np.int64),
        "group": X[["group"]].to_numpy(dtype=object),
    }
    labels, proba = _direct(proto, feeds)

    pkg = package(OnnxFlavor(), proto)

    assert np.array_equal(pkg.model.predict(X), labels)
    assert np.array_equal(pkg.model.predict_proba(X), proba)
    assert np.array_equal(pkg.model.predict(X[["group", "days", "amount"]]), labels)
    with pytest.raises(InvalidInput, match="expects input columns amount"):
        pkg.model.predict(X[["days", "group"]])


def test_regressor_predictions_are_flat(
    flavors: Flavors, package: Packager, regression: Table, tmp_path: Path
) -> None:
    X = regression.X[NUMERIC]
    model = LinearRegression().fit(X.to_numpy(np.float32), regression.y)
    proto = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, 2]))])
    (variable,) = _direct(proto, {"input": X.to_numpy(np.float32)})
    path = tmp_path / "regressor.onnx"
    path.write_bytes(proto.SerializeToString())

    assert flavors.for_file(path).name == "onnx"
    pkg = package(OnnxFlavor(), file=path)

    assert pkg.model.classes is None
    assert pkg.model.predict_proba(X) is None
    assert np.array_equal(pkg.model.predict(X), variable.ravel())
    with pytest.raises(InvalidInput, match="cannot be read as tensor"):
        pkg.model.predict(regression.X[["amount", "group"]])


def test_bare_classifier_file_round_trip(
    package: Packager, classification: Table, tmp_path: Path
) -> None:
    proto, X = _matrix_classifier(classification)
    path = tmp_path / "classifier.onnx"
    path.write_bytes(proto.SerializeToString())
    labels, _ = _direct(proto, {"input": X.to_numpy(np.float32)})

    pkg = package(OnnxFlavor(), file=path)

    assert pkg.model.classes == list(CLASSES)
    assert np.array_equal(pkg.model.predict(X), labels)


def test_garbage_onnx_file_is_an_invalid_package(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"this is not a protobuf at all")

    with pytest.raises(InvalidPackage, match=r"^model\.onnx cannot be loaded: ") as raised:
        OnnxFlavor().save_file(path, tmp_path)
    assert "\n" not in str(raised.value)
    with pytest.raises(InvalidPackage, match=r"^model\.onnx cannot be loaded: "):
        OnnxFlavor().load(tmp_path, "model.onnx", {})


def test_accepts_model_protos(flavors: Flavors, classification: Table) -> None:
    proto, _ = _matrix_classifier(classification)
    assert flavors.for_object(proto).name == "onnx"
    assert not OnnxFlavor().accepts_object(proto.SerializeToString())
