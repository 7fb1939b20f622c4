"""The landing page looks its caller up off the event loop: while its token lookup waits
on a locked database, health and scoring answer at once."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.live import live_server


def test_a_landing_page_waiting_on_the_database_stalls_nothing_else(
    tmp_path, trained_model: LogisticRegression, payments_frame: pd.DataFrame
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path / "home", actor="alice", poll_seconds=0.1)
    x = payments_frame.drop(columns="label")
    bootstrap(settings)
    with Client(settings=settings) as c:
        c.log_model(trained_model, "payments", input_example=x.head())
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    body = {"inputs": x.head(2).to_dict(orient="records")}
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=60) as http:
        deadline = time.monotonic() + 30
        while http.get("/readyz").status_code != 200:  # /readyz uses no token
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # a first use of a token records when it was used: a write, which waits on the lock
        lock = sqlite3.connect(settings.resolved_home / "modelyard.db", timeout=1)
        lock.isolation_level = None
        lock.execute("BEGIN IMMEDIATE")
        page: list[httpx.Response] = []
        try:
            thread = threading.Thread(
                target=lambda: page.append(
                    httpx.get(f"{url}/", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                              timeout=120)
                )
            )  # fmt: skip
            thread.start()
            time.sleep(0.5)
            assert not page, "the page did not wait on the lock: the test proves nothing"
            for _ in range(5):
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                scored = http.post(
                    "/v1/deployments/pay/predict", json=body,
                    headers={"Authorization": f"Bearer {key}"},
                )  # fmt: skip
                assert scored.status_code == 200, scored.text
                took = time.monotonic() - started
                assert took < 1, f"health and scoring took {took:.1f} s behind the page"
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        thread.join(timeout=60)
        assert page and page[0].status_code == 200 and "signed in as" in page[0].text
