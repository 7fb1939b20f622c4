"""``modelyard jobs``: create, run, list, show and delete a batch job from the CLI; a run
that fails and a job that is refused end in one line and exit code 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from tests.cli.conftest import Result

Cli = Callable[..., Result]


def test_a_job_is_managed_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    frame = pd.DataFrame({"amount": [10.0, 900.0, 50.0, 700.0], "terms": [30, 10, 60, 15]})
    with Client(settings=Settings(home=tmp_path / "home")) as c:
        model = LogisticRegression().fit(frame, ["on_time", "late", "on_time", "late"])
        c.log_model(model, "pay", input_example=frame)
        c.create_deployment("pay", ["pay:1"], options={"keys": ["invoice_id"]})
    jobs = tmp_path / "home" / "jobs"
    jobs.mkdir()
    frame.assign(invoice_id=["A1", "A2", "A3", "A4"]).to_csv(jobs / "open.csv", index=False)

    r = cli("jobs", "create", "nightly", "--deployment", "pay", "--input", "open.csv",
            "--output", jobs / "scored-{run}.csv", "--every", "1d")  # fmt: skip
    assert r.code == 0, r.err
    assert r.out.startswith("job nightly on pay: next run ")

    r = cli("jobs", "run", "nightly")
    assert r.code == 0, r.err
    assert r.out.strip() == (
        f"run 1 of job nightly: 4 of 4 rows scored → {jobs / 'scored-1.csv'}, "
        "dataset sandbox/nightly-output:1"
    )
    assert pd.read_csv(jobs / "scored-1.csv")["invoice_id"].tolist() == ["A1", "A2", "A3", "A4"]
    listed = cli("jobs", "list").out
    assert "nightly" in listed and "1d" in listed and "1 succeeded" in listed
    (job,) = cli("jobs", "list", "--json").json()
    assert (job["name"], job["every_seconds"], job["last_run"]["scored"]) == ("nightly", 86400, 4)

    (jobs / "open.csv").unlink()
    r = cli("jobs", "run", "nightly")
    assert r.code == 1
    assert r.err.strip() == (
        f"error: run 2 of job nightly failed: the input {jobs / 'open.csv'} does not exist"
    )
    shown = cli("jobs", "show", "nightly", "--json").json()
    assert [run["state"] for run in shown["runs"]] == ["failed", "succeeded"]
    assert "firing" in cli("alerts", "list").out

    r = cli("jobs", "create", "other", "--deployment", "pay", "--input", "/etc/passwd.csv",
            "--output", jobs / "o.csv")  # fmt: skip
    assert r.code == 1 and len(r.err.strip().splitlines()) == 1
    assert "outside the places jobs may use" in r.err

    assert cli("jobs", "delete", "nightly").out.strip() == "deleted job nightly"
    assert cli("jobs", "list", "--json").json() == []
