"""A server killed with SIGKILL under load loses at most the last flush interval of
collected rows, and every file it left is whole and readable."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pandas as pd
import pyarrow.parquet as pq

from modelyard import Client, Settings
from tests.serving.conftest import ADMIN_TOKEN, records
from tests.support.live import server_process

FLUSH_SECONDS = 1.0  # the collector's interval
SLACK = 0.5  # time a flush itself may take on a busy machine


def test_sigkill_loses_at_most_the_last_flush_interval(
    payments_home: Settings, invoice_frame: pd.DataFrame
) -> None:
    settings = payments_home
    x = invoice_frame.drop(columns="label")
    with Client(settings=settings) as c:
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    body = {"inputs": records(x.head(1))}
    answered: list[tuple[float, str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    # one worker: the whole server is one process, so SIGKILL takes all of it at once
    with server_process(
        settings.home, workers=1, env={"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN}
    ) as server:

        def load() -> None:
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=server.url, headers=headers) as http:
                while not stop.is_set():
                    try:
                        r = http.post("/v1/deployments/pay/predict", json=body, timeout=10)
                    except httpx.HTTPError:
                        continue
                    if r.status_code == 200:
                        with lock:
                            answered.append((time.monotonic(), r.json()["request_id"]))

        threads = [threading.Thread(target=load) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(3.5)
        killed_at = time.monotonic()
        server.stop(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    files = list((settings.home / "collected").rglob("part-*.parquet"))
    assert files, "nothing was flushed before the kill"
    ids: set[str] = set()
    for f in files:  # every file reads whole (an interrupted write left only a .tmp)
        ids |= set(pq.read_table(f).column("request_id").to_pylist())
    settled = [rid for at, rid in answered if at < killed_at - FLUSH_SECONDS - SLACK]
    assert len(settled) > 100
    missing = [rid for rid in settled if rid not in ids]
    assert not missing, f"{len(missing)} of {len(settled)} settled requests were lost"
    lost = len(answered) - len(set(rid for _, rid in answered) & ids)
    assert lost < len(answered)  # and what was lost is only the tail
