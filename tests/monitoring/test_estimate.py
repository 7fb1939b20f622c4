"""Estimated performance before labels arrive (CBPE): right when the probabilities mean
what they say, flagged when they do not."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from modelyard.monitoring.estimate import Rows, estimate
from tests.monitoring.conftest import FEATURES, Watched, invoices


def drawn(n: int, seed: int, shift: float = 0.0, lie: float = 0.0) -> tuple[Rows, np.ndarray]:
    """Three classes; labels drawn from the probabilities (a calibrated model), from
    probabilities ``lie`` off them (an over-confident one), with inputs moved by
    ``shift`` (covariate shift: the model stays calibrated)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(shift, 1.5, (n, 3))
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    actual = np.array([rng.choice(3, p=p) for p in true])
    shown = true ** (1 - lie)
    shown /= shown.sum(axis=1, keepdims=True)
    return Rows(shown, shown.argmax(axis=1), actual), actual


def test_the_estimate_is_within_two_points_of_the_realised_accuracy() -> None:
    reference, _ = drawn(5000, seed=1)
    window, actual = drawn(10_000, seed=2, shift=0.8)
    found = estimate(Rows(window.probabilities, window.predicted), reference)
    assert found is not None and found["trusted"] and found["rows"] == 10_000
    realised = float((window.predicted == actual).mean())
    assert found["accuracy"] == pytest.approx(realised, abs=0.02)


def test_an_over_confident_model_is_calibrated_and_too_few_labels_are_said() -> None:
    reference, _ = drawn(5000, seed=3, lie=-1.0)  # probabilities sharper than the truth
    window, actual = drawn(10_000, seed=4, lie=-1.0)
    raw = float(window.probabilities.max(axis=1).mean())
    realised = float((window.predicted == actual).mean())
    assert raw - realised > 0.1  # uncalibrated, the mean confidence is far off
    found = estimate(Rows(window.probabilities, window.predicted), reference)
    assert found is not None and found["accuracy"] == pytest.approx(realised, abs=0.02)
    few = estimate(Rows(window.probabilities, window.predicted), drawn(50, seed=5)[0])
    assert few is not None and few["trusted"] is False
    assert few["reason"] == "50 labelled reference rows; at least 200 calibrate it"
    assert estimate(Rows(np.zeros((0, 3)), np.zeros(0, int)), reference) is None
    no_labels = Rows(window.probabilities, window.predicted)  # actual unknown
    for nothing in (Rows(np.zeros((0, 3)), np.zeros(0, int), np.zeros(0, int)), no_labels):
        unlabelled = estimate(Rows(window.probabilities, window.predicted), nothing)
        assert unlabelled is not None and unlabelled["trusted"] is False, nothing
        assert unlabelled["reason"] == "0 labelled reference rows; at least 200 calibrate it"


def test_a_report_estimates_accuracy_before_the_labels_arrive(watched: Watched) -> None:
    """Labels for the first 3,000 invoices; 3,000 more without: the estimate over the
    window is within 3 points of what the missing labels would say."""
    labelled, waiting = invoices(3000, seed=21), invoices(3000, seed=22)
    answered = watched.score(labelled)
    watched.client.send_feedback(
        "pay",
        [
            {"request_id": rid, "row": i, "actual": actual}
            for (rid, _), part in zip(
                answered, np.array_split(labelled.label.to_numpy(), 6), strict=True
            )
            for i, actual in enumerate(part)
        ],
    )
    started = datetime.now(UTC)
    watched.score(waiting)
    watched.flush()
    report = watched.client.monitor("pay", since=started, store=False)
    found = report["estimated"]
    assert found is not None and found["trusted"], found
    assert found["rows"] == 3000 and found["reference_rows"] == 3000
    realised = float((watched.model.predict(waiting[FEATURES]) == waiting.label).mean())
    assert found["accuracy"] == pytest.approx(realised, abs=0.03)
    assert report["summary"]["estimated_accuracy"] == found["accuracy"]
    assert report["summary"]["accuracy"] is None  # no label in the window yet
    rule = watched.client.create_alert_rule(
        "pay", "estimated", "estimated_accuracy", 0.99, op="<", window="1h"
    )
    (outcome,) = watched.client.evaluate_alerts("pay")
    assert rule.signal == "estimated_accuracy" and outcome["firing"] is True
