"""Two server nodes, as a team runs them behind a load balancer: separate homes, one
PostgreSQL database, one S3 bucket. Nothing a report reads stays on a node's disk, so
either node's ``monitor`` sees the rows both scored and the feedback sent to either; an
alert rule fires once and its webhook is delivered once, whichever node's scheduler got
there first; a new revision made through one node serves on the other within its poll
interval."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from tests.serving.conftest import ADMIN_TOKEN
from tests.support.live import server_process
from tests.support.receiver import Receiver
from tests.support.s3server import S3Server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REQUESTS, ROWS = 30, 10  # per node: 300 rows each
POLL = 0.5
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_two_nodes_share_everything_durable(
    tmp_path: Path,
    pg_url: str,
    s3_server: S3Server,
    receiver: Receiver,
    trained_model: LogisticRegression,
    payments_frame: pd.DataFrame,
) -> None:
    bucket = f"yard-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    options = s3_server.storage_options()
    shared = {"db_url": pg_url, "artifacts": f"s3://{bucket}/yard", "artifacts_options": options}
    rows = payments_frame.drop(columns="label")
    with Client(settings=Settings(home=tmp_path / "setup", actor="alice", **shared)) as c:
        c.log_model(trained_model, "payments", input_example=rows.head())
        c.log_model(trained_model, "payments", input_example=rows.head())
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    env = {
        "MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN,
        "MODELYARD_DB_URL": pg_url,
        "MODELYARD_ARTIFACTS": shared["artifacts"],
        "MODELYARD_ARTIFACTS_OPTIONS": json.dumps(options),
        "MODELYARD_POLL_SECONDS": str(POLL),
        "MODELYARD_ALERT_SECONDS": "1",
    }
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
