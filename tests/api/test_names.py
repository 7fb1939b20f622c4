"""What a caller without credentials can learn of names: nothing. ``/metrics`` (which names
deployments and model versions) needs a token, and every scoring route answers an unknown
deployment exactly as it answers an existing one the caller may not use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from modelyard.api import create_app
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.serving.conftest import wait_ready

ROUTES = [
    ("POST", "/v1/deployments/{}/predict"),
    ("POST", "/v1/deployments/{}/invocations"),
    ("POST", "/v1/deployments/{}/feedback"),
    ("POST", "/v2/models/{}/infer"),
    ("GET", "/v2/models/{}"),
    ("GET", "/v2/models/{}/ready"),
]
CREDENTIALS = {
    "none": {},
    "a guessed scoring key": {"Authorization": "Bearer myk_guess-000000000000000000000000000"},
    "a guessed token": {"Authorization": "Bearer myd_guess-000000000000000000000000000000"},
}


@pytest.fixture
def home(
    tmp_path: Path, trained_model: LogisticRegression, payments_frame: pd.DataFrame
) -> Iterator[tuple[Settings, str]]:
    settings = Settings(home=tmp_path / "home", actor="alice", poll_seconds=0.1)
    bootstrap(settings)
    with Client(settings=settings) as c:
        c.log_model(trained_model, "payments", input_example=payments_frame.drop(columns="label"))
        c.create_deployment("pay", ["payments:1"])
        c.create_user("vera")
        c.grant("vera", "sandbox", "viewer")
        viewer = c.create_token("metrics", user="vera").secret
    yield settings, viewer


def test_scoring_answers_an_unknown_name_as_a_forbidden_one(home: tuple[Settings, str]) -> None:
    settings, _ = home
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        wait_ready(http)
        for method, route in ROUTES:
            for what, headers in CREDENTIALS.items():
                same = {**headers, "X-Request-Id": "r1"}
                existing = http.request(method, route.format("pay"), headers=same, json=[])
                unknown = http.request(method, route.format("nope"), headers=same, json=[])
                assert existing.status_code == unknown.status_code == 401, (route, what)
                assert existing.text.replace("pay", "NAME") == unknown.text.replace(
                    "nope", "NAME"
                ), (route, what)
        # a signed-in user may learn that a name does not exist
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert http.get("/v2/models/nope", headers=admin).status_code == 404


@pytest.mark.parametrize("public", [False, True])
def test_metrics_need_a_token_unless_made_public(home: tuple[Settings, str], public: bool) -> None:
    settings, viewer = home
    settings = settings.model_copy(update={"public_metrics": public})
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        wait_ready(http)
        anonymous = http.get("/metrics")
        if public:
            assert anonymous.status_code == 200 and 'deployment="pay"' in anonymous.text
        else:
            assert anonymous.status_code == 401 and "pay" not in anonymous.text
            assert anonymous.json()["error"]["code"] == "unauthenticated"
        seen = http.get("/metrics", headers={"Authorization": f"Bearer {viewer}"})
        assert seen.status_code == 200 and 'deployment="pay"' in seen.text
