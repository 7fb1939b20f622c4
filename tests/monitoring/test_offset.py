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
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard import Client, InvalidInput, Settings
from modelyard.monitoring.collector import Record, to_table
from modelyard.monitoring.lake import Lake
from tests.support.live import EXE

NOW = datetime.now(UTC).replace(microsecond=0)
WEEKS = 10  # scored weekly, 10 weeks back; the week 61-67 days ago answered badly


def scored_weekly(settings: Settings) -> None:
    """200 rows a week for 10 weeks; labels for rows older than 55 days only (they take
    that long to arrive); in the week 60-67 days back, 60 % of the answers are wrong."""
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
        if (NOW - when).days > 55:
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
        import pandas as pd

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
