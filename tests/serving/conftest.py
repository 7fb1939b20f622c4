"""A real scikit-learn pipeline (one-hot + gradient boosting, mixed columns, 3 classes),
registered twice, deployed, and served by the real app."""

from __future__ import annotations

import contextlib
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
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard import Client, Settings
from modelyard.api import create_app
from modelyard.services.container import Services

ADMIN_TOKEN = "myd_test-admin-token-000000000000000000000000"
CATEGORICAL = ["group", "currency"]


def invoices(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 500.0, n),
            "terms_days": rng.integers(10, 90, n),
            "late_share": rng.uniform(0, 1, n),
            "group": rng.choice(["retail", "wholesale", "public"], n),
            "currency": rng.choice(["EUR", "USD", "GBP"], n),
        }
    )
    score = (
        frame.late_share * 2
        - frame.amount / 2000
        + (frame.group == "public") * 0.5
        + rng.normal(0, 0.3, n)
    )
    frame["label"] = np.where(score > 0.8, "on_time", np.where(score > 0.2, "late", "very_late"))
    return frame


def bootstrap_admin(settings: Settings) -> None:
    """Give the home's installation admin the token ``ADMIN_TOKEN``, as
    ``MODELYARD_ADMIN_TOKEN`` does when a server starts."""
    services = Services.open(settings)
    try:
        services.authenticator.bootstrap(ADMIN_TOKEN)
    finally:
        services.close()


@pytest.fixture(scope="session")
def invoice_frame() -> pd.DataFrame:
    return invoices(600, seed=11)


def _pipeline(final: object, *, scale: bool = False) -> Pipeline:
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)],
        remainder=StandardScaler() if scale else "passthrough",
    )
    return make_pipeline(encode, final)


@pytest.fixture(scope="session")
def models(invoice_frame: pd.DataFrame) -> tuple[Pipeline, Pipeline]:
    """Version 1 (gradient boosting) and version 2 (logistic regression): their answers
    differ, so a response shows which one produced it."""
    x, y = invoice_frame.drop(columns="label"), invoice_frame["label"]
    first = _pipeline(HistGradientBoostingClassifier(max_iter=20, random_state=0)).fit(x, y)
    second = _pipeline(LogisticRegression(max_iter=1000), scale=True).fit(x, y)
    return first, second


@pytest.fixture
def payments_home(
    tmp_path: Path, invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> Settings:
    """A home with payments:1 (the first of ``models``) registered and nothing deployed."""
    settings = Settings(home=tmp_path / "home", actor="alice")
    with Client(settings=settings) as c:
        c.log_model(models[0], "payments", input_example=invoice_frame.drop(columns="label"))
    return settings


@dataclass
class Served:
    settings: Settings
    http: TestClient
    client: Client
    x: pd.DataFrame
    v1: Pipeline
    v2: Pipeline
    keys: dict[str, str]


@contextlib.contextmanager
def serving(
    home: Path, invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> Iterator[Served]:
    """Home with payments:1 and :2, deployment ``pay`` serving :1, the app in-process."""
    settings = Settings(home=home, actor="alice", poll_seconds=0.1)
    x = invoice_frame.drop(columns="label")
    bootstrap_admin(settings)
    with Client(settings=settings) as c:
        c.log_model(models[0], "payments", input_example=x)
        c.log_model(models[1], "payments", input_example=x)
        created = c.create_deployment("pay", ["payments:1"])
        with TestClient(create_app(settings), raise_server_exceptions=False) as http:
            http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            wait_ready(http)
            yield Served(settings, http, c, x, models[0], models[1], created.new_keys)


@pytest.fixture
def served(
    tmp_path: Path, invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> Iterator[Served]:
    """``serving`` for one test, which may change it."""
    with serving(tmp_path / "home", invoice_frame, models) as found:
        yield found


@pytest.fixture(scope="module")
def served_once(
    tmp_path_factory: pytest.TempPathFactory,
    invoice_frame: pd.DataFrame,
    models: tuple[Pipeline, Pipeline],
) -> Iterator[Served]:
    """``serving`` shared by a module's tests that only read (send requests): starting a
    server that loads a model costs seconds."""
    with serving(tmp_path_factory.mktemp("served") / "home", invoice_frame, models) as found:
        yield found


def wait_ready(http: TestClient, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while http.get("/v2/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "deployments did not load"
        time.sleep(0.05)


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


KEYED_FEATURES = ["amount", "terms_days", "late_share"]
KEYS = ["invoice_id", "customer_id"]


@dataclass
class Keyed:
    settings: Settings
    http: TestClient
    client: Client
    x: pd.DataFrame  # the features
    ids: pd.DataFrame  # the keys, row for row
    model: LogisticRegression


@pytest.fixture
def keyed(tmp_path: Path, invoice_frame: pd.DataFrame) -> Iterator[Keyed]:
    """``pay`` serving a LogisticRegression fitted on a DataFrame: scikit-learn raises
    when it is given a column it was not fitted on, so an answer proves the model never
    saw the keys."""
    x = invoice_frame[KEYED_FEATURES].head(12).reset_index(drop=True)
    model = LogisticRegression(max_iter=500).fit(invoice_frame[KEYED_FEATURES], invoice_frame.label)
    with pytest.raises(ValueError, match="invoice_id"):
        model.predict(x.assign(invoice_id="INV-1"))
    ids = pd.DataFrame({
        "invoice_id": [f"00{i:03d}" for i in range(len(x))],
        "customer_id": [f"C{i % 4}" for i in range(len(x))],
    })  # fmt: skip
    settings = Settings(home=tmp_path / "home", actor="alice", poll_seconds=0.1)
    bootstrap_admin(settings)
    with Client(settings=settings) as c:
        c.log_model(model, "payments", input_example=x)
        c.create_deployment("pay", ["payments:1"], options={"keys": KEYS})
        with TestClient(create_app(settings), raise_server_exceptions=False) as http:
            http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            wait_ready(http)
            yield Keyed(settings, http, c, x, ids, model)
