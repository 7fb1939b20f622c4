"""A report's summary: the numbers alert rules watch and trend lines draw
(``domain.signals.SIGNALS``), from a whole report or one segment of it."""

from __future__ import annotations

from typing import Any

from modelyard.domain.reports import ReportSummary


def summarize(result: dict[str, Any]) -> ReportSummary:
    """The numbers an alert rule watches and a trend line draws (see ``SIGNALS``)."""
    sections = [s for s in result["variants"] if "features" in s]

    def worst(key: str) -> float | None:
        values = [s[key] for s in sections]
        return max(values) if values else None

    feature_drift: dict[str, float] = {}
    for s in sections:
        for f in s["features"]:
            if f["drift"] is not None:
                score = float(f["drift"]["score"])
                feature_drift[f["feature"]] = max(score, feature_drift.get(f["feature"], score))
    predictions = [
        s["prediction"]["drift"]["score"]
        for s in sections
        if s.get("prediction") and s["prediction"]["drift"]
    ]
    performance = result["performance"] or {}
    estimated = result.get("estimated") or {}
    trusted = estimated if estimated.get("trusted") else {}
    matured = (result.get("money") or {}).get("matured") or {}
    return {
        "rows": result["rows"],
        "drift_share": worst("drift_share"),
        "drifted_features": max((len(s["drifted_features"]) for s in sections), default=None),
        "feature_drift": feature_drift,
        "prediction_drift": max(predictions) if predictions else None,
        "null_rate": max((s["quality"]["null_rate"] for s in sections), default=None),
        "type_error_rate": max((s["quality"]["type_error_rate"] for s in sections), default=None),
        "out_of_bounds_rate": max(
            (s["quality"]["out_of_bounds_rate"] for s in sections), default=None
        ),
        "feedback_rows": performance.get("rows", 0),
        "pending_rows": result["pending"],
        "accuracy": performance.get("accuracy"),
        "f1_macro": performance.get("f1_macro"),
        "mae": performance.get("mae"),
        "rmse": performance.get("rmse"),
        "estimated_accuracy": trusted.get("accuracy"),
        "estimated_f1_macro": trusted.get("f1_macro"),
        "money_gap": matured.get("gap"),
    }
