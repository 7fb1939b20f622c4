"""Each flavor through the whole registry: register, store, load back, predict exactly as
the original object did — from an in-memory model and from a bare model file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import xgboost
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from modelyard import Client

N = 120


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"amount": rng.normal(100, 30, N), "days": rng.uniform(0, 60, N)})
    y = np.where(x["amount"] / 30 + x["days"] / 15 + rng.normal(0, 1, N) > 7, "late", "on_time")
    return x, y


def _same(loaded: Any, original: Any, x: pd.DataFrame) -> None:
    assert np.array_equal(np.asarray(loaded.predict(x)), np.asarray(original.predict(x)))
    if hasattr(original, "predict_proba"):
        assert np.array_equal(loaded.predict_proba(x), original.predict_proba(x))


def test_sklearn(sqlite_client: Client, frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    x, y = frame
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y)
    v = sqlite_client.log_model(model, "rf", input_example=x.head())
    assert v.flavor == "sklearn"
    loaded = sqlite_client.load_model(v.ref)
    _same(loaded, model, x)
    assert loaded.classes == ["late", "on_time"]


def test_xgboost(sqlite_client: Client, frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    x, y = frame
    model = xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(x, (y == "late").astype(int))
    v = sqlite_client.log_model(model, "xgb", input_example=x.head())
    assert v.flavor == "xgboost"
    _same(sqlite_client.load_model(v.ref), model, x)


def test_lightgbm(sqlite_client: Client, frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    x, y = frame
    model = lightgbm.LGBMClassifier(n_estimators=8, min_child_samples=5, verbose=-1).fit(x, y)
    v = sqlite_client.log_model(model, "lgbm", input_example=x.head())
    assert v.flavor == "lightgbm"
    _same(sqlite_client.load_model(v.ref), model, x)


def test_onnx(sqlite_client: Client, frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    x, y = frame
    proto = to_onnx(
        LogisticRegression().fit(x, y), x.to_numpy(np.float32)[:1], options={"zipmap": False}
    )
    v = sqlite_client.log_model(proto, "onnx", input_example=x.head())
    assert v.flavor == "onnx"
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(
        None, {session.get_inputs()[0].name: x.to_numpy(np.float32)}
    )
    loaded = sqlite_client.load_model(v.ref)
    assert np.array_equal(np.asarray(loaded.predict(x)), labels)
    assert np.array_equal(loaded.predict_proba(x), probabilities)


def test_python_score_folder(
    sqlite_client: Client, tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, _ = frame
    folder = tmp_path / "scorer"
    folder.mkdir()
    (folder / "threshold.txt").write_text("100")
    (folder / "score.py").write_text(
        "import os\n"
        "def init():\n"
        "    global limit\n"
        "    path = os.path.join(os.environ['MODELYARD_MODEL_DIR'], 'threshold.txt')\n"
        "    limit = float(open(path).read())\n"
        "def run(data):\n"
        "    return ['late' if a > limit else 'on_time' for a in data['amount']]\n"
    )
    v = sqlite_client.register("rule", folder, input_example=x.head())
    assert v.flavor == "python"
    got = sqlite_client.load_model(v.ref).predict(x)
    assert list(got) == ["late" if a > 100 else "on_time" for a in x["amount"]]


@pytest.mark.parametrize("suffix", [".joblib", ".onnx", ".ubj", ".txt"])
def test_bare_model_files(
    sqlite_client: Client, tmp_path: Path, suffix: str, frame: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, y = frame
    example = tmp_path / "example.csv"
    x.head(10).to_csv(example, index=False)
    path = tmp_path / f"model{suffix}"
    original: Any
    if suffix == ".joblib":
        import joblib

        original = LogisticRegression().fit(x, y)
        joblib.dump(original, path)
    elif suffix == ".onnx":
        proto = to_onnx(
            LogisticRegression().fit(x, y), x.to_numpy(np.float32)[:1], options={"zipmap": False}
        )
        path.write_bytes(proto.SerializeToString())
        original = None
    elif suffix == ".ubj":
        original = xgboost.XGBClassifier(n_estimators=5).fit(x, (y == "late").astype(int))
        original.save_model(path)
    else:
        original = lightgbm.LGBMRegressor(n_estimators=5, min_child_samples=5, verbose=-1).fit(
            x, x["amount"]
        )
        original.booster_.save_model(path)
    v = sqlite_client.register("bare", path, input_example=example)
    assert [c["name"] for c in (v.signature or {})["inputs"]] == ["amount", "days"]
    loaded = sqlite_client.load_model(v.ref)
    if original is not None:
        assert np.array_equal(np.asarray(loaded.predict(x)), np.asarray(original.predict(x)))
    else:
        assert len(loaded.predict(x)) == N
