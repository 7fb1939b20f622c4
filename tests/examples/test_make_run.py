"""`make run`'s seeding, as a newcomer gets it: a real server, the whole flow, a drift
episode that monitoring finds on the features that changed, and alerts that fire. A
second run reuses the home, and stopping the script stops the server it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from modelyard import Client, Settings
from tests.support.live import free_port
from tests.support.processes import process_group, wait_group_gone

RUN = Path(__file__).resolve().parents[2] / "examples" / "payment_predictions" / "run.py"


def seed(home: Path) -> subprocess.CompletedProcess[str]:
    """Run ``run.py --seed-only``; its server goes with it, whatever happens."""
    with process_group(
        [sys.executable, str(RUN), "--seed-only", "--port", str(free_port())],
        env={**os.environ, "MODELYARD_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as run:
        out, err = run.communicate(timeout=300)
    return subprocess.CompletedProcess(run.args, run.returncode, out, err)


@pytest.mark.slow
def test_make_run_seeds_a_live_system(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = seed(home)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "admin token: myd_" in first.stdout and "seeded in" in first.stdout
    with Client(settings=Settings(home=home, actor="check")) as c:
        assert c.get_deployment("payments").environment == "production"
        assert c.get_deployment("payments-sandbox").environment == "sandbox"
        (request,) = c.list_promotion_requests()
        assert request.state == "promoted" and request.requested_by == "dana"
        assert [a.user for a in request.approvals] == ["alex"]
        firing = {a.rule for a in c.list_alerts(state="firing")}
        assert firing == {"feature-drift", "accuracy-drop"}
        report = c.monitor("payments", since="1h", store=False)
        drifted = set(report["variants"][0]["drifted_features"])
        # the drift episode changed amounts (and the calendar); nothing else moved
        assert (
            {"amount", "amount_to_limit"}
            <= drifted
            <= {"amount", "amount_to_limit", "invoice_month"}
        )
        # outcomes of invoices paid by today, counted once 30 days past due; the newest wait
        assert 0 < report["performance"]["rows"] < 2400 and report["pending"] > 0
        buckets = pd.read_csv(home / "open-invoices.buckets.csv")
        assert {"p_on_time", "p_late", "p_very_late", "factor_1", "contribution_3"} <= set(
            buckets.columns
        )
        assert (home / "customers.expected.csv").exists()
        (job,) = c.list_jobs()
        assert job.last_run is not None and job.last_run.state == "succeeded"
        assert job.last_run.table_rows == job.last_run.scored == len(buckets)
        money = c.money("payments", since="1h")
        assert money["matured"] is not None
        assert money["matured"]["rows"] == report["performance"]["rows"]
    assert "segment small_business" in first.stdout and "expected / realized" in first.stdout

    second = seed(home)  # reuses the seeded home: serves it, seeds nothing again
    assert second.returncode == 0, second.stderr[-3000:]
    assert "is seeded already" in second.stdout
    with Client(settings=Settings(home=home, actor="check")) as c:
        assert [v.version for v in c.list_versions("payments")] == [1]
    stopped_by_sigterm(home)


def stopped_by_sigterm(home: Path) -> None:
    """SIGTERM (``kill``) to the script, not its group: the server it started goes too
    (on the home seeded above: seeding again would only repeat it)."""
    port = free_port()
    with process_group(
        [sys.executable, str(RUN), "--port", str(port)],
        env={**os.environ, "MODELYARD_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as run:
        assert run.stdout is not None
        for line in run.stdout:  # it says so once it serves
            if line.startswith("admin token: "):
                break
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        run.terminate()
        assert run.wait(timeout=60) == 128 + signal.SIGTERM
        assert wait_group_gone(run, timeout=60) is not None  # no server left behind
