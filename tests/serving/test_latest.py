"""Each key's newest prediction at one URL (``GET /api/v1/deployments/pay/latest``, JSON or
``format=csv``): what a spreadsheet's or BI tool's web connector reads with a token header;
the same from the SDK and ``modelyard deployments latest``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from modelyard import InvalidInput
from tests.serving.conftest import Keyed, records
from tests.support.live import EXE


def test_each_invoice_once_with_its_newest_prediction(keyed: Keyed, tmp_path: Path) -> None:
    http, c, x, ids = keyed.http, keyed.client, keyed.x, keyed.ids
    rows = records(pd.concat([ids, x], axis=1))
    first = http.post("/v1/deployments/pay/predict", json={"inputs": rows}).json()
    time.sleep(0.01)
    moved = [{**r, "late_share": 1.0 - r["late_share"]} for r in rows[:3]]  # scored again
    again = http.post("/v1/deployments/pay/predict", json={"inputs": moved}).json()
    http.app.state.runtime.collector.flush()  # type: ignore[attr-defined]  # on disk now

    found = c.latest_predictions("pay")
    assert found["key"] == "invoice_id"
    assert [r["invoice_id"] for r in found["rows"]] == sorted(ids["invoice_id"])
    newest = again["predictions"] + first["predictions"][3:]
    assert [r["prediction"] for r in found["rows"]] == newest
    assert [r["customer_id"] for r in found["rows"]] == ids["customer_id"].tolist()
    assert found["rows"][0]["probability_late"] == pytest.approx(again["probabilities"][0][0])
    assert found["columns"] == [
        "invoice_id", "customer_id", "prediction", *(f"probability_{k}" for k in first["classes"]),
        "model_version", "scored_at",
    ]  # fmt: skip

    # the BI tool's request: one URL, a token in a header
    r = http.get("/api/v1/deployments/pay/latest", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [t["invoice_id"] for t in table] == [f["invoice_id"] for f in found["rows"]]
    assert [t["prediction"] for t in table] == newest
    by_customer = http.get("/api/v1/deployments/pay/latest", params={"key": "customer_id"})
    assert len(by_customer.json()["rows"]) == ids["customer_id"].nunique()

    env = {**os.environ, "MODELYARD_HOME": str(keyed.settings.home)}
    done = subprocess.run(
        [EXE, "deployments", "latest", "pay", "-o", str(tmp_path / "latest.csv")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(tmp_path / "latest.csv", dtype={"invoice_id": str})
    assert written["invoice_id"].tolist() == [f["invoice_id"] for f in found["rows"]]


def test_who_may_read_it_and_what_is_refused(keyed: Keyed) -> None:
    c = keyed.client
    with pytest.raises(InvalidInput, match="'amount' is not a key of 'pay'"):
        c.latest_predictions("pay", key="amount")
    with pytest.raises(InvalidInput, match="limit must be"):
        c.latest_predictions("pay", limit=0)
    c.create_deployment("plain", ["payments:1"])
    with pytest.raises(InvalidInput, match="has no key columns"):
        c.latest_predictions("plain")
    url = "/api/v1/deployments/pay/latest"
    scoring = c.regenerate_key("pay", "secondary").new_keys["secondary"]
    r = keyed.http.get(url, headers={"Authorization": f"Bearer {scoring}"})
    assert r.status_code == 401, r.text  # a scoring key grants scoring, nothing else
    assert keyed.http.get(url, params={"format": "xml"}).status_code == 422
    for user, environment, status in (("bi", "sandbox", 200), ("elsewhere", "production", 403)):
        c.create_user(user)
        c.grant(user, environment, "viewer")
        token = c.create_token("powerbi", user=user).secret
        r = keyed.http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == status, r.text
