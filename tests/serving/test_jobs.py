"""Scheduled batch jobs against a local S3-compatible server and a PostgreSQL table: each
run's rows are collected with their keys, its output is a dataset version and a table's
rows, a failed run fires the job's alert and the next good one resolves it; a server's
scheduler runs a due job by itself; bad input is one line and writes nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from modelyard.domain.errors import ModelyardError
from tests.support.live import live_server
from tests.support.s3server import S3Server

KEYS = ["invoice_id", "customer_id"]


@pytest.fixture(scope="module")
def trained() -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"amount": rng.gamma(2, 500, 400), "terms_days": rng.integers(10, 90, 400)})
    y = np.where(x["amount"] / x["terms_days"] > 20, "late", "on_time")
    return LogisticRegression(max_iter=500).fit(x, y), x


def invoices(x: pd.DataFrame, start: int, n: int) -> pd.DataFrame:
    """``n`` open invoices with their keys (ids that look like numbers stay text)."""
    rows = x.iloc[start : start + n].reset_index(drop=True)
    keys = pd.DataFrame(
        {
            "invoice_id": [f"{i:06d}" for i in range(start, start + n)],
            "customer_id": [f"C{i % 7}" for i in range(start, start + n)],
        }
    )
    return pd.concat([keys, rows], axis=1)


def collected(c: Client, deployment: str) -> pd.DataFrame:
    lake = c.api.services.collected  # type: ignore[attr-defined]
    parts = lake.fs.glob(f"{lake.root}/deployment={deployment}/*/*.parquet")
    return pd.concat(
        [pq.read_table(p, filesystem=lake.fs).to_pandas() for p in parts], ignore_index=True
    )


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    name = f"jobs-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(name)
    return name


@pytest.mark.postgres
def test_two_scheduled_runs_on_a_controlled_clock_collect_register_append_and_alert(
    tmp_path: Path,
    s3_server: S3Server,
    bucket: str,
    pg_url: str,
    trained: tuple[LogisticRegression, pd.DataFrame],
) -> None:
    model, x = trained
    options = s3_server.storage_options()
    settings = Settings(
        home=tmp_path / "home",
        actor="alice",
        artifacts=f"s3://{bucket}/yard",
        artifacts_options=options,
        job_roots=f"s3://{bucket}/jobs/",
        job_databases={"bi": pg_url},
    )
    fs, _ = fsspec.core.url_to_fs(f"s3://{bucket}", **options)
    source = f"s3://{bucket}/jobs/open-invoices.csv"
    with Client(settings=settings) as c:
        c.log_model(model, "pay", input_example=x.head())
        c.create_deployment("pay", ["pay:1"], options={"keys": KEYS})
        fs.pipe(source, invoices(x, 0, 120).to_csv(index=False).encode())
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
        job = c.create_job(
            "nightly",
            "pay",
            source,
            f"s3://{bucket}/jobs/scored/{{date}}-run{{run}}.parquet",
            every="1d",
            start=start,
            table="bi:invoice_predictions",
        )
        assert job.next_run_at == start and job.every_seconds == 86400

        first = c.api.jobs.run_due(start + timedelta(minutes=1))
        assert [(r.number, r.state, r.scored) for r in first] == [(1, "succeeded", 120)]
        assert c.api.jobs.run_due(start + timedelta(hours=5)) == []  # not due again yet
        fs.pipe(source, invoices(x, 120, 80).to_csv(index=False).encode())  # the next day's
        second = c.api.jobs.run_due(start + timedelta(days=1, minutes=1))
        assert [(r.number, r.state, r.scored) for r in second] == [(2, "succeeded", 80)]

        # every scored row is collected, as live traffic with its keys, at its input row
        rows = collected(c, "pay")
        assert len(rows) == 200 == first[0].scored + second[0].scored
        assert set(rows["request_id"]) == {"job-nightly-1", "job-nightly-2"}
        assert set(rows["role"]) == {"live"}
        first_rows = rows[rows["request_id"] == "job-nightly-1"].sort_values("row")
        assert first_rows["row"].tolist() == list(range(120))
        assert first_rows["key.invoice_id"].tolist() == [f"{i:06d}" for i in range(120)]

        # two dataset versions, and the outputs where the job said
        versions = c.list_dataset_versions("nightly-output")
        assert sorted((v.version, v.rows) for v in versions) == [(1, 120), (2, 80)]
        written = sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{bucket}/jobs/scored"))
        assert written == [
            f"{(start + timedelta(minutes=1)).date()}-run1.parquet",
            f"{(start + timedelta(days=1, minutes=1)).date()}-run2.parquet",
        ]
        out = pd.read_parquet(f"s3://{bucket}/jobs/scored/{written[1]}", storage_options=options)
        assert out["invoice_id"].tolist() == [f"{i:06d}" for i in range(120, 200)]

        # the table holds exactly the scored rows, with their keys, run and time
        engine = sa.create_engine(pg_url)
        try:
            table = pd.read_sql_table("invoice_predictions", engine)
        finally:
            engine.dispose()
        assert len(table) == 200
        assert table["invoice_id"].tolist() == [f"{i:06d}" for i in range(200)]
        assert {"customer_id", "prediction", "probability_late", "job_run", "scored_at"} <= set(
            table.columns
        )
        assert table.groupby("job_run").size().to_dict() == {1: 120, 2: 80}

        # each key's newest prediction, from the runs
        latest = c.latest_predictions("pay", since="7d")
        assert len(latest["rows"]) == 200

        # the input is missing: the run fails, one alert fires (once), audited for webhooks
        fs.rm(source)
        failed = c.api.jobs.run_due(start + timedelta(days=2, minutes=1))
        assert [(r.number, r.state) for r in failed] == [(3, "failed")]
        assert failed[0].error == f"the input {source} does not exist"
        again = c.api.jobs.run_due(start + timedelta(days=3, minutes=1))
        assert [(r.number, r.state) for r in again] == [(4, "failed")]
        alerts = c.list_alerts(deployment="pay")
        assert [(a.rule, a.state) for a in alerts] == [("job:nightly", "firing")]
        assert "run 3 of batch job nightly failed: the input" in alerts[0].message
        fired = [e for e in c.audit(action="alert.fired") if "job:nightly" in e.subject]
        assert len(fired) == 1
        assert len(collected(c, "pay")) == 200  # a failed run collects nothing
        assert len(c.list_dataset_versions("nightly-output")) == 2

        # back: a run asked for now succeeds and resolves the alert
        fs.pipe(source, invoices(x, 200, 10).to_csv(index=False).encode())
        manual = c.run_job("nightly")
        assert (manual.number, manual.trigger, manual.state, manual.scored) == (
            5,
            "manual",
            "succeeded",
            10,
        )
        assert [a.state for a in c.list_alerts(deployment="pay")] == ["resolved"]
        shown = c.get_job("nightly")
        assert shown.last_run is not None and shown.last_run.number == 5
        assert [r.number for r in c.list_job_runs("nightly", limit=3)] == [5, 4, 3]
        # its own rule is not evaluated as a monitoring rule
        assert [o["rule"] for o in c.evaluate_alerts("pay")] == []


@pytest.fixture
def served(tmp_path: Path, trained: tuple[LogisticRegression, pd.DataFrame]) -> Iterator[Client]:
    """A server (its scheduler looking every 0.2 s) and a remote client of it."""
    model, x = trained
    roots = tmp_path / "exchange"
    roots.mkdir()
    server = Settings(
        home=tmp_path / "server",
        actor="alice",
        job_seconds=0.2,
        job_roots=str(roots),
        job_databases={"bi": f"sqlite:///{tmp_path / 'bi.db'}"},
    )
    with Client(settings=server) as admin:
        training = admin.register_dataset("training", x)  # what top factors explain against
        admin.log_model(model, "pay", input_example=x.head(), datasets=[training.ref])
        admin.create_deployment("pay", ["pay:1"], options={"keys": KEYS})
        admin.create_user("alice", is_admin=True)
        secret = admin.create_token("jobs", user="alice").secret
    invoices(x, 0, 30).to_csv(roots / "in.csv", index=False)
    with live_server(server) as url:
        remote = Settings(home=tmp_path / "client", url=url, token=SecretStr(secret))
        with Client(settings=remote) as client:
            yield client


def test_the_server_runs_a_due_job_by_itself_and_refuses_bad_jobs_in_one_line(
    served: Client, tmp_path: Path
) -> None:
    roots = tmp_path / "exchange"
    c = served
    job = c.create_job(
        "hourly", "pay", str(roots / "in.csv"), str(roots / "out.csv"), every="1h", explain=2
    )
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while (run := c.get_job("hourly").last_run) is None or run.state == "running":
        assert datetime.now(UTC) < deadline, "the scheduler did not run the due job"
        time.sleep(0.1)
    assert run is not None and (run.trigger, run.state, run.scored) == ("schedule", "succeeded", 30)
    assert c.get_job("hourly").next_run_at == job.next_run_at + timedelta(hours=1)  # type: ignore[operator]
    out = pd.read_csv(roots / "out.csv", dtype={"invoice_id": str})
    assert out["invoice_id"].tolist() == [f"{i:06d}" for i in range(30)]
    assert out["prediction"].notna().all()
    assert set(out["factor_1"]) <= {"amount", "terms_days"} and out["contribution_2"].notna().all()

    refused = {
        "outside": dict(input="/etc/passwd.csv"),
        "climbs": dict(input=str(roots / ".." / "elsewhere.csv")),
        "format": dict(input=str(roots / "in.txt")),
        "same": dict(output=str(roots / "in.csv")),
        "database": dict(table="warehouse:predictions"),
        "table": dict(table="bi:drop table x"),
        "every": dict(every="10s"),
        "start": dict(every=None, start="2026-01-01T00:00"),
        "deployment": dict(deployment="nope"),
        "name": dict(name="hourly"),
    }
    for why, change in refused.items():
        given: dict[str, object] = {
            "name": "bad",
            "deployment": "pay",
            "input": str(roots / "in.csv"),
            "output": str(roots / "bad.csv"),
            "every": "1h",
            **change,
        }
        with pytest.raises(ModelyardError) as caught:
            c.create_job(
                str(given.pop("name")),
                str(given.pop("deployment")),
                str(given.pop("input")),
                str(given.pop("output")),
                **given,  # type: ignore[arg-type]
            )
        message = str(caught.value)
        assert "\n" not in message and message, why
        assert caught.value.status in (400, 404, 409), (why, caught.value.status)
    assert [j.name for j in c.list_jobs()] == ["hourly"]  # nothing written

    # a link placed in the folder since the job was made is refused when the job runs
    (tmp_path / "secret.csv").write_text("amount,terms_days\n1,2\n")
    c.create_job("swapped", "pay", str(roots / "swap.csv"), str(roots / "swap-out.csv"))
    (roots / "swap.csv").symlink_to(tmp_path / "secret.csv")
    swapped = c.run_job("swapped")
    assert swapped.state == "failed" and swapped.error is not None
    assert "outside the places jobs may use" in swapped.error
    assert not (roots / "swap-out.csv").exists()

    # over plain HTTP, the one error body
    http = c.api.http.client  # type: ignore[attr-defined]
    r = http.post(
        "/api/v1/jobs",
        json={"name": "x", "deployment": "pay", "input": "/etc/passwd.csv", "output": "/tmp/o.csv"},
    )
    assert r.status_code == 400
    assert "outside the places jobs may use" in r.json()["error"]["message"]
    r = http.post("/api/v1/jobs/hourly/runs")
    assert r.status_code == 201 and r.json()["state"] == "succeeded", r.text
