"""The computed documents (report, history, baseline, alert outcomes, comparison, dataset
profile) fit their declared shapes exactly: what the API sends through its
``response_model`` is what the service computed, no field dropped, none made up."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from modelyard.domain.promotions import Comparison
from modelyard.domain.reports import (
    AlertOutcome,
    Baseline,
    MonitoringReport,
    ProfileSummary,
    ReportListing,
    Signature,
)
from modelyard.wire.codec import Codec
from tests.monitoring.conftest import FEATURES, Watched, invoices


def plain(value: Any) -> Any:
    """``value`` as JSON would carry it."""
    return json.loads(json.dumps(Codec().encode(value)))


def sent(value: Any, kind: Any) -> Any:
    """``value`` as the API sends it when ``kind`` is its response model."""
    return json.loads(json.dumps(Codec().encode(value, kind)))


def test_every_document_fits_its_shape(
    watched: Watched, trained: tuple[pd.DataFrame, Pipeline]
) -> None:
    data, model = trained
    live = invoices(600, seed=9)
    live["amount"] *= 3  # drift
    answers = watched.score(live, batch=300)
    watched.flush()
    feedback = [
        {"request_id": rid, "row": i, "actual": "late"}
        for rid, predictions in answers
        for i in range(len(predictions))
    ]
    c = watched.client
    c.send_feedback("pay", feedback)
    report = c.monitor("pay", since="1h")
    c.create_alert_rule("pay", "drift", "drift_share", 0.1)
    c.register_dataset("holdout", live)
    c.log_model(model, "payments", input_example=data[FEATURES].head(50))
    for ref in ("payments:1", "payments:2"):
        c.evaluate(ref, "holdout", label="label")

    documents: list[tuple[Any, Any]] = [
        (report, MonitoringReport),
        (c.list_monitoring_reports("pay"), list[ReportListing]),
        (c.get_baseline("payments:1"), Baseline),
        (c.evaluate_alerts("pay"), list[AlertOutcome]),
        (c.compare_versions(["payments:1", "payments:2"]), Comparison),
        (c.get_dataset("invoices").profile, ProfileSummary),
        (c.get_version("payments:1").signature, Signature),
    ]
    for value, kind in documents:
        assert sent(value, kind) == plain(value), kind

    # and they hold what a reader looks for
    assert report["performance"] is not None and report["performance"]["rows"] == 600
    (variant,) = report["variants"]
    assert "amount" in variant.get("drifted_features", [])
    assert report["summary"]["feedback_rows"] == 600
