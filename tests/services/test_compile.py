"""``models compile``: a pipeline converted to ONNX, verified against its source and
registered with lineage ``compiled_from``; served, it answers as the source does (to
1e-5); what ONNX cannot express is refused in one line naming the operator, with nothing
registered."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from modelyard import Client, InvalidInput, Settings
from modelyard.api import create_app
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin, invoices, records, wait_ready
from tests.support.live import EXE

CATEGORICAL = ["group", "currency"]
NUMERIC = ["amount", "terms_days", "late_share"]


def pipeline(classifier: object) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("num", "passthrough", NUMERIC),
        ]
    )
    return Pipeline([("pre", pre), ("clf", classifier)])


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    frame = invoices(1500, seed=5)
    return frame.drop(columns="label"), frame["label"]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, data: tuple[pd.DataFrame, pd.Series]
) -> Iterator[tuple[TestClient, Client, Pipeline]]:
    """A served home: a gradient-boosting pipeline trained on a registered dataset,
    compiled, both deployed (the app in-process, its models in model workers)."""
    x, y = data
    settings = Settings(home=tmp_path_factory.mktemp("compile") / "home", actor="alice")
    bootstrap_admin(settings)
    model = pipeline(HistGradientBoostingClassifier(max_iter=40, random_state=0)).fit(x, y)
    with Client(settings=settings) as c:
        trained = c.register_dataset("invoices", x.assign(label=y))
        c.log_model(model, "payments", input_example=x.head(30), datasets=[trained.ref])
        with TestClient(create_app(settings), raise_server_exceptions=False) as http:
            http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            yield http, c, model


def test_a_pipeline_compiles_verifies_and_serves_the_same_answers(
    served: tuple[TestClient, Client, Pipeline],
) -> None:
    http, c, model = served
    r = http.post("/api/v1/models/sandbox/payments/versions/1/compile", json={"to": "onnx"})
    assert r.status_code == 201, r.text
    compiled = c.get_version("payments:2")
    assert compiled.flavor == "onnx" and compiled.lineage.compiled_from == "sandbox/payments:1"
    assert int(compiled.params["compiled.rows"]) >= 1500  # its training dataset, and more
    assert float(compiled.params["compiled.max_difference"]) <= 1e-5
    assert compiled.signature == c.get_version("payments:1").signature

    c.create_deployment("fast", ["payments:2"])
    wait_ready(http)
    rows = invoices(300, seed=11).drop(columns="label")
    answer = http.post("/v1/deployments/fast/predict", json={"inputs": records(rows)}).json()
    order = [answer["classes"].index(str(k)) for k in model.classes_]
    got = np.asarray(answer["probabilities"])[:, order]
    assert np.abs(got - model.predict_proba(rows)).max() <= 1e-5
    assert answer["predictions"] == model.predict(rows).tolist()


def test_a_forest_compiles_and_verifies(
    sqlite_client: Client, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    forest = pipeline(RandomForestClassifier(n_estimators=20, random_state=0)).fit(x, y)
    sqlite_client.log_model(forest, "forest", input_example=x.head(30))
    compiled = sqlite_client.compile_version("forest:1")
    assert compiled.params["compiled.input_precision"] in ("double", "single")
    assert float(compiled.params["compiled.max_difference"]) <= 1e-5
    rows = invoices(200, seed=3).drop(columns="label")
    got = sqlite_client.load_model("forest:2").predict_proba(rows)
    assert np.abs(np.asarray(got) - forest.predict_proba(rows)).max() <= 1e-5


def test_what_onnx_cannot_express_is_refused_and_nothing_is_registered(
    sqlite_client: Client, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    numbers = x[NUMERIC]
    odd = make_pipeline(FunctionTransformer(np.log1p), RandomForestClassifier(n_estimators=5))
    sqlite_client.log_model(odd.fit(numbers, y), "odd", input_example=numbers.head(30))
    with pytest.raises(InvalidInput, match="FunctionTransformer") as refused:
        sqlite_client.compile_version("odd:1")
    assert "\n" not in str(refused.value)
    with pytest.raises(InvalidInput, match="the one target is onnx"):
        sqlite_client.compile_version("odd:1", to="tensorrt")
    assert [v.version for v in sqlite_client.list_versions("odd")] == [1]
    home = str(sqlite_client.settings.home)
    done = subprocess.run(
        [EXE, "--home", home, "models", "compile", "odd:1", "--to", "onnx"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "FunctionTransformer" in done.stderr and "Traceback" not in done.stderr


def test_the_cli_compiles_and_shows_the_lineage(
    sqlite_client: Client, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    model = pipeline(HistGradientBoostingClassifier(max_iter=10)).fit(x, y)
    sqlite_client.log_model(model, "cli", input_example=x.head(30))
    home = str(sqlite_client.settings.home)
    done = subprocess.run(
        [EXE, "--home", home, "models", "compile", "cli:1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "registered sandbox/cli:2 (onnx, compiled from sandbox/cli:1; verified on" in done.stdout
    shown = subprocess.run(
        [EXE, "--home", home, "models", "show", "cli:2"], capture_output=True, text=True, check=True
    )
    assert "compiled from" in shown.stdout and "sandbox/cli:1" in shown.stdout


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_boosters_compile_with_onnxmltools(
    sqlite_client: Client, data: tuple[pd.DataFrame, pd.Series], framework: str
) -> None:
    x, y = data
    numbers = x[NUMERIC].astype(np.float64)
    labels = pd.Series(pd.Categorical(y).codes, index=y.index)  # boosters want 0..k-1
    if framework == "xgboost":
        from xgboost import XGBClassifier

        model = XGBClassifier(n_estimators=20, max_depth=3).fit(numbers, labels)
    else:
        from lightgbm import LGBMClassifier

        model = LGBMClassifier(n_estimators=20, verbose=-1).fit(numbers, labels)
    sqlite_client.log_model(model, framework, input_example=numbers.head(30))
    compiled = sqlite_client.compile_version(f"{framework}:1")
    assert compiled.flavor == "onnx" and float(compiled.params["compiled.max_difference"]) <= 1e-5
    got = np.asarray(sqlite_client.load_model(f"{framework}:2").predict_proba(numbers))
    assert np.abs(got - model.predict_proba(numbers)).max() <= 1e-5
