"""Zero downtime: a real two-worker server under 16 concurrent clients while a deployment
is updated to a new version, re-weighted and rolled back. No request fails, every answer
names the version that produced it, and both workers switch within 2 seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from modelyard import Client, Settings
from tests.serving.conftest import ADMIN_TOKEN, records
from tests.support.live import server_process

CLIENTS = 16


@dataclass
class Answer:
    at: float
    status: int
    version: str | None
    worker: str | None


@pytest.fixture
def server(
    tmp_path: Path, invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> Iterator[tuple[str, str, Settings]]:
    settings = Settings(home=tmp_path / "home", actor="alice")
    x = invoice_frame.drop(columns="label")
    with Client(settings=settings) as c:
        c.log_model(models[0], "payments", input_example=x)
        c.log_model(models[1], "payments", input_example=x)
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    env = {"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN, "MODELYARD_POLL_SECONDS": "0.5"}
    with server_process(settings.home, env=env) as server:
        yield server.url, key, settings
        err = server.stop()
    assert "Traceback" not in err, err[-3000:]


@pytest.mark.slow
def test_updates_weights_and_rollback_under_load(
    server: tuple[str, str, Settings], invoice_frame: pd.DataFrame
) -> None:
    url, key, settings = server
    body = {"inputs": records(invoice_frame.drop(columns="label").head(1))}
    answers: list[Answer] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
            while not stop.is_set():
                try:
                    r = http.post("/v1/deployments/pay/predict", json=body, timeout=30)
                    version = r.json().get("model_version") if r.status_code == 200 else r.text
                    answer = Answer(time.monotonic(), r.status_code, version, None)
                except httpx.HTTPError as e:
                    answer = Answer(time.monotonic(), 0, type(e).__name__, None)
                with lock:
                    answers.append(answer)

    threads = [threading.Thread(target=load) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    switches: list[tuple[float, set[str]]] = []
    with Client(settings=settings) as c:
        time.sleep(1.5)
        c.update_deployment("pay", ["payments:2"])
        switches.append((time.monotonic(), {"payments:2"}))
        time.sleep(3)
        c.update_deployment("pay", ["payments:1=50", "payments:2=50"])
        switches.append((time.monotonic(), {"payments:1", "payments:2"}))
        time.sleep(3)
        c.rollback_deployment("pay", to=2)
        switches.append((time.monotonic(), {"payments:2"}))
        time.sleep(3)
    stop.set()
    for t in threads:
        t.join(timeout=60)

    failed = [a for a in answers if a.status != 200]
    if failed:
        print("FAILED", failed[:3])
    assert not failed, f"{len(failed)} of {len(answers)} requests failed: {failed[:5]}"
    assert len(answers) > 200
    assert {a.version for a in answers} == {"payments:1", "payments:2"}
    # after each change, within 2 s (plus the one request in flight), only the new
    # revision's versions answer, on every worker
    for i, (at, versions) in enumerate(switches):
        until = switches[i + 1][0] if i + 1 < len(switches) else float("inf")
        late = [a for a in answers if at + 2.5 <= a.at < until and a.version not in versions]
        assert not late, f"change {i}: {len(late)} answers from the old revision after 2 s"
        settled = {a.version for a in answers if at + 2.5 <= a.at < until}
        assert settled == versions
