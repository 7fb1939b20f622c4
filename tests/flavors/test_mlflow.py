"""MLflow folders written by the real ``mlflow`` package, imported and loaded by our flavors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard.domain.errors import InvalidPackage
from modelyard.flavors.mlflow import convert_signature, import_mlflow_folder, is_mlflow_folder
from modelyard.flavors.registry import Flavors
from modelyard.flavors.requirements import pins
from modelyard.flavors.staging import Packager as StagingPackager

from .conftest import CLASSES, Packager, Table

# mlflow warns, on first import of mlflow.pyfunc, about its own type hints, and about
# integer columns when it infers a signature: neither is ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
    pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer:UserWarning"),
]

EXPECTED_SIGNATURE = {
    "inputs": [
        {"name": "amount", "type": "float", "nullable": False},
        {"name": "days", "type": "integer", "nullable": False},
        {"name": "group", "type": "string", "nullable": False},
    ],
    "outputs": {"type": "string"},
}


@pytest.fixture
def mlflow(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    import mlflow
    import mlflow.models

    return mlflow


def _requirements(*dists: str) -> list[str]:
    """Explicit pins (MLflow otherwise infers them in a subprocess, for seconds)."""
    return list(pins(*dists, "mlflow-skinny"))


def _import(src: Path, tmp_path: Path, package: Packager) -> tuple[str, Any, dict[str, Any] | None]:
    """Import the MLflow folder into a package with the flavor it maps to, and load it."""
    assert is_mlflow_folder(src)
    probe = tmp_path / "probe"
    probe.mkdir()
    name, _, signature = import_mlflow_folder(src, probe)
    pkg = package(Flavors().get(name), save=lambda folder: import_mlflow_folder(src, folder)[1])
    return name, pkg, signature


def test_sklearn_pipeline_folder(
    mlflow: Any, package: Packager, classification: Table, tmp_path: Path
) -> None:
    import mlflow.sklearn

    X, y = classification.X, classification.y
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["amount", "days"]), ("cat", OneHotEncoder(), ["group"])]
    )
    original = make_pipeline(columns, LogisticRegression()).fit(X, y)
    src = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(
        original,
        src,
        signature=mlflow.models.infer_signature(X, pd.Series(y, name="outcome")),
        serialization_format="cloudpickle",
        pip_requirements=_requirements("scikit-learn", "cloudpickle"),
    )

    name, pkg, signature = _import(src, tmp_path, package)

    assert name == "sklearn"
    assert pkg.manifest.entrypoint == "model.pkl"
    assert "MLmodel" in pkg.manifest.files
    assert pkg.manifest.requirements == tuple(_requirements("scikit-learn", "cloudpickle")[:2])
    assert signature == EXPECTED_SIGNATURE
    assert pkg.model.classes == list(CLASSES)
    assert np.array_equal(pkg.model.predict(X), original.predict(X))
    assert np.array_equal(pkg.model.predict_proba(X), original.predict_proba(X))

    # a score.py beside MLmodel (a pyfunc's helper, say) does not make it a script folder
    (src / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return []\n")
    packager = StagingPackager(Flavors(), tmp_path / "work", tmp_path / "cache")
    with packager.stage(src) as staged:
        assert (staged.manifest.flavor, staged.manifest.entrypoint) == ("sklearn", "model.pkl")


def test_xgboost_folder(
    mlflow: Any, package: Packager, classification: Table, tmp_path: Path
) -> None:
    import mlflow.xgboost
    import xgboost as xgb

    X = classification.X[["amount", "days"]]
    original = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, classification.codes)
    src = tmp_path / "mlflow-xgb"
    mlflow.xgboost.save_model(
        original,
        src,
        signature=mlflow.models.infer_signature(X, original.predict(X)),
        pip_requirements=_requirements("xgboost", "xgboost-cpu"),
    )

    name, pkg, signature = _import(src, tmp_path, package)

    assert name == "xgboost"
    assert pkg.manifest.options == {"wrapper": "XGBClassifier", "classes": [0, 1, 2]}
    assert signature is not None
    assert [c["type"] for c in signature["inputs"]] == ["float", "integer"]
    assert "outputs" not in signature  # MLflow described the predictions as a tensor
    assert np.array_equal(pkg.model.predict(X), original.predict(X))
    assert np.array_equal(pkg.model.predict_proba(X), original.predict_proba(X))


def test_lightgbm_wrapper_folder_loads_through_its_pickle(
    mlflow: Any, package: Packager, binary: Table, tmp_path: Path
) -> None:
    import lightgbm as lgb
    import mlflow.lightgbm

    X = binary.categorical
    original = lgb.LGBMClassifier(n_estimators=5, min_child_samples=5, verbose=-1).fit(X, binary.y)
    src = tmp_path / "mlflow-lgb"
    mlflow.lightgbm.save_model(
        original,
        src,
        serialization_format="cloudpickle",
        pip_requirements=_requirements("lightgbm"),
    )

    name, pkg, signature = _import(src, tmp_path, package)

    assert name == "sklearn"
    assert signature is None
    assert np.array_equal(pkg.model.predict(X), original.predict(X))
    assert np.array_equal(pkg.model.predict_proba(X), original.predict_proba(X))


def _write_mlmodel(folder: Path, content: dict[str, Any]) -> Path:
    folder.mkdir()
    (folder / "MLmodel").write_text(yaml.safe_dump(content))
    return folder


def test_unsupported_flavors_are_named(tmp_path: Path) -> None:
    src = _write_mlmodel(
        tmp_path / "src",
        {"flavors": {"python_function": {"loader_module": "x"}, "transformers": {}}},
    )
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(InvalidPackage, match=r"it has python_function, transformers$"):
        import_mlflow_folder(src, out)


def test_skops_and_escaping_paths_are_refused(tmp_path: Path) -> None:
    skops = _write_mlmodel(
        tmp_path / "skops",
        {"flavors": {"sklearn": {"pickled_model": "model.skops", "serialization_format": "skops"}}},
    )
    escaping = _write_mlmodel(
        tmp_path / "escaping", {"flavors": {"onnx": {"data": "../../etc/passwd"}}}
    )
    (tmp_path / "out1").mkdir()
    (tmp_path / "out2").mkdir()

    with pytest.raises(InvalidPackage, match="serialized as 'skops'"):
        import_mlflow_folder(skops, tmp_path / "out1")
    with pytest.raises(InvalidPackage, match="has no valid 'data' file"):
        import_mlflow_folder(escaping, tmp_path / "out2")


def test_not_an_mlflow_folder(tmp_path: Path) -> None:
    assert not is_mlflow_folder(tmp_path)
    assert not is_mlflow_folder(tmp_path / "missing")


def test_signature_conversion_edges() -> None:
    tensor = {
        "inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]'
    }
    optional = {"inputs": '[{"type": "datetime", "name": "when", "required": false}]'}

    assert convert_signature(None) is None
    assert convert_signature(tensor) is None
    assert convert_signature({"inputs": '[{"type": "binary", "name": "blob"}]'}) is None
    assert convert_signature(optional) == {
        "inputs": [{"name": "when", "type": "datetime", "nullable": True}]
    }


def test_onnx_folder(mlflow: Any, package: Packager, classification: Table, tmp_path: Path) -> None:
    import mlflow.onnx
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    X = classification.X[["amount", "days"]]
    model = LogisticRegression().fit(X.to_numpy(np.float32), classification.y)
    proto = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, 2]))])
    src = tmp_path / "mlflow-onnx"
    mlflow.onnx.save_model(proto, src, pip_requirements=_requirements("onnxruntime"))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, _ = session.run(None, {"input": X.to_numpy(np.float32)})

    name, pkg, _ = _import(src, tmp_path, package)

    assert name == "onnx"
    assert pkg.model.classes == list(CLASSES)
    assert np.array_equal(pkg.model.predict(X), labels)
