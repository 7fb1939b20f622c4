"""Performance before the labels arrive: confidence-based performance estimation (CBPE, as
NannyML describes it) for classifiers.

A calibrated classifier's probability for the class it predicts is the chance that the
prediction is right, so the mean of those probabilities over a window estimates its
accuracy, and the expected confusion counts (``TP_c = sum p_ic`` over rows predicted
``c``, and so on) estimate F1 per class. Probabilities are calibrated first, one isotonic
regression per class (one-vs-rest) fitted on labelled, matured reference rows, then
renormalised.

**When not to trust it.** The estimate assumes the probabilities mean the same on the
window as on the reference (no concept drift). The check: the reference is split in two
halves; calibrated on one, the estimate on the other is compared with that half's
realised accuracy. A gap above ``MAX_GAP`` (or, for a small reference, three standard
errors of that half's accuracy), or fewer than ``MIN_REFERENCE`` labelled rows, says so,
and the estimate is marked untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from modelyard.monitoring.report import FEEDBACK_CTE, feedback_files

if TYPE_CHECKING:
    from modelyard.monitoring.lake import Lake
    from modelyard.monitoring.report import Window

MIN_REFERENCE = 200
MAX_GAP = 0.03


@dataclass(frozen=True, slots=True)
class Rows:
    """Class probabilities (rows x classes, in ``classes`` order), the predicted class's
    index per row, and, for reference rows, the actual class's index (-1: unknown)."""

    probabilities: np.ndarray
    predicted: np.ndarray
    actual: np.ndarray | None = None


def _calibrators(reference: Rows) -> list[Any]:
    from sklearn.isotonic import IsotonicRegression

    assert reference.actual is not None
    return [
        IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            reference.probabilities[:, c], (reference.actual == c).astype(np.float64)
        )
        for c in range(reference.probabilities.shape[1])
    ]


def _calibrated(calibrators: list[Any] | None, probabilities: np.ndarray) -> np.ndarray:
    if calibrators is None:
        return probabilities
    fitted = np.column_stack(
        [cal.predict(probabilities[:, c]) for c, cal in enumerate(calibrators)]
    )
    total = fitted.sum(axis=1, keepdims=True)
    uniform = np.full_like(fitted, 1.0 / fitted.shape[1])
    return np.where(total > 0, fitted / np.where(total > 0, total, 1.0), uniform)


def expected(probabilities: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Expected accuracy and macro F1 of ``predicted`` if ``probabilities`` are right."""
    rows = np.arange(len(predicted))
    accuracy = float(probabilities[rows, predicted].mean())
    scores = []
    for c in range(probabilities.shape[1]):
        mine = predicted == c
        tp = probabilities[mine, c].sum()
        fp = (1 - probabilities[mine, c]).sum()
        fn = probabilities[~mine, c].sum()
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 0.0)
    return {"accuracy": accuracy, "f1_macro": float(np.mean(scores))}


def estimate(window: Rows, reference: Rows) -> dict[str, Any] | None:
    """The estimate over ``window``, calibrated on ``reference``; None without rows."""
    if not len(window.predicted):
        return None
    labels = reference.actual if reference.actual is not None else np.zeros(0, dtype=np.int64)
    known = labels >= 0
    reference = Rows(reference.probabilities[known], reference.predicted[known], labels[known])
    m = len(reference.predicted)
    if m < MIN_REFERENCE:
        found = expected(window.probabilities, window.predicted)
        return {
            **found,
            "rows": len(window.predicted),
            "reference_rows": m,
            "calibration_gap": None,
            "trusted": False,
            "reason": f"{m} labelled reference rows; at least {MIN_REFERENCE} calibrate it",
        }
    halves = [np.arange(m) % 2 == 0, np.arange(m) % 2 == 1]
    gaps, noise = [], 0.0
    labels = labels[known]
    for fit, check in (halves, halves[::-1]):
        part = Rows(reference.probabilities[fit], reference.predicted[fit], labels[fit])
        held = _calibrated(_calibrators(part), reference.probabilities[check])
        guess = expected(held, reference.predicted[check])["accuracy"]
        actual = float((reference.predicted[check] == labels[check]).mean())
        gaps.append(abs(guess - actual))
        noise = max(noise, 3 * float(np.sqrt(actual * (1 - actual) / int(check.sum()))))
    gap = float(max(gaps))
    found = expected(_calibrated(_calibrators(reference), window.probabilities), window.predicted)
    trusted = gap <= max(MAX_GAP, noise)
    return {
        **found,
        "rows": len(window.predicted),
        "reference_rows": m,
        "calibration_gap": gap,
        "trusted": trusted,
        "reason": None
        if trusted
        else f"on the reference, the estimate missed the realised accuracy by {gap:.1%}",
    }


# -- reading the rows ---------------------------------------------------------------------
def window_rows(data: Window, variant: str, classes: list[str]) -> Rows:
    """The window's live rows of ``variant`` with class probabilities."""
    if not data.files or "probabilities" not in data.columns:
        return Rows(np.zeros((0, len(classes))), np.zeros(0, dtype=np.int64))
    found = data.con.execute(
        "SELECT CAST(d.prediction AS VARCHAR), d.probabilities "
        f"FROM read_parquet(?, union_by_name=true) d WHERE {data.where} AND d.variant = ? "
        "AND d.probabilities IS NOT NULL",
        [data.files, data.since, data.until, variant],
    ).fetchall()
    return _rows(found, classes)


def labelled_rows(
    data: Window, lake: Lake, matures: str, now: datetime, variant: str, classes: list[str]
) -> Rows:
    """The live rows of ``variant`` in ``data`` whose label has matured, with it."""
    feedback = feedback_files(lake, data.deployment)
    if not data.files or not feedback or "probabilities" not in data.columns:
        return Rows(np.zeros((0, len(classes))), np.zeros(0, dtype=np.int64), np.zeros(0))
    lake.attach(data.con)
    found = data.con.execute(
        FEEDBACK_CTE + "SELECT CAST(d.prediction AS VARCHAR), d.probabilities, fb.actual "
        "FROM read_parquet(?, union_by_name=true) d "
        'JOIN fb ON d.request_id = fb.request_id AND d."row" = fb."row" '
        f"WHERE {data.where} AND d.variant = ? AND d.probabilities IS NOT NULL "
        f"AND {matures} <= ?",
        [feedback, data.files, data.since, data.until, variant, now],
    ).fetchall()
    return _rows(found, classes, labelled=True)


def _rows(found: list[Any], classes: list[str], *, labelled: bool = False) -> Rows:
    """Rows of (prediction, probabilities[, actual]) as class indices (a label the model
    does not know is -1)."""
    index = {c: i for i, c in enumerate(classes)}
    kept = [r for r in found if r[0] in index and len(r[1]) == len(classes)]
    probabilities = np.array([r[1] for r in kept], dtype=np.float64).reshape(-1, len(classes))
    predicted = np.array([index[r[0]] for r in kept], dtype=np.int64)
    if not labelled:
        return Rows(probabilities, predicted)
    actual = np.array([index.get(str(r[2]), -1) for r in kept], dtype=np.int64)
    return Rows(probabilities, predicted, actual)
