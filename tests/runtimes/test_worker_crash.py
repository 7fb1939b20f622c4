"""A model that crashes its worker fails the requests it held, with the one error body;
the worker is started again, with its models, for the next request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd

from modelyard import Client, Settings
from tests.support.live import live_server

CRASHING = """import os


def init():
    pass


def run(data):
    if (data["amount"] < 0).any():
        os._exit(3)  # a native crash, as far as the server can tell
    return [float(v) * 2 for v in data["amount"]]
"""


def test_a_crashed_model_worker_is_replaced_and_serves_again(tmp_path: Path) -> None:
    folder = tmp_path / "crashing"
    folder.mkdir()
    (folder / "score.py").write_text(CRASHING)
    settings = Settings(home=tmp_path / "home", auth=False)
    with Client(settings=settings) as c:
        version = c.register("crashing", folder, input_example=pd.DataFrame({"amount": [1.0]}))
        c.create_deployment("crash", [version.ref])
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=60) as http:

        def score(amount: float) -> httpx.Response:
            return http.post("/v1/deployments/crash/predict", json={"inputs": [{"amount": amount}]})

        assert score(2.0).json()["predictions"] == [4.0]
        crashed = score(-1.0)
        assert crashed.status_code == 500
        error = crashed.json()["error"]
        assert (error["code"], error["message"]) == (
            "model_error",
            "the model failed to score the input (WorkerLost)",
        )
        assert [score(3.0).json()["predictions"] for _ in range(3)] == [[6.0]] * 3
        assert http.get("/readyz").status_code == 200
