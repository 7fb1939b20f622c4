"""Windows that end in the past (``monitor --window 7d --offset 60d``, and alert rules with
``--offset``): labels arrive weeks after scoring, so a window ending now has none, while
one ending 60 days back finds the week whose accuracy dropped. Rows are collected and
labelled on a controlled clock (written with their scoring times)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard import Client, InvalidInput, Settings
from modelyard.monitoring.collector import Record, to_table
from modelyard.monitoring.lake import Lake
from tests.support.live import EXE

NOW = datetime.now(UTC).replace(microsecond=0)
WEEKS = 10  # scored weekly, 10 weeks back; the week 61-67 days ago answered badly


def scored_weekly(settings: Settings, labels_after: int = 55) -> None:
    """200 rows a week for 10 weeks; labels for rows older than ``labels_after`` days only
    (they take that long to arrive); in the week 60-67 days back, 60 % of the answers are
    wrong, 5 % in the others."""
    collected = Lake.open(str(settings.home / "collected"))
    feedback = Lake.open(str(settings.home / "feedback"))
    rng = np.random.default_rng(4)
    for week in range(WEEKS):
        when = NOW - timedelta(days=7 * week + 4)
        predictions = rng.choice(["on_time", "late"], 200)
        actual = predictions.copy()
        wrong = 120 if 60 <= (NOW - when).days < 67 else 10
        actual[:wrong] = np.where(actual[:wrong] == "on_time", "late", "on_time")
        record = Record(
            f"req-{week}", when, "pay", 1, "payments:1", "live", 200, 1.0,
            {"amount": rng.random(200)}, predictions, None, 200,
        )  # fmt: skip
        collected.write_part(
            to_table([record]), "deployment=pay", f"hour={when.strftime('%Y-%m-%dT%H')}"
        )
        if (NOW - when).days > labels_after:
            feedback.write_part(
                pa.table({
                    "request_id": [f"req-{week}"] * 200,
                    "row": list(range(200)),
                    "actual": actual.tolist(),
                    "time": pa.array([NOW] * 200, pa.timestamp("us", tz="UTC")),
                }),
                "deployment=pay",
            )  # fmt: skip


def test_an_offset_window_finds_the_week_whose_accuracy_dropped(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", actor="alice")
    x = np.random.default_rng(0).random((40, 1))
    model = LogisticRegression().fit(x, ["on_time", "late"] * 20)
    with Client(settings=settings) as c:
        c.log_model(model, "payments", input_example=pd.DataFrame({"amount": x[:5, 0]}))
        c.create_deployment("pay", ["payments:1"])
        scored_weekly(settings)

        recent = c.monitor("pay", since="7d", store=False)
        assert recent["rows"] == 200 and recent["summary"]["accuracy"] is None  # no labels yet
        dropped = c.monitor("pay", since="7d", offset="60d", store=False)
        assert dropped["summary"]["feedback_rows"] == 200
        assert dropped["summary"]["accuracy"] == pytest.approx(0.4)
        before = c.monitor("pay", since="7d", offset="67d", store=False)
        assert before["summary"]["accuracy"] == pytest.approx(0.95)

        rule = c.create_alert_rule(
            "pay", "late-accuracy", "accuracy", 0.8, op="<", window="7d", offset="60d"
        )
        assert rule.description == "accuracy < 0.8 over 1w ending 60d ago"
        (outcome,) = c.evaluate_alerts("pay")
        assert outcome["change"] == "fired" and outcome["value"] == pytest.approx(0.4)
        now_rule = c.create_alert_rule("pay", "now-accuracy", "accuracy", 0.8, op="<", window="7d")
        assert now_rule.offset_seconds == 0

        with pytest.raises(InvalidInput, match="starts 467 days back; reports read 400 days"):
            c.monitor("pay", since="7d", offset="460d")
        with pytest.raises(InvalidInput, match="window starts 467 days back"):
            c.create_alert_rule("pay", "too-far", "accuracy", 0.8, window="7d", offset="460d")
        assert [r.name for r in c.list_alert_rules(deployment="pay")] == [
            "late-accuracy", "now-accuracy",
        ]  # fmt: skip

    env = {**os.environ, "MODELYARD_HOME": str(settings.home)}
    done = subprocess.run(
        [EXE, "monitor", "pay", "--window", "7d", "--offset", "60d", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["accuracy"] == pytest.approx(0.4)
    far = subprocess.run(
        [EXE, "monitor", "pay", "--window", "7d", "--offset", "460d"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert far.returncode == 1
    assert far.stderr.strip().splitlines() == [
        "error: the window starts 467 days back; reports read 400 days of collected rows "
        "(MODELYARD_RETENTION_DAYS)"
    ]


def test_accuracy_counts_only_matured_rows_and_reads_per_week(tmp_path: Path) -> None:
    """Outcomes for every week, but they mature 30 days after scoring: the four recent
    weeks are pending, counted as such and never as a class."""
    settings = Settings(home=tmp_path / "home", actor="alice")
    x = np.random.default_rng(0).random((40, 1))
    model = LogisticRegression().fit(x, ["on_time", "late"] * 20)
    with Client(settings=settings) as c:
        c.log_model(model, "payments", input_example=pd.DataFrame({"amount": x[:5, 0]}))
        c.create_deployment("pay", ["payments:1"], options={"maturity_days": 30})
        scored_weekly(settings, labels_after=0)
        report = c.monitor("pay", since="75d", store=False)
        assert report["rows"] == 2000
        assert report["pending"] == 800  # scored 4, 11, 18 and 25 days ago
        assert report["summary"]["pending_rows"] == 800
        assert report["summary"]["feedback_rows"] == 1200
        assert report["summary"]["accuracy"] == pytest.approx(1 - (120 + 5 * 10) / 1200)
        weeks = report["cohorts"]
        assert sum(w["rows"] for w in weeks) == 2000
        assert [w["pending"] > 0 for w in weeks].count(True) == 4
        worst = min(weeks, key=lambda w: w.get("accuracy") or 1.0)
        assert worst["accuracy"] == pytest.approx(0.4) and worst["labelled"] == 200
        assert all(w["accuracy"] is None for w in weeks if w["pending"])

        with pytest.raises(InvalidInput, match="maturity_column 'due' is neither an input"):
            c.update_deployment("pay", options={"maturity_column": "due"})

        # by a date column: invoices scored 3 days ago, due in 20 days, are pending
        when = NOW - timedelta(days=3)
        due = np.array([(NOW + timedelta(days=20)).date().isoformat()] * 200, dtype=object)
        record = Record(
            "req-due", when, "pay", 1, "payments:1", "live", 200, 1.0,
            {"amount": np.zeros(200)}, np.array(["late"] * 200), None, 200, {"due": due},
        )  # fmt: skip
        Lake.open(str(settings.home / "collected")).write_part(
            to_table([record]), "deployment=pay", f"hour={when.strftime('%Y-%m-%dT%H')}"
        )
        options = {"keys": ["due"], "maturity_column": "due", "maturity_days": 0}
        c.update_deployment("pay", options=options)
        by_date = c.monitor("pay", since="75d", store=False)
        assert by_date["pending"] == 200 and by_date["summary"]["feedback_rows"] == 2000
