"""Monitoring reports over really scored traffic: drift is found where it is and only
there, quality rates are what was sent, live performance matches scikit-learn on the same
rows, reports are stored for trends, and collected rows go back to training."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from modelyard import InvalidInput, NotFound
from modelyard.monitoring import report as r
from modelyard.monitoring.profile import Profile
from tests.monitoring.conftest import FEATURES, Watched, invoices


def drifted(report: dict) -> set[str]:
    (section,) = report["variants"]
    return set(section["drifted_features"])


def test_drift_is_found_where_it_is_and_only_there(watched: Watched) -> None:
    # 10,000 rows like the training data: nothing drifts
    watched.score(invoices(10_000, seed=2))
    watched.flush()
    calm = watched.client.monitor("pay")
    assert calm["rows"] == 10_000
    assert drifted(calm) == set()
    assert calm["summary"]["drift_share"] == 0.0

    # 10,000 more where one numerical and one categorical feature moved
    shifted = invoices(10_000, seed=3)
    shifted["credit_limit"] += 1_000  # half a standard deviation
    shifted["region"] = np.random.default_rng(4).choice(
        ["north", "south", "east", "west"], len(shifted), p=[0.1, 0.2, 0.3, 0.4]
    )
    started = datetime.now(UTC)
    watched.score(shifted)
    watched.flush()
    report = watched.client.monitor("pay", since=started)
    assert report["rows"] == 10_000
    assert drifted(report) == {"credit_limit", "region"}
    (section,) = report["variants"]
    by_name = {f["feature"]: f for f in section["features"]}
    assert by_name["credit_limit"]["drift"]["method"] == "wasserstein"
    assert by_name["region"]["drift"]["method"] == "jensen_shannon"
    for name in set(FEATURES) - {"credit_limit", "region"}:
        assert by_name[name]["drift"]["score"] < by_name[name]["drift"]["threshold"] / 2, name

    # the same report over HTTP, and the stored trend behind both
    http = watched.http.get(
        "/api/v1/deployments/pay/monitoring", params={"since": started.isoformat()}
    )
    assert http.status_code == 200
    assert set(http.json()["variants"][0]["drifted_features"]) == {"credit_limit", "region"}
    history = watched.client.list_monitoring_reports("pay")
    assert [h["summary"]["drift_share"] for h in history] == [0.25, 0.25, 0.0]
    stored = watched.http.get(f"/api/v1/deployments/pay/monitoring/reports/{history[-1]['id']}")
    assert stored.json()["rows"] == 10_000 and stored.json()["summary"]["drift_share"] == 0.0

    # against the earlier, calm window instead of the baseline: the same two features
    against = f"{(started - pd.Timedelta(hours=1)).isoformat()}..{started.isoformat()}"
    relative = watched.client.monitor("pay", since=started, against=against)
    assert drifted(relative) == {"credit_limit", "region"}


def test_quality_rates_are_what_was_sent(watched: Watched) -> None:
    rows = invoices(2_000, seed=5)
    rows.loc[rows.index[:400], "late_share"] = np.nan  # 20 % nulls (5 % in training)
    rows.loc[rows.index[400:600], "amount"] = 1e9  # 10 % beyond the largest amount trained on
    rows.loc[rows.index[600:900], "currency"] = "CHF"  # 15 % unseen category
    watched.score(rows)
    watched.flush()
    (section,) = watched.client.monitor("pay")["variants"]
    by_name = {f["feature"]: f for f in section["features"]}
    sent_nulls = rows["late_share"].isna().mean()
    assert by_name["late_share"]["null_rate"] == pytest.approx(sent_nulls)
    assert by_name["amount"]["out_of_bounds_rate"] == pytest.approx(0.10, abs=0.002)
    assert by_name["currency"]["out_of_bounds_rate"] == pytest.approx(0.15)
    assert by_name["segment"]["out_of_bounds_rate"] == 0.0
    assert section["quality"]["out_of_bounds_rate"] == pytest.approx(0.15)
    assert section["quality"]["null_rate"] == pytest.approx(sent_nulls)


def test_type_errors_are_counted_against_the_baseline_kind() -> None:
    reference = Profile.of(pd.DataFrame({"amount": [1.0, 2.0, 3.0] * 400})).features["amount"]
    column = pa.chunked_array([pa.array(["1.5", "2", "abc", None, "x", "3"])])
    found = r.compare_feature("amount", reference, column)
    assert found["type_error_rate"] == pytest.approx(2 / 6)
    assert found["null_rate"] == pytest.approx(1 / 6)


def test_live_performance_matches_scikit_learn(watched: Watched) -> None:
    rows = invoices(3_000, seed=6)
    answers = watched.score(rows, batch=100)
    feedback, actual, predicted = [], [], []
    labels = rows["label"].to_numpy()
    for i, (request_id, predictions) in enumerate(answers):
        for j in range(0, len(predictions), 2):  # feedback for every other row only
            feedback.append({"request_id": request_id, "row": j, "actual": labels[i * 100 + j]})
            actual.append(labels[i * 100 + j])
            predicted.append(predictions[j])
    # a correction sent later wins over the first answer for the same row
    wrong = {"request_id": answers[0][0], "row": 0, "actual": "nonsense"}
    assert watched.client.send_feedback("pay", [wrong]).accepted == 1
    sent = watched.http.post("/v1/deployments/pay/feedback", json=feedback)
    assert sent.status_code == 200
    assert sent.json() == {"accepted": len(feedback), "unknown": 0, "unknown_keys": []}
    # feedback for requests never scored is kept but joins nothing
    assert (
        watched.client.send_feedback("pay", [{"request_id": "unknown", "actual": "late"}]).accepted
        == 1
    )
    watched.flush()

    perf = watched.client.monitor("pay")["performance"]
    assert perf["kind"] == "classification" and perf["rows"] == len(actual)
    assert perf["accuracy"] == pytest.approx(accuracy_score(actual, predicted))
    assert perf["f1_macro"] == pytest.approx(f1_score(actual, predicted, average="macro"))
    names = perf["confusion_matrix"]["labels"]
    assert (
        perf["confusion_matrix"]["matrix"]
        == confusion_matrix(actual, predicted, labels=names).tolist()
    )
    late = f1_score(actual, predicted, labels=["late"], average=None)[0]
    assert perf["per_class"]["late"]["f1"] == pytest.approx(late)


def test_regression_performance_is_mae_and_rmse() -> None:
    labelled = pa.table({"prediction": [1.0, 2.0, 4.0], "actual": ["1.5", "2", "1"]})
    perf = r.performance(labelled, regression=True)
    assert perf is not None
    assert perf["mae"] == pytest.approx((0.5 + 0 + 3) / 3)
    assert perf["rmse"] == pytest.approx(np.sqrt((0.25 + 0 + 9) / 3))


def test_bad_feedback_and_windows_change_nothing(watched: Watched) -> None:
    answers = watched.score(invoices(10, seed=7))
    request_id = answers[0][0]
    bad = [
        ([], "non-empty list"),
        ({"request_id": request_id}, "non-empty list"),
        ([{"request_id": request_id}], "item 0: actual"),
        ([{"request_id": "", "actual": "late"}], "item 0: request_id"),
        (
            [
                {"request_id": request_id, "actual": "late"},
                {"request_id": request_id, "actual": "late", "row": -1},
            ],
            "item 1: row",
        ),
        ([{"request_id": request_id, "actual": [1]}], "item 0: actual"),
        ([{"request_id": request_id, "actual": "late", "extra": 1}], "unexpected field 'extra'"),
    ]
    for body, message in bad:
        answer = watched.http.post("/v1/deployments/pay/feedback", json=body)
        assert answer.status_code == 400, body
        assert message in answer.json()["error"]["message"]
    broken = watched.http.post(
        "/v1/deployments/pay/feedback",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400
    unknown = watched.http.post(
        "/v1/deployments/nope/feedback", json=[{"request_id": "a", "actual": 1}]
    )
    assert unknown.status_code == 404
    assert not list((watched.settings.home / "feedback").rglob("*.parquet"))

    for since, until, message in [
        ("yesterday", None, "invalid --since 'yesterday'"),
        ("1h", "2h", "the window is empty"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            watched.client.monitor("pay", since=since, until=until)
    with pytest.raises(InvalidInput, match="invalid --against"):
        watched.client.monitor("pay", against="last week")
    with pytest.raises(NotFound, match="deployment 'nope' does not exist"):
        watched.client.monitor("nope")
    assert watched.client.list_monitoring_reports("pay") == []
    answer = watched.http.get("/api/v1/deployments/pay/monitoring", params={"since": "soon"})
    assert answer.status_code == 400


def test_collected_rows_go_back_to_training(watched: Watched) -> None:
    rows = invoices(1_000, seed=8)
    answers = watched.score(rows, batch=250)
    labels = rows["label"].to_numpy()
    watched.client.send_feedback(
        "pay",
        [
            {"request_id": rid, "row": j, "actual": labels[i * 250 + j]}
            for i, (rid, _) in enumerate(answers)
            for j in range(100)
        ],
    )
    watched.flush()
    plain = watched.client.snapshot_dataset("production-invoices", deployment="pay", since="1h")
    assert plain.rows == 1_000 and [c.name for c in plain.columns] == FEATURES
    labelled = watched.client.snapshot_dataset(
        "production-invoices", deployment="pay", since="1h", with_feedback=True
    )
    assert labelled.version == 2 and labelled.source == "deployment:pay"
    frame = watched.client.load_dataset("production-invoices:2")
    assert frame["actual"].notna().sum() == 400
    sent = pd.Series(rows["amount"].to_numpy()).sort_values(ignore_index=True)
    pd.testing.assert_series_equal(
        frame["amount"].sort_values(ignore_index=True), sent, check_names=False
    )
    with pytest.raises(InvalidInput, match="collected no"):
        watched.client.snapshot_dataset("x", deployment="pay", since="3h", until="2h")


def test_an_empty_reference_window_is_said_not_compared(watched: Watched) -> None:
    watched.score(invoices(500, seed=8))
    watched.flush()
    report = watched.client.monitor("pay", since="1h", against="previous")  # nothing before
    (section,) = report["variants"]
    assert section["rows"] == 500 and section["reference"] == "earlier window"
    assert section["note"] == "the reference window holds no rows: nothing to compare with"
    assert "features" not in section and "drifted_features" not in section
    assert report["summary"]["drift_share"] is None


def test_a_shift_in_one_segment_is_flagged_there_and_not_globally(watched: Watched) -> None:
    frame = invoices(4000, seed=8)
    west = frame.region == "west"  # about 10 % of the rows
    frame.loc[west, "credit_limit"] += 1_500  # three quarters of a standard deviation
    watched.score(frame)
    watched.flush()
    report = watched.client.monitor("pay", by="region", store=False)
    (section,) = report["variants"]
    limit = {f["feature"]: f["drift"]["threshold"] for f in section["features"]}["credit_limit"]
    assert report["summary"]["feature_drift"]["credit_limit"] < limit  # under its limit
    assert drifted(report) == set()
    segments = {s["value"]: s for s in report["segments"]}
    assert sorted(segments) == ["east", "north", "south", "west"]
    assert segments["west"]["rows"] == int(west.sum())
    assert drifted(segments["west"]) == {"credit_limit"}
    assert segments["west"]["summary"]["feature_drift"]["credit_limit"] >= limit
    for calm in ("north", "south", "east"):
        assert drifted(segments[calm]) == set(), calm
    assert sum(s["rows"] for s in segments.values()) == report["rows"]
    with pytest.raises(InvalidInput, match="unknown segment column 'nope'"):
        watched.client.monitor("pay", by="nope", store=False)

    # an alert rule may watch one segment
    c = watched.client
    for name, segment in [("west", "region=west"), ("north", "region=north"), ("all", None)]:
        c.create_alert_rule(
            "pay", f"limit-{name}", "feature_drift", limit, feature="credit_limit",
            op=">=", window="1h", segment=segment,
        )  # fmt: skip
    fired = {o["rule"]: o["firing"] for o in c.evaluate_alerts("pay")}
    assert fired == {"limit-west": True, "limit-north": False, "limit-all": False}
    rules = {r.name: r.description for r in c.list_alert_rules(deployment="pay")}
    assert rules["limit-west"].endswith("over 1h where region=west")
    with pytest.raises(InvalidInput, match="invalid segment 'region': use COLUMN=VALUE"):
        c.create_alert_rule("pay", "bad", "accuracy", 0.5, segment="region")
