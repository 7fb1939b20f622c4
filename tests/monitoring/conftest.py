"""A deployment worth watching: a real pipeline trained on a registered dataset (so its
version has a baseline), served by the real app, scored through the real scoring route."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from modelyard import Client, Settings
from modelyard.api import create_app
from modelyard.services.container import Services

ADMIN_TOKEN = "myd_test-admin-token-000000000000000000000000"
NUMERICAL = ["amount", "terms_days", "late_share", "credit_limit", "open_invoices"]
CATEGORICAL = ["region", "currency", "segment"]
FEATURES = NUMERICAL + CATEGORICAL


def invoices(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 500.0, n),
            "terms_days": rng.integers(10, 90, n),
            "late_share": rng.uniform(0, 1, n),
            "credit_limit": rng.normal(10_000, 2_000, n),
            "open_invoices": rng.poisson(3, n),
            "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "currency": rng.choice(["EUR", "USD", "GBP"], n, p=[0.6, 0.3, 0.1]),
            "segment": rng.choice(["retail", "wholesale", "public"], n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "late_share"] = np.nan  # nullable, as in the training data
    score = (
        frame.late_share.fillna(0.5) * 2
        - frame.amount / 2000
        + (frame.segment == "public") * 0.5
        + rng.normal(0, 0.3, n)
    )
    frame["label"] = np.where(score > 0.8, "on_time", np.where(score > 0.2, "late", "very_late"))
    return frame


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    out = []
    for row in frame.to_dict("records"):
        out.append(
            {
                k: (
                    None
                    if isinstance(v, float) and np.isnan(v)
                    else v.item()
                    if hasattr(v, "item")
                    else v
                )
                for k, v in row.items()
            }
        )
    return out


@pytest.fixture(scope="session")
def trained() -> tuple[pd.DataFrame, Pipeline]:
    data = invoices(4000, seed=1)
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)], remainder="passthrough"
    )
    model = make_pipeline(encode, HistGradientBoostingClassifier(max_iter=30, random_state=0))
    model.fit(data[FEATURES], data["label"])
    return data, model


@dataclass
class Watched:
    settings: Settings
    http: TestClient
    client: Client
    model: Pipeline
    key: str

    def score(self, frame: pd.DataFrame, batch: int = 500) -> list[tuple[str, list[str]]]:
        """Score through the real route; (request id, predictions) per request."""
        answers = []
        for start in range(0, len(frame), batch):
            part = frame.iloc[start : start + batch]
            r = self.http.post(
                "/v1/deployments/pay/predict", json={"inputs": records(part[FEATURES])}
            )
            assert r.status_code == 200, r.text
            answers.append((r.json()["request_id"], r.json()["predictions"]))
        return answers

    def flush(self) -> None:
        """What the collector holds goes to disk (it would within a second anyway)."""
        self.http.app.state.runtime.collector.flush()  # type: ignore[attr-defined]


@pytest.fixture
def watched(tmp_path: Path, trained: tuple[pd.DataFrame, Pipeline]) -> Iterator[Watched]:
    data, model = trained
    settings = Settings(home=tmp_path / "home", actor="alice", poll_seconds=0.1, alert_seconds=0.2)
    services = Services.open(settings)
    try:
        services.authenticator.bootstrap(ADMIN_TOKEN)
    finally:
        services.close()
    with Client(settings=settings) as c:
        training = c.register_dataset("invoices", data)
        c.log_model(
            model, "payments", input_example=data[FEATURES].head(50), datasets=[training.ref]
        )
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
        with TestClient(create_app(settings), raise_server_exceptions=False) as http:
            http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            deadline = time.monotonic() + 30
            while http.get("/v2/health/ready").status_code != 200:
                assert time.monotonic() < deadline, "the deployment did not load"
                time.sleep(0.05)
            yield Watched(settings, http, c, model, key)
