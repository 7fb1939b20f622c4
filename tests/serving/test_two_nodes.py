"""Two server nodes, as a team runs them behind a load balancer: separate homes, one
PostgreSQL database, one S3 bucket. Nothing a report reads stays on a node's disk, so
either node's ``monitor`` sees the rows both scored and the feedback sent to either; an
alert rule fires once and its webhook is delivered once, whichever node's scheduler got
there first; a new revision made through one node serves on the other within its poll
interval. A node killed outright under load loses no write it acknowledged, and of the
rows it scored only those of its last flush interval."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings, StorageUnavailable
from modelyard.monitoring.lake import Lake, connect
from modelyard.monitoring.report import window_files
from tests.serving.conftest import ADMIN_TOKEN
from tests.support.live import server_process
from tests.support.receiver import Receiver
from tests.support.s3server import S3Server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REQUESTS, ROWS = 30, 10  # per node: 300 rows each
POLL = 0.5
FLUSH, SLACK = 1.0, 0.5  # the collector's interval, and what a flush may take when busy
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@dataclass
class Cluster:
    """What two nodes share: the settings of their database and bucket, the deployment's
    scoring key, and the environment each node starts with."""

    settings: Settings
    key: str
    env: dict[str, str]
    bucket: str


@pytest.fixture
def cluster(
    tmp_path: Path,
    pg_url: str,
    s3_server: S3Server,
    trained_model: LogisticRegression,
    payments_frame: pd.DataFrame,
) -> Cluster:
    bucket = f"yard-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    options = s3_server.storage_options()
    settings = Settings(
        home=tmp_path / "setup",
        actor="alice",
        db_url=pg_url,
        artifacts=f"s3://{bucket}/yard",
        artifacts_options=options,
    )
    rows = payments_frame.drop(columns="label")
    with Client(settings=settings) as c:
        c.log_model(trained_model, "payments", input_example=rows.head())
        c.log_model(trained_model, "payments", input_example=rows.head())
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    env = {
        "MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN,
        "MODELYARD_DB_URL": pg_url,
        "MODELYARD_ARTIFACTS": str(settings.artifacts),
        "MODELYARD_ARTIFACTS_OPTIONS": json.dumps(options),
        "MODELYARD_POLL_SECONDS": str(POLL),
        "MODELYARD_ALERT_SECONDS": "1",
    }
    return Cluster(settings, key, env, bucket)


def test_two_nodes_share_everything_durable(
    tmp_path: Path, cluster: Cluster, receiver: Receiver, payments_frame: pd.DataFrame
) -> None:
    rows = payments_frame.drop(columns="label")
    env, key = cluster.env, cluster.key
    body = {"inputs": rows.head(ROWS).to_dict(orient="records")}
    scoring = {"Authorization": f"Bearer {key}"}
    with (
        server_process(tmp_path / "node-a", workers=1, env=env) as a,
        server_process(tmp_path / "node-b", workers=1, env=env) as b,
    ):
        ids: list[str] = []
        for node in (a, b):
            with httpx.Client(base_url=node.url, headers=scoring, timeout=30) as http:
                for _ in range(REQUESTS):
                    answer = http.post("/v1/deployments/pay/predict", json=body)
                    ids.append(answer.raise_for_status().headers["x-request-id"])
        # feedback for node a's requests, sent through node b
        feedback = [
            {"request_id": i, "row": r, "actual": "late"}
            for i in ids[:REQUESTS]
            for r in range(ROWS)
        ]
        httpx.post(
            f"{b.url}/v1/deployments/pay/feedback", json=feedback, headers=scoring, timeout=30
        ).raise_for_status()

        def monitored(node: Any) -> int | None:
            report = httpx.get(
                f"{node.url}/api/v1/deployments/pay/monitoring",
                params={"store": False},
                headers=ADMIN,
                timeout=30,
            ).raise_for_status()
            seen = int(report.json()["rows"])
            labelled = (report.json()["performance"] or {}).get("rows")
            return seen if seen == 2 * REQUESTS * ROWS and labelled == REQUESTS * ROWS else None

        # each node flushes its rows to the bucket within a second; either reads them all
        assert wait_for(lambda: monitored(a), "node a to see 600 rows, 300 with feedback") == 600
        assert monitored(b) == 600
        assert not list((tmp_path / "node-a").rglob("*.parquet"))
        assert not list((tmp_path / "node-b").rglob("*.parquet"))

        # a rule and a webhook, made through node a; both nodes' schedulers run
        admin = httpx.Client(base_url=a.url, headers=ADMIN, timeout=30)
        admin.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["alert.fired"]}
        ).raise_for_status()
        admin.post(
            "/api/v1/alerts/rules",
            json={
                "deployment": "pay",
                "name": "traffic",
                "signal": "rows",
                "threshold": 500,
                "window": "1h",
                "every": "10m",
            },
        ).raise_for_status()
        fired = wait_for(
            lambda: [e for e in receiver.delivered if e.event["type"] == "alert.fired"] or None,
            "the alert's webhook",
        )
        time.sleep(3 * POLL + 2)  # time for a second firing or delivery, if there were one
        assert len(admin.get("/api/v1/alerts").raise_for_status().json()) == 1
        fired = [e for e in receiver.delivered if e.event["type"] == "alert.fired"]
        assert len(fired) == 1 and fired[0].event["after"]["value"] == 600

        # a new revision, made through node b, serves on node a within the poll interval
        with httpx.Client(base_url=a.url, headers=scoring, timeout=30) as http:

            def version_on_a() -> str:
                answer = http.post("/v1/deployments/pay/predict", json=body)
                return str(answer.raise_for_status().headers["modelyard-model-version"])

            assert version_on_a() == "payments:1"
            httpx.patch(
                f"{b.url}/api/v1/deployments/pay",
                json={"models": ["payments:2"]},
                headers=ADMIN,
                timeout=60,
            ).raise_for_status()
            changed = time.monotonic()
            wait_for(lambda: version_on_a() == "payments:2" or None, "the new revision on a")
            took = time.monotonic() - changed
        assert took < POLL + 5, took  # the poll, then the model's load (already cached)
        admin.close()
        errors = a.stop() + b.stop()
    assert "Traceback" not in errors, errors[-3000:]


class Failover:
    """A client of two nodes: it calls the first until it stops answering, then the
    second (as a load balancer's health check would move it), retrying the call."""

    def __init__(self, first: str, second: str) -> None:
        self.urls = [first, second]

    def call(self, do: Callable[[str], T]) -> tuple[str, T]:
        while True:
            url = self.urls[0]
            try:
                return url, do(url)
            except (httpx.TransportError, StorageUnavailable):
                assert len(self.urls) == 2, "both nodes are gone"
                self.urls.pop(0)


def test_sigkill_of_a_node_under_load_loses_no_acknowledged_write(
    tmp_path: Path,
    cluster: Cluster,
    trained_model: LogisticRegression,
    payments_frame: pd.DataFrame,
) -> None:
    rows = payments_frame.drop(columns="label")
    body = {"inputs": rows.head(2).to_dict(orient="records")}
    scoring = {"Authorization": f"Bearer {cluster.key}"}
    answered: list[tuple[str, float, str]] = []  # node, when, request id
    acked_feedback: list[str] = []
    acked_versions: list[int] = []
    stop = threading.Event()
    with (
        server_process(tmp_path / "node-a", workers=1, env=cluster.env) as a,
        server_process(tmp_path / "node-b", workers=1, env=cluster.env) as b,
    ):

        def score_and_send_feedback() -> None:
            nodes = Failover(a.url, b.url)
            while not stop.is_set():
                node, answer = nodes.call(
                    lambda url: httpx.post(
                        f"{url}/v1/deployments/pay/predict", json=body, headers=scoring
                    ).raise_for_status()
                )
                request_id = answer.headers["x-request-id"]
                answered.append((node, time.monotonic(), request_id))
                feedback = [{"request_id": request_id, "actual": "late"}]
                nodes.call(
                    lambda url, sent=feedback: httpx.post(
                        f"{url}/v1/deployments/pay/feedback", json=sent, headers=scoring
                    ).raise_for_status()
                )
                acked_feedback.append(request_id)

        def register() -> None:
            nodes = Failover(a.url, b.url)
            while not stop.is_set():

                def log(url: str) -> int:
                    with Client(url=url, token=ADMIN_TOKEN) as c:
                        return c.log_model(trained_model, "reg", input_example=rows.head()).version

                acked_versions.append(nodes.call(log)[1])

        threads = [threading.Thread(target=f) for f in (score_and_send_feedback,) * 2]
        threads.append(threading.Thread(target=register))
        for t in threads:
            t.start()
        try:
            time.sleep(4)
            os.killpg(a.process.pid, signal.SIGKILL)  # the node, its workers, at once
            killed = time.monotonic()
            time.sleep(3)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        assert not any(t.is_alive() for t in threads)
        b.stop()  # gracefully: it writes what it collected
    on_a = [i for node, _, i in answered if node == a.url]
    on_b = [i for node, _, i in answered if node == b.url]
    assert on_a and on_b and acked_versions, (len(on_a), len(on_b), acked_versions)

    with Client(settings=cluster.settings) as c:  # every registration acknowledged is whole
        stored = {v.version for v in c.list_versions("reg")}
        assert set(acked_versions) <= stored
        assert c.doctor().ok
    options = cluster.settings.artifacts_options
    feedback = Lake.open(f"{cluster.settings.artifacts}/feedback", options)
    collected = Lake.open(f"{cluster.settings.artifacts}/collected", options)
    con = connect()
    feedback.attach(con)
    files = feedback.parts("deployment=pay")
    sent = {r[0] for r in con.execute("SELECT request_id FROM read_parquet(?)", [files]).fetchall()}
    assert set(acked_feedback) <= sent
    files = window_files(
        collected, "pay", datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)
    )
    kept = {r[0] for r in con.execute("SELECT request_id FROM read_parquet(?)", [files]).fetchall()}
    flushed = [i for node, at, i in answered if node == b.url or at < killed - FLUSH - SLACK]
    assert set(flushed) <= kept
