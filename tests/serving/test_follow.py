"""``modelyard serve --follow``: the scoring runtime alone, following a server's revisions
with a scoring-only credential (role ``scorer``), answering as the server does, and, for
one deployment, MLflow's root routes. The credential reads nothing else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from modelyard import Client, Settings
from modelyard.cli.serve import scoring_app
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin
from tests.support.live import live_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Client]]:
    settings = Settings(home=tmp_path / "server", poll_seconds=0.2)
    bootstrap_admin(settings)
    with live_server(settings) as url, Client(url=url, token=ADMIN_TOKEN) as admin:
        yield url, admin


def follower(tmp_path: Path, url: str, token: str, deployments: list[str] | None) -> TestClient:
    spec = {
        "folders": [],
        "follow": url,
        "deployments": deployments,
        "trusted": [],
        "collected": str(tmp_path / "collected"),
    }
    settings = Settings(home=tmp_path / "follower", token=token, poll_seconds=0.2)
    return TestClient(scoring_app(spec, settings))


def wait_for(http: TestClient, path: str, headers: dict[str, str], version: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        r = http.post(path, json={"inputs": ROWS}, headers=headers)
        if r.status_code == 200 and r.json()["model_version"] == version:
            return dict(r.json())
        assert time.monotonic() < deadline, r.text
        time.sleep(0.1)


ROWS = [{"amount": 120.0, "terms_days": 30, "late_share": 0.4}]


def test_a_scorer_follows_the_servers_revisions_and_reads_nothing_else(
    server: tuple[str, Client],
    tmp_path: Path,
    trained_model: LogisticRegression,
    payments_frame: pd.DataFrame,
) -> None:
    url, admin = server
    features = payments_frame.drop(columns="label")
    training = admin.register_dataset("pay-train", payments_frame)  # a baseline: explainable
    admin.log_model(trained_model, "pay", input_example=features.head(), datasets=[training.ref])
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(features, payments_frame.label)
    admin.log_model(tree, "pay", input_example=features.head())
    keys = admin.create_deployment("pay-live", ["pay:1"]).new_keys
    admin.log_model(trained_model, "pay", input_example=features.head(), environment="production")
    admin.create_deployment("other", ["pay:1"], environment="production")
    admin.create_user("edgebox")
    admin.grant("edgebox", "sandbox", "scorer")
    token = admin.create_token("follow", user="edgebox").secret
    with Client(url=url, token=token) as scorer:
        assert [s.name for s in scorer.serving_states()] == ["pay-live"]  # not production's
        with pytest.raises(Exception, match="may not read in 'sandbox'"):
            scorer.get_version("pay:1")
        with pytest.raises(Exception, match="no deployment you may score serves package"):
            scorer.serving_manifest("sha256:" + "0" * 64)
    by_key = {"Authorization": f"Bearer {keys['primary']}"}
    by_token = {"Authorization": f"Bearer {token}"}
    path = "/v1/deployments/pay-live/predict"
    with follower(tmp_path, url, token, ["pay-live"]) as http:
        first = wait_for(http, path, by_key, "pay:1")
        expected = trained_model.predict_proba(pd.DataFrame(ROWS))[0]
        assert first["probabilities"][0] == pytest.approx(expected.tolist(), abs=1e-12)
        assert http.post(path, json={"inputs": ROWS}, headers=by_token).status_code == 200
        # the revision's explain reference travels with what it follows
        explained = http.post(path + "?explain=2", json={"inputs": ROWS}, headers=by_key)
        assert explained.status_code == 200, explained.text
        assert explained.json()["explanations"]["method"] == "baseline_shapley"
        wrong = http.post(path, json={"inputs": ROWS}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthenticated"
        # MLflow's scoring container routes, for the one deployment served
        assert http.get("/ping").status_code == 200 and http.get("/health").status_code == 200
        assert http.get("/version").text
        split = {"dataframe_split": {"columns": list(ROWS[0]), "data": [list(ROWS[0].values())]}}
        mlflow = http.post("/invocations", json=split, headers=by_key)
        assert mlflow.json() == {"predictions": first["predictions"]}
        admin.update_deployment("pay-live", ["pay:2"])
        second = wait_for(http, path, by_key, "pay:2")
        assert second["model_version"] == "pay:2"
        assert second["predictions"] == tree.predict(pd.DataFrame(ROWS)).tolist()
        assert http.get("/readyz").status_code == 200
    # following every deployment it may score: the root route names none
    admin.create_deployment("pay-two", ["pay:1"])
    with follower(tmp_path, url, token, None) as http:
        wait_for(http, "/v1/deployments/pay-two/predict", by_token, "pay:1")
        answer = http.post("/invocations", json=split, headers=by_key)
        assert answer.status_code == 404
        assert "exactly one deployment" in answer.json()["error"]["message"]
