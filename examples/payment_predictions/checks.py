"""Checks before training, each a clear error naming the fix."""

from __future__ import annotations

import pandas as pd

MIN_SETTLED = 100
MIN_PER_BUCKET = 30
#: never known when an invoice is issued, or naming a single row: they leak the outcome
LEAKING = {
    "invoice_id": "an identifier",
    "customer_id": "an identifier",
    "settled": "known only once the invoice is paid",
    "payment_date": "the outcome itself",
    "label": "the outcome itself",
}
LEAKING_WORDS = ("payment_date", "paid", "days_late", "delay", "settle")


class TrainingCheckError(ValueError):
    """Training refused: the message says what is wrong and how to fix it."""


def check_features(features: list[str]) -> None:
    for name in features:
        why = LEAKING.get(name)
        if why is None and any(word in name.lower() for word in LEAKING_WORDS):
            why = "derived from the payment date"
        if why is not None:
            raise TrainingCheckError(
                f"feature {name!r} leaks the outcome ({why}): it is not known when an invoice "
                "is issued; remove it from the features"
            )


def check_data(frame: pd.DataFrame, *, label: str = "label") -> None:
    settled = frame[frame["settled"]] if "settled" in frame.columns else frame
    if len(settled) < MIN_SETTLED:
        raise TrainingCheckError(
            f"only {len(settled)} settled invoices in the training window (at least "
            f"{MIN_SETTLED} are needed): start the window earlier or drop a row filter"
        )
    counts = settled[label].value_counts()
    for bucket, count in sorted(counts.items()):
        if count < MIN_PER_BUCKET:
            raise TrainingCheckError(
                f"only {count} settled invoices are {bucket!r} (at least {MIN_PER_BUCKET} per "
                "bucket are needed): widen the training window, or change late_days (0 keeps "
                "on time / late only)"
            )


def check_training(frame: pd.DataFrame, features: list[str], *, label: str = "label") -> None:
    check_features(features)
    check_data(frame, label=label)
