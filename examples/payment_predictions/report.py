"""The evaluation report a finance team reads: against the naive baseline, with a grade,
the most influential features and warnings. Metrics and global importance both come from
``Client.evaluate`` (stored with the version)."""

from __future__ import annotations

from typing import Any

GRADES = ((0.20, "A"), (0.10, "B"), (0.05, "C"))  # margin over the base rate
SUSPECT_ACCURACY = 0.98


def grade(accuracy: float, naive: float) -> str:
    margin = accuracy - naive
    return next((g for floor, g in GRADES if margin >= floor), "D")


def report(metrics: dict[str, float], details: Any, *, top: int = 5) -> dict[str, Any]:
    accuracy, naive = metrics["accuracy"], metrics["naive_accuracy"]
    target = 1 - (1 - naive) / 2  # halve the naive error
    importance = details.get("importance") or {"features": {}}
    ranked = list(importance["features"].items())[:top]
    warnings = []
    if accuracy >= SUSPECT_ACCURACY:
        warnings.append(
            f"accuracy {accuracy:.1%} is suspiciously high: check the features for leakage"
        )
    for label, row in zip(
        details["confusion_matrix"]["labels"], details["confusion_matrix"]["matrix"], strict=True
    ):
        total = sum(row)
        correct = row[details["confusion_matrix"]["labels"].index(label)]
        if total and correct == 0:
            warnings.append(f"class {label!r} is never predicted correctly")
    return {
        "accuracy": accuracy,
        "naive_accuracy": naive,
        "naive_class": details.get("naive_class"),
        "target_accuracy": target,
        "meets_target": accuracy >= target,
        "f1_macro": metrics["f1_macro"],
        "per_class": details["per_class"],
        "confusion_matrix": details["confusion_matrix"],
        "grade": grade(accuracy, naive),
        "top_features": [{"feature": f, "importance": float(v)} for f, v in ranked],
        "warnings": warnings,
    }


def render(r: dict[str, Any]) -> str:
    lines = [
        f"accuracy {r['accuracy']:.1%} vs naive {r['naive_accuracy']:.1%} "
        f"(always {r['naive_class']!r}); target {r['target_accuracy']:.1%} "
        f"({'met' if r['meets_target'] else 'not met'}); grade {r['grade']}",
        f"F1 macro {r['f1_macro']:.3f}",
    ]
    for label, v in r["per_class"].items():
        lines.append(
            f"  {label:<10} precision {v['precision']:.2f}  recall {v['recall']:.2f}  "
            f"f1 {v['f1']:.2f}  ({v['support']} invoices)"
        )
    labels = r["confusion_matrix"]["labels"]
    lines.append("  confusion (rows actual, columns predicted): " + " / ".join(labels))
    for label, row in zip(labels, r["confusion_matrix"]["matrix"], strict=True):
        lines.append(f"    {label:<10} " + " ".join(f"{n:>6}" for n in row))
    lines.append(
        "most influential: "
        + ", ".join(f"{t['feature']} ({t['importance']:.3f})" for t in r["top_features"])
    )
    lines.extend(f"warning: {w}" for w in r["warnings"])
    return "\n".join(lines)
