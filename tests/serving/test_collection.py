"""Scored requests are collected off the request path, live and shadow under one request
id, with the deployment's sampling rate, and a graceful stop writes them all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sklearn.pipeline import Pipeline

from modelyard import Client, Settings
from modelyard.api import create_app
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin, records, wait_ready


def collected(home: Path, deployment: str) -> pd.DataFrame:
    files = sorted((home / "collected" / f"deployment={deployment}").rglob("*.parquet"))
    if not files:
        return pd.DataFrame()
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def test_every_answered_request_is_collected(
    tmp_path: Path, invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> None:
    settings = Settings(home=tmp_path / "home", actor="alice", poll_seconds=0.1)
    x = invoice_frame.drop(columns="label")
    bootstrap_admin(settings)
    with Client(settings=settings) as c:
        c.log_model(models[0], "payments", input_example=x)
        c.log_model(models[1], "payments", input_example=x)
        c.create_deployment("pay", ["payments:1"], shadows=["payments:2=50"])
        c.create_deployment("quiet", ["payments:1"], options={"sampling": 0})
    answered = []
    with TestClient(create_app(settings)) as http:
        http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        wait_ready(http)
        for i in range(40):
            r = http.post(
                "/v1/deployments/pay/predict", json={"inputs": records(x.iloc[i : i + 2])}
            )
            assert r.status_code == 200
            answered.append(r.json()["request_id"])
        assert (
            http.post(
                "/v1/deployments/quiet/predict", json={"inputs": records(x.head(1))}
            ).status_code
            == 200
        )
        bad = http.post("/v1/deployments/pay/predict", json={"inputs": [{"amount": "x"}]})
        assert bad.status_code == 422
    # the app has stopped: everything buffered is on disk
    rows = collected(settings.home, "pay")
    live = rows[rows["role"] == "live"]
    assert sorted(set(live["request_id"])) == sorted(answered)
    assert len(live) == 80 and set(live["row"]) == {0, 1}
    first = live[live["request_id"] == answered[0]].sort_values("row")
    assert first["in.amount"].tolist() == x["amount"].iloc[0:2].tolist()
    assert first["prediction"].tolist() == models[0].predict(x.iloc[0:2]).tolist()
    assert np.allclose(np.stack(first["probabilities"]), models[0].predict_proba(x.iloc[0:2]))
    assert set(live["variant"]) == {"payments:1"} and set(live["status"]) == {200}
    assert (live["latency_ms"] > 0).all() and set(live["revision"]) == {1}
    shadow = rows[rows["role"] == "shadow"]
    assert 0 < shadow["request_id"].nunique() < 40  # about half were copied
    assert set(shadow["request_id"]) <= set(answered)
    assert set(shadow["variant"]) == {"payments:2"}
    assert collected(settings.home, "quiet").empty  # sampling 0
