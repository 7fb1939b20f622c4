"""``/metrics`` of a server of four workers speaks for all of them: every scrape, whichever
worker answers it, counts every request the server answered, also after a worker was
killed and replaced; the gauges show the live workers only. A metrics folder left by a
killed server is removed at the next start."""

from __future__ import annotations

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from tests.serving.conftest import ADMIN_TOKEN
from tests.support.live import server_process

DEPLOYMENT = "pay"
CLIENTS, PER_CLIENT = 40, 5
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\} (\S+)$")


def series(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """One scrape, on a fresh connection: the deployment's samples by name."""
    text = httpx.get(f"{url}/metrics", headers=ADMIN, timeout=10).raise_for_status().text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match[2]))
        if labels.get("deployment") == DEPLOYMENT:
            found.setdefault(match[1], []).append((labels, float(match[3])))
    return found


def total(found: dict[str, list[tuple[dict[str, str], float]]], name: str) -> float:
    return sum(value for _, value in found.get(name, []))


def live_pids(found: dict[str, list[tuple[dict[str, str], float]]]) -> set[int]:
    return {int(labels["pid"]) for labels, _ in found.get("modelyard_deployment_revision", [])}


def test_every_scrape_counts_every_workers_requests(
    tmp_path: Path, trained_model: LogisticRegression, payments_frame: pd.DataFrame
) -> None:
    settings = Settings(home=tmp_path / "home", actor="alice")
    rows = payments_frame.drop(columns="label").head(5)
    with Client(settings=settings) as c:
        c.log_model(trained_model, "payments", input_example=rows)
        key = c.create_deployment(DEPLOYMENT, ["payments:1"]).new_keys["primary"]
    body = {"inputs": rows.head(1).to_dict(orient="records")}
    env = {"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN}
    left = settings.home / "serving" / "metrics" / "4194304"  # a killed server's (no such pid)
    left.mkdir(parents=True)
    (left / "counter_4194304.db").write_bytes(b"stale")
    with server_process(settings.home, workers=4, env=env) as server:
        assert not left.exists()

        def one_client(_: int) -> list[int]:  # its own connection: the kernel spreads them
            auth = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=server.url, headers=auth, timeout=30) as http:
                path = f"/v1/deployments/{DEPLOYMENT}/predict"
                return [http.post(path, json=body).status_code for _ in range(PER_CLIENT)]

        with ThreadPoolExecutor(8) as pool:
            statuses = [s for done in pool.map(one_client, range(CLIENTS)) for s in done]
        sent = CLIENTS * PER_CLIENT
        assert statuses == [200] * sent
        workers: set[int] = set()
        for _ in range(12):  # each scrape on its own connection, answered by any worker
            found = series(server.url)
            assert total(found, "modelyard_scoring_requests_total") == sent
            assert total(found, "modelyard_scoring_latency_seconds_count") == sent
            workers |= live_pids(found)
        assert len(workers) == 4, workers  # every worker reports its revision

        os.kill(min(workers), signal.SIGKILL)  # the supervisor replaces it
        deadline = time.monotonic() + 60
        while True:
            found = series(server.url)
            pids = live_pids(found)
            if len(pids) == 4 and min(workers) not in pids:
                break
            assert time.monotonic() < deadline, f"no replacement for {min(workers)}: {pids}"
            time.sleep(0.5)
        assert total(found, "modelyard_scoring_requests_total") == sent  # its counts stay
        err = server.stop()
    assert "Traceback" not in err, err[-3000:]
