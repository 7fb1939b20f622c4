"""Top factors (``?explain=N``): exact TreeSHAP for XGBoost and LightGBM, baseline Shapley
against the version's training reference for every other flavor; online, in batch and
from the CLI. Every model runs in a model worker, as it does in a server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard import Client, Settings
from modelyard.api import create_app
from modelyard.flavors.package import write_manifest
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin, wait_ready
from tests.support.live import EXE

NUMBERS = [f"x{i}" for i in range(6)]
DRIVER = "x2"
ROWS = 400  # rows explained per flavor

SCORE = """
import json, os
from pathlib import Path
import numpy as np

weights = None

def init():
    global weights
    weights = json.loads((Path(os.environ["MODELYARD_MODEL_DIR"]) / "weights.json").read_text())

def run(data):
    z = sum(data[name].to_numpy() * w for name, w in weights.items())
    p = 1 / (1 + np.exp(-z))
    return {
        "predictions": np.where(p >= 0.5, "yes", "no").tolist(),
        "probabilities": np.column_stack([1 - p, p]).tolist(),
        "classes": ["no", "yes"],
    }
"""


def planted(n: int, seed: int) -> pd.DataFrame:
    """Six numbers and a segment; the label follows ``DRIVER`` (and a little noise)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, len(NUMBERS))), columns=NUMBERS)
    frame["segment"] = rng.choice(["north", "south", "east"], n)
    score = 3 * frame[DRIVER] + 0.2 * frame["x0"] + rng.normal(0, 0.3, n)
    return frame.assign(label=np.where(score > 0, "yes", "no"))


@dataclass
class Served:
    http: TestClient
    client: Client
    test: pd.DataFrame
    models: dict[str, Any]


def _python_folder(tmp: Path, weights: dict[str, float]) -> Path:
    import json

    folder = tmp / "script"
    folder.mkdir()
    (folder / "score.py").write_text(SCORE)
    (folder / "weights.json").write_text(json.dumps(weights))
    write_manifest(folder, flavor="python", entrypoint="score.py")
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One deployment per flavor, each version registered with its training dataset."""
    import lightgbm as lgb
    import xgboost as xgb

    tmp = tmp_path_factory.mktemp("explain")
    train, test = planted(2000, seed=1), planted(ROWS, seed=2)
    x, y = train.drop(columns="label"), train["label"]
    numbers, codes = train[NUMBERS], (y == "yes").astype(int)
    encode = make_column_transformer(
        (OneHotEncoder(), ["segment"]), (StandardScaler(), NUMBERS)
    )  # fmt: skip
    three = np.digitize(train[DRIVER], [-0.5, 0.5])  # three classes, by the driver
    models: dict[str, Any] = {
        "logistic": make_pipeline(encode, LogisticRegression()).fit(x, y),
        "forest": make_pipeline(encode, RandomForestClassifier(60, random_state=0)).fit(x, y),
        "xgboost": xgb.XGBClassifier(n_estimators=60, max_depth=3).fit(numbers, codes),
        "xgboost3": xgb.XGBClassifier(n_estimators=40, max_depth=3).fit(numbers, three),
        "lightgbm": lgb.LGBMClassifier(n_estimators=60, verbose=-1).fit(numbers, codes),
        "lightgbm3": lgb.LGBMClassifier(n_estimators=40, verbose=-1).fit(numbers, three),
    }
    settings = Settings(home=tmp / "home", actor="alice")
    bootstrap_admin(settings)
    with Client(settings=settings) as c:
        full = c.register_dataset("train", train)
        only_numbers = c.register_dataset("train-numbers", train[NUMBERS])
        for name, model in models.items():
            tree = name.startswith(("xgboost", "lightgbm"))
            example = (numbers if tree else x).head(5)
            c.log_model(model, name, input_example=example, datasets=[
                (only_numbers if tree else full).ref
            ])  # fmt: skip
            c.create_deployment(name, [f"{name}:1"])
        weights = {name: 0.0 for name in NUMBERS} | {DRIVER: 3.0, "x0": 0.2}
        c.register(
            "script", _python_folder(tmp, weights), input_example=numbers.head(5),
            datasets=[only_numbers.ref],
        )  # fmt: skip
        c.create_deployment("script", ["script:1"])
        compiled = c.compile_version("logistic:1", to="onnx")
        c.create_deployment("compiled", [compiled.ref])
        with TestClient(create_app(settings), raise_server_exceptions=False) as http:
            http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            wait_ready(http)
            yield Served(http, c, test, models)


def explain(served: Served, deployment: str, rows: pd.DataFrame, top: int) -> dict[str, Any]:
    r = served.http.post(
        f"/v1/deployments/{deployment}/predict?explain={top}",
        json={"inputs": rows.to_dict(orient="records")},
    )
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def raw_margin(model: Any, rows: pd.DataFrame) -> np.ndarray:
    """The model's own raw output for each row's predicted class, from the trained object."""
    if hasattr(model, "get_booster"):
        import xgboost as xgb

        margin = model.get_booster().predict(xgb.DMatrix(rows), output_margin=True)
    else:
        margin = model.booster_.predict(rows, raw_score=True)
    margin = np.asarray(margin, dtype=np.float64)
    if margin.ndim == 2:  # multi-class: the predicted class's raw score
        return margin.max(axis=1)
    return np.abs(margin)  # binary: the log-odds of the predicted class


@pytest.mark.parametrize("name", ["xgboost", "xgboost3", "lightgbm", "lightgbm3"])
def test_tree_contributions_and_base_add_up_to_the_raw_output(served: Served, name: str) -> None:
    rows = served.test[NUMBERS]
    answer = explain(served, name, rows, top=len(NUMBERS))
    explained = answer["explanations"]
    assert (explained["method"], explained["output"]) == ("tree_shap", "raw_score")
    totals = np.asarray(
        [r["base"] + sum(f["contribution"] for f in r["factors"]) for r in explained["rows"]]
    )
    assert np.abs(totals - raw_margin(served.models[name], rows)).max() <= 1e-6
    first = explained["rows"][0]
    assert [f["value"] for f in first["factors"]] == [
        rows.iloc[0][f["feature"]] for f in first["factors"]
    ]  # each factor's value, as the request gave it


DEPLOYMENTS = {  # deployment: its inputs
    "logistic": [*NUMBERS, "segment"],
    "forest": [*NUMBERS, "segment"],
    "compiled": [*NUMBERS, "segment"],
    "script": NUMBERS,
    "xgboost": NUMBERS,
    "lightgbm": NUMBERS,
}


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_the_planted_driver_ranks_first_for_every_flavor(served: Served, name: str) -> None:
    rows = served.test[DEPLOYMENTS[name]]
    answer = explain(served, name, rows, top=len(rows.columns))
    explained = answer["explanations"]["rows"]
    first = [r["factors"][0]["feature"] for r in explained]
    print(f"{name}: {DRIVER} first for {first.count(DRIVER)} of {len(first)} rows")
    assert first.count(DRIVER) / len(first) >= 0.95, (name, first.count(DRIVER))
    if answer["explanations"]["method"] == "baseline_shapley":  # moves the probability
        if name == "script":  # its answer has no probabilities: they are the script's
            p = 1 / (1 + np.exp(-(3 * rows[DRIVER] + 0.2 * rows["x0"]).to_numpy()))
            chosen = np.maximum(p, 1 - p)
        else:
            chosen = np.max(np.asarray(answer["probabilities"]), axis=1)
        totals = [r["base"] + sum(f["contribution"] for f in r["factors"]) for r in explained]
        assert np.abs(np.asarray(totals) - chosen).max() <= 1e-9
        assert answer["explanations"]["output"] == "probability"


def test_factors_in_csv_in_batch_and_from_the_cli(served: Served, tmp_path: Path) -> None:
    rows = served.test[DEPLOYMENTS["logistic"]].head(50)
    r = served.http.post(
        "/v1/deployments/logistic/predict",
        content=rows.to_csv(index=False),
        headers={"content-type": "text/csv"},
        params={"explain": 2},
    )
    assert r.status_code == 200, r.text
    header = r.text.splitlines()[0].split(",")
    assert header[-5:] == ["factor_1", "contribution_1", "factor_2", "contribution_2",
                           "explain_base"]  # fmt: skip
    source = tmp_path / "open.csv"
    rows.to_csv(source, index=False)
    done = served.client.predict_file("logistic", source, tmp_path / "out.parquet", explain=2)
    written = pd.read_parquet(done.output)
    assert (written["factor_1"] == DRIVER).mean() >= 0.95
    assert list(written.columns[-6:-1]) == header[-5:]
    cli = subprocess.run(
        [EXE, "predict", "logistic", "-i", str(source), "-o", str(tmp_path / "cli.csv"),
         "--explain", "1"],
        env={"MODELYARD_HOME": str(served.client.settings.resolved_home), "PATH": ""},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert "factor_1" in pd.read_csv(tmp_path / "cli.csv").columns


def test_what_cannot_be_explained_is_refused_in_a_line(served: Served, tmp_path: Path) -> None:
    c = served.client
    example = served.test[DEPLOYMENTS["logistic"]].head(5)
    c.log_model(served.models["logistic"], "bare", input_example=example)
    c.create_deployment("bare", ["bare:1"])  # no training dataset: no reference
    rows = {"inputs": served.test[DEPLOYMENTS["logistic"]].head(2).to_dict(orient="records")}
    wait_ready(served.http)
    cases = [
        ("bare", "?explain=2", 400, "bare:1 cannot be explained: it has no training baseline"),
        ("logistic", "?explain=abc", 400, "explain must be a whole number from 0 to 50"),
        ("logistic", "?explain=51", 400, "explain must be a whole number from 0 to 50"),
    ]
    for deployment, query, status, message in cases:
        r = served.http.post(f"/v1/deployments/{deployment}/predict{query}", json=rows)
        assert r.status_code == status, r.text
        assert r.json()["error"]["message"].startswith(message), r.text
    r = served.http.post("/v1/deployments/logistic/invocations?explain=2", json=rows)
    assert r.status_code == 400 and "/v1/deployments/NAME/predict" in r.text
    r = served.http.post("/v1/deployments/logistic/predict", json={**rows, "explain": True})
    assert r.status_code == 400
    many = {"inputs": rows["inputs"] * 501, "explain": 1}  # 1,002 rows
    r = served.http.post("/v1/deployments/logistic/predict", json=many)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("explain answers at most 1000 rows")
    cli = subprocess.run(
        [EXE, "predict", "bare", "-i", str(_csv(served, tmp_path)), "-o",
         str(tmp_path / "never.csv"), "--explain", "1"],
        env={"MODELYARD_HOME": str(c.settings.resolved_home), "PATH": ""},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert cli.returncode == 1
    assert cli.stderr.strip().splitlines()[-1:] == [  # after the progress bar, one line
        "error: bare:1 cannot be explained: it has no training baseline to explain against: "
        "register the version with a training dataset and deploy it again (XGBoost and "
        "LightGBM need none)"
    ]
    assert not (tmp_path / "never.csv").exists()


def _csv(served: Served, tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    served.test[DEPLOYMENTS["logistic"]].head(5).to_csv(path, index=False)
    return path
