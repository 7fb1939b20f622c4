"""The money view (``modelyard money pay --by customer_id``): the amount a classifier's
answers expect in each class, in total and per customer, each invoice counted once (its
latest scoring), and expected against realized once outcomes arrive by key; the same from
the SDK, over HTTP, from the CLI, in the monitoring report and as an alert signal."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelyard import InvalidInput
from tests.serving.conftest import Keyed, records
from tests.support.live import EXE


def expected_by_hand(
    frame: pd.DataFrame, proba: np.ndarray, classes: list[str]
) -> dict[str, float]:
    return {
        c: float((frame["amount"].to_numpy() * proba[:, j]).sum()) for j, c in enumerate(classes)
    }


def same_groups(found: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> None:
    assert [(g["value"], g["rows"]) for g in found] == [(g["value"], g["rows"]) for g in wanted]
    for mine, theirs in zip(found, wanted, strict=True):
        assert mine["amount"] == pytest.approx(theirs["amount"])
        assert mine["expected"] == pytest.approx(theirs["expected"])


def test_expected_amounts_per_class_and_customer_then_against_realized(
    keyed: Keyed, tmp_path: Path
) -> None:
    http, c, x, ids = keyed.http, keyed.client, keyed.x, keyed.ids
    c.update_deployment("pay", options={"amount_column": "amount"})
    rows = records(pd.concat([ids, x], axis=1))
    http.post("/v1/deployments/pay/predict", json={"inputs": rows[:4]})  # scored again below
    answer = http.post("/v1/deployments/pay/predict", json={"inputs": rows}).json()
    http.app.state.runtime.collector.flush()  # type: ignore[attr-defined]  # on disk now
    classes, proba = answer["classes"], np.asarray(answer["probabilities"])

    view = c.money("pay", by="customer_id")
    assert view["rows"] == len(rows)  # the 4 invoices scored twice count once
    assert view["amount"] == pytest.approx(float(x["amount"].sum()))
    mine = expected_by_hand(x, proba, classes)
    assert view["expected"] == pytest.approx(mine)
    predicted = np.asarray(answer["predictions"])
    assert view["predicted"] == pytest.approx(
        {k: float(x["amount"][predicted == k].sum()) for k in classes}
    )
    by_customer = {g["value"]: g for g in view["groups"]}
    for customer, part in ids.groupby("customer_id"):
        found = by_customer[str(customer)]
        assert found["rows"] == len(part)
        assert found["expected"] == pytest.approx(
            expected_by_hand(x.loc[part.index], proba[part.index], classes)
        )
    amounts = [g["amount"] for g in view["groups"]]
    assert amounts == sorted(amounts, reverse=True)  # largest customer first
    assert view["matured"] is None and view["pending"] == 0

    outcomes = pd.DataFrame({"invoice_id": ids["invoice_id"], "actual": predicted})
    outcomes.loc[:2, "actual"] = "very_late"  # three invoices ended elsewhere
    c.send_feedback("pay", outcomes.to_dict("records"), key="invoice_id")
    matured = c.money("pay")["matured"]
    assert matured is not None and matured["rows"] == len(rows)
    assert matured["expected"] == pytest.approx(mine)
    realized = {k: float(x["amount"][outcomes["actual"] == k].sum()) for k in classes}
    assert matured["realized"] == pytest.approx(realized)
    gap = max(abs(mine[k] - realized[k]) for k in classes) / float(x["amount"].sum())
    assert matured["gap"] == pytest.approx(gap)

    report = c.monitor("pay", store=False)  # the report carries it, and its summary the gap
    assert report["money"] is not None and report["money"]["expected"] == pytest.approx(mine)
    assert report["summary"]["money_gap"] == pytest.approx(gap)
    r = http.get("/api/v1/deployments/pay/money", params={"by": "customer_id", "limit": 2})
    assert r.status_code == 200 and len(r.json()["groups"]) == 2
    same_groups(r.json()["groups"], view["groups"][:2])
    env = {**os.environ, "MODELYARD_HOME": str(keyed.settings.home)}
    done = subprocess.run(
        [EXE, "money", "pay", "--by", "customer_id", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    same_groups(json.loads(done.stdout)["groups"], view["groups"])
    shown = subprocess.run(
        [EXE, "money", "pay"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0 and "realized" in shown.stdout, shown.stderr


def test_what_has_no_money_view_is_refused_in_a_line(keyed: Keyed) -> None:
    c = keyed.client
    with pytest.raises(InvalidInput, match="has no amount column"):
        c.money("pay")
    before = c.get_deployment("pay").revision.number
    with pytest.raises(InvalidInput, match="amount_column 'price' is neither an input"):
        c.update_deployment("pay", options={"amount_column": "price"})
    assert c.get_deployment("pay").revision.number == before  # nothing changed
    c.update_deployment("pay", options={"amount_column": "amount"})
    with pytest.raises(InvalidInput, match="limit must be"):
        c.money("pay", limit=0)
    keyed.http.post(
        "/v1/deployments/pay/predict",
        json={"inputs": records(pd.concat([keyed.ids, keyed.x], axis=1))[:2]},
    )
    keyed.http.app.state.runtime.collector.flush()  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="unknown segment column 'region'"):
        c.money("pay", by="region")
    env = {**os.environ, "MODELYARD_HOME": str(keyed.settings.home)}
    done = subprocess.run(
        [EXE, "money", "pay", "--by", "region"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: unknown segment column 'region'")
    assert len(done.stderr.strip().splitlines()) == 1
