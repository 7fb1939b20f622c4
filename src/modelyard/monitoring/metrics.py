"""Model quality metrics from scikit-learn, shared by evaluations (a version on a dataset)
and live performance (collected predictions joined with feedback)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def classification(
    actual: Any,
    predicted: Any,
    probabilities: np.ndarray | None = None,
    classes: list[Any] | None = None,
) -> dict[str, Any]:
    """Accuracy, the naive most-frequent-class accuracy, per-class precision/recall/F1,
    macro F1 and the confusion matrix; with probabilities also ROC AUC (one-vs-rest) and
    log loss. Labels are compared as text."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        log_loss,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y = np.asarray([str(v) for v in actual], dtype=object)
    p = np.asarray([str(v) for v in predicted], dtype=object)
    labels = sorted(set(y.tolist()) | set(p.tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, p, labels=labels, zero_division=0
    )
    values, counts = np.unique(y, return_counts=True)
    out: dict[str, Any] = {
        "kind": "classification",
        "rows": int(y.size),
        "accuracy": float(accuracy_score(y, p)),
        "naive_accuracy": float(counts.max() / y.size),
        "naive_class": str(values[counts.argmax()]),
        "f1_macro": float(np.mean(f1)),
        "per_class": {
            label: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
            for label, a, b, c, d in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(y, p, labels=labels).tolist(),
        },
    }
    if probabilities is not None and classes is not None:
        names = [str(c) for c in classes]
        known = np.isin(y, names)  # a label the model never learned has no probability
        if known.all() and len(set(y.tolist())) > 1:
            proba = np.asarray(probabilities, dtype=np.float64)
            if len(names) == 2:
                out["roc_auc_ovr"] = float(roc_auc_score(y == names[1], proba[:, 1]))
            else:
                out["roc_auc_ovr"] = float(roc_auc_score(y, proba, multi_class="ovr", labels=names))
            out["log_loss"] = float(log_loss(y, proba, labels=names))
    return out


def regression(actual: Any, predicted: Any) -> dict[str, Any] | None:
    """MAE, RMSE and R² over the rows where both are numbers."""
    from sklearn.metrics import r2_score

    y = np.asarray(actual, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    ok = ~(np.isnan(y) | np.isnan(p))
    y, p = y[ok], p[ok]
    if not y.size:
        return None
    error = p - y
    out = {
        "kind": "regression",
        "rows": int(y.size),
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(math.sqrt(np.mean(error**2))),
    }
    if y.size > 1:
        out["r2"] = float(r2_score(y, p))
    return out
