"""Nothing answered is lost: a real two-worker server stopped with SIGTERM under load has
every request it answered 200 in its collected data, and every file is readable."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest

from modelyard import Client, Settings
from tests.serving.conftest import ADMIN_TOKEN, records
from tests.support.live import ServerProcess, server_process


@pytest.mark.slow
def test_sigterm_under_load_loses_no_answered_request(
    payments_home: Settings, invoice_frame: pd.DataFrame
) -> None:
    settings = payments_home
    x = invoice_frame.drop(columns="label")
    with Client(settings=settings) as c:
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    with server_process(settings.home, env={"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN}) as server:
        answered = scored_until_sigterm(server, key, records(x.head(1)))
        err = server.stop()  # stopped already: what it wrote
    assert "Traceback" not in err
    assert len(answered) > 50
    files = list((settings.home / "collected").rglob("*.parquet"))
    assert not list((settings.home / "collected").rglob("*.tmp"))
    ids = set()
    for f in files:  # every file reads whole
        ids |= set(pq.read_table(f, columns=["request_id"]).column("request_id").to_pylist())
    missing = set(answered) - ids
    assert not missing, f"{len(missing)} of {len(answered)} answered requests not collected"


def scored_until_sigterm(
    server: ServerProcess, key: str, rows: list[dict[str, object]]
) -> list[str]:
    """8 clients score one row at a time; after 2.5 s the server gets SIGTERM while they
    keep sending. Returns the request ids it answered 200."""
    body = {"inputs": rows}
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
            while not stop.is_set():
                try:
                    r = http.post("/v1/deployments/pay/predict", json=body, timeout=10)
                except httpx.HTTPError:
                    continue  # the server is going away
                if r.status_code == 200:
                    with lock:
                        answered.append(r.json()["request_id"])

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(2.5)
    server.stop(signal.SIGTERM)  # while the clients keep sending
    stop.set()
    for t in threads:
        t.join(timeout=30)
    return answered
