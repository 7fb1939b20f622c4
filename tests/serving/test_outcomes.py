"""Outcomes by key (``modelyard feedback pay outcomes.csv --key invoice_id``): each labels
the latest live prediction of its invoice made before the outcome was observed; outcomes
whose invoice no such prediction had are counted and named, not stored; a call where none
matches, or a key the deployment does not declare, is one line and writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from modelyard import InvalidInput
from tests.serving.conftest import Keyed, records
from tests.support.live import EXE


def feedback_parts(keyed: Keyed) -> list[Path]:
    return sorted((keyed.settings.home / "feedback").rglob("part-*.parquet"))


def test_outcomes_label_the_latest_prediction_of_their_key(keyed: Keyed, tmp_path: Path) -> None:
    http, x, ids = keyed.http, keyed.x, keyed.ids
    before_any = datetime.now(UTC) - timedelta(minutes=5)
    rows = records(pd.concat([ids, x], axis=1))
    first = http.post("/v1/deployments/pay/predict", json={"inputs": rows[:6]}).json()
    time.sleep(0.01)
    again = http.post("/v1/deployments/pay/predict", json={"inputs": rows[:3]}).json()
    http.app.state.runtime.collector.flush()  # type: ignore[attr-defined]  # on disk now
    outcomes = pd.DataFrame({
        "invoice_id": ["00000", "00001", "00004", "99999", "00005"],
        "actual": ["late", "on_time", "very_late", "late", "late"],
        "observed_at": [None, None, None, None, before_any.isoformat()],
    })  # fmt: skip
    source = tmp_path / "outcomes.csv"
    outcomes.to_csv(source, index=False)
    env = {**os.environ, "MODELYARD_HOME": str(keyed.settings.home)}
    done = subprocess.run(
        [EXE, "feedback", "pay", str(source), "--key", "invoice_id", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # 99999 was never scored; 00005 was observed before it was scored
    assert json.loads(done.stdout) == {
        "accepted": 3, "unknown": 2, "unknown_keys": ["99999", "00005"],
    }  # fmt: skip
    (part,) = feedback_parts(keyed)
    stored = pd.read_parquet(part).sort_values("actual")
    # 00000 and 00001 label the second request (scored last), 00004 the first
    latest = [again["request_id"], again["request_id"], first["request_id"]]
    assert stored.request_id.tolist() == latest
    assert stored.actual.tolist() == ["late", "on_time", "very_late"]
    assert stored["row"].tolist() == [0, 1, 4]
    assert "observed_at" in stored.columns

    report = keyed.client.monitor("pay", store=False)
    assert report["summary"]["feedback_rows"] == 3

    # the SDK says the same; a call where nothing matches writes nothing
    c = keyed.client
    with pytest.raises(InvalidInput, match="none of the 1 outcomes matches"):
        c.send_feedback("pay", [{"invoice_id": "nope", "actual": "late"}], key="invoice_id")
    with pytest.raises(InvalidInput, match="unknown key column 'amount'"):
        c.send_feedback("pay", [{"amount": 1, "actual": "late"}], key="amount")
    with pytest.raises(InvalidInput, match="observed_at .* is in the future"):
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        c.send_feedback(
            "pay",
            [{"invoice_id": "00000", "actual": "late", "observed_at": future}],
            key="invoice_id",
        )
    assert len(feedback_parts(keyed)) == 1
    unknown = subprocess.run(
        [EXE, "feedback", "pay", str(source), "--key", "customer"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == ["error: 'outcomes.csv' lacks column(s) customer"]
