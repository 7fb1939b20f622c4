"""A real server on its own PostgreSQL, which the test freezes (SIGSTOP), thaws, stops and
starts again: health, readiness and metrics answer at once throughout, scoring goes on,
control-plane calls answer 503 within the deadline instead of hanging, and each outage is
two log lines, not a traceback a call."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from modelyard import Client, Settings
from tests.serving.conftest import ADMIN_TOKEN, records
from tests.support.live import EXE, free_port, wait_ready
from tests.support.pgcluster import PgCluster, running_cluster
from tests.support.processes import process_group, running_in_group

pytestmark = pytest.mark.postgres

DEADLINE = 2  # MODELYARD_DB_TIMEOUT for this server
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    with running_cluster() as c:
        yield c


def _answers_within(
    http: httpx.Client, path: str, seconds: float, headers: dict[str, str] | None = None
) -> httpx.Response:
    started = time.monotonic()
    r = http.get(path, timeout=seconds + 5, headers=headers)
    took = time.monotonic() - started
    assert took < seconds, f"{path} took {took:.1f} s"
    return r


def _until(check: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@dataclass
class Yard:
    url: str
    process: subprocess.Popen[str]
    log: Path
    body: dict[str, object]  # a scoring request
    scoring: dict[str, str]  # its headers


@contextlib.contextmanager
def _yard(
    cluster: PgCluster, tmp_path: Path, model: object, frame: pd.DataFrame, workers: int
) -> Iterator[Yard]:
    """``modelyard server`` on its own database, serving ``pay``; its log in a file (a
    pipe could fill and block it)."""
    db_url = cluster.create_database("yard")
    settings = Settings(home=tmp_path / "home", db_url=db_url, actor="alice")
    x = frame.drop(columns="label")
    with Client(settings=settings) as c:
        c.log_model(model, "payments", input_example=x)
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    port = free_port()
    env = {
        **os.environ,
        "MODELYARD_HOME": str(settings.home),
        "MODELYARD_DB_URL": db_url,
        "MODELYARD_DB_TIMEOUT": str(DEADLINE),
        "MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    log = tmp_path / "server.log"
    with (
        open(log, "w") as err,
        process_group(
            [EXE, "server", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        ) as process,
    ):
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, answers=10 if workers > 1 else 1)
        yield Yard(
            url, process, log, {"inputs": records(x.head(3))}, {"Authorization": f"Bearer {key}"}
        )


@pytest.mark.slow
def test_a_frozen_then_stopped_database_hangs_nothing_and_logs_each_outage_twice(
    cluster: PgCluster, tmp_path: Path, models: tuple[object, object], invoice_frame: pd.DataFrame
) -> None:
    with (
        _yard(cluster, tmp_path, models[0], invoice_frame, workers=1) as yard,
        httpx.Client(base_url=yard.url) as http,
    ):
        body, scoring, log = yard.body, yard.scoring, yard.log
        assert http.get("/api/v1/models", headers=ADMIN).status_code == 200

        cluster.freeze()
        try:
            # 50 control-plane calls wait on the frozen database; health does not
            with concurrent.futures.ThreadPoolExecutor(50) as pool:
                calls = [
                    pool.submit(
                        httpx.get,
                        f"{yard.url}/api/v1/models",
                        headers=ADMIN,
                        timeout=60,
                    )
                    for _ in range(50)
                ]
                time.sleep(0.5)
                assert _answers_within(http, "/healthz", 1).status_code == 200
                assert _answers_within(http, "/metrics", 1, ADMIN).status_code == 200
                ready = _answers_within(http, "/readyz", 1)
                assert ready.status_code == 200, ready.text  # it still serves: ready
                scored = http.post("/v1/deployments/pay/predict", json=body, headers=scoring)
                assert scored.status_code == 200, scored.text
                started = time.monotonic()
                statuses = [f.result().status_code for f in calls]
            # each call waits at most the deadline (plus a connect attempt, plus queueing
            # behind the 40 threads of the pool), then answers 503: none hangs
            assert set(statuses) == {503}, statuses
            assert time.monotonic() - started < 6 * DEADLINE + 10
            ready = http.get("/readyz").json()
            assert ready["checks"]["database"].startswith("unreachable"), ready
        finally:
            cluster.thaw()
        _until(lambda: http.get("/api/v1/models", headers=ADMIN).status_code == 200)
        assert http.get("/readyz").json()["checks"]["database"] == "ok"

        cluster.halt()
        try:
            outage = time.monotonic()
            while time.monotonic() - outage < 3:  # 3 s of calls answered 503 at once
                r = _answers_within(http, "/api/v1/models", DEADLINE + 1, ADMIN)
                assert r.status_code == 503, r.text
                assert r.json()["error"]["code"] == "storage_unavailable"
                assert (
                    http.post("/v1/deployments/pay/predict", json=body, headers=scoring).status_code
                    == 200
                )
                time.sleep(0.2)
        finally:
            cluster.resume()
        _until(lambda: http.get("/api/v1/models", headers=ADMIN).status_code == 200)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    down = [line for line in text.splitlines() if "unreachable:" in line]
    back = [line for line in text.splitlines() if "reachable again after" in line]
    assert len(down) == 2 and len(back) == 2, text[-3000:]
    assert "***" in down[0] or "postgres@" in down[0]  # names the database, no password


def _workers(supervisor: int) -> list[int]:
    """The server's worker processes: the supervisor's children (forked by it)."""
    found = []
    for pid in running_in_group(supervisor):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            if int(stat.rpartition(")")[2].split()[1]) == supervisor:
                found.append(pid)
    return found


@pytest.mark.slow
def test_a_worker_killed_while_the_database_is_down_is_replaced_and_nothing_stops(
    cluster: PgCluster, tmp_path: Path, models: tuple[object, object], invoice_frame: pd.DataFrame
) -> None:
    refusals: list[str] = []

    def score() -> int:  # a fresh connection each time: any worker may answer
        try:
            r = httpx.post(
                f"{yard.url}/v1/deployments/pay/predict",
                json=yard.body,
                headers=yard.scoring,
                timeout=30,
            )
        except httpx.TransportError as e:
            refusals.append(repr(e))
            return 0
        if r.status_code != 200:
            refusals.append(r.text)
        return r.status_code

    with _yard(cluster, tmp_path, models[0], invoice_frame, workers=2) as yard:
        url, process, log = yard.url, yard.process, yard.log
        before = _workers(process.pid)
        assert len(before) == 2 and score() == 200

        cluster.halt()
        try:
            os.kill(before[0], signal.SIGKILL)
            answers = []
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                answers.append(score())
                time.sleep(0.05)
            # the healthy worker never stopped, and its replacement started without the
            # database and serves what the home's snapshot says
            assert process.poll() is None
            now = _workers(process.pid)
            assert before[1] in now and len(now) == 2, (before, now)
            assert answers.count(200) == len(answers), (refusals[:1], log.read_text())
            # each worker, on a fresh connection, becomes ready (its models load in model
            # workers started without the database)
            _until(lambda: all(httpx.get(f"{url}/readyz").status_code == 200 for _ in range(20)))
        finally:
            cluster.resume()
        _until(lambda: httpx.get(f"{url}/api/v1/models", headers=ADMIN).status_code == 200)
        assert process.poll() is None
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
