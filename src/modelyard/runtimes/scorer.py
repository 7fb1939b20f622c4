"""One loaded model version, ready to score typed columns: the only place a flavor's
``predict`` / ``predict_proba`` is called for scoring. It runs where the model runs: in a
model worker (``runtimes.worker``), or in the caller's process when that is the host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.reports import Signature
from modelyard.flavors.base import LoadedModel


@dataclass(frozen=True, slots=True)
class Output:
    predictions: np.ndarray
    probabilities: np.ndarray | None


class Scorer:
    """Scores frames with one model. For a classifier whose predicted label is the argmax of
    its probabilities (checked on warm-up rows), one ``predict_proba`` call answers both:
    half the model time per batch, identical results."""

    def __init__(self, model: LoadedModel, signature: Signature | None) -> None:
        self.model = model
        self.signature = signature
        self.classes: list[Any] | None = model.classes
        self._derive_labels = False
        self.warmup_error: str | None = None

    def frame(self, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        """One DataFrame per model call, built the public way so its dtypes are what a
        user's own frame would have. ``columns`` are already in signature order, so no
        ``columns=`` argument (which costs pandas a reindex: 322 vs 215 µs for 12 columns)."""
        return pd.DataFrame(columns)

    def score(self, frame: pd.DataFrame) -> Output:
        proba = self.model.predict_proba(frame) if self.classes is not None else None
        if proba is not None and self._derive_labels:
            proba = np.asarray(proba)
            return Output(self._labels[np.argmax(proba, axis=1)], proba)
        predictions = np.asarray(self.model.predict(frame))
        return Output(predictions, None if proba is None else np.asarray(proba))

    def warm_up(self, example: pd.DataFrame | None) -> None:
        """Score a few synthetic rows (first code paths, lazy imports, thread pools) and
        decide whether labels can come from the probabilities."""
        if example is None:
            return
        try:
            predictions = np.asarray(self.model.predict(example))
            proba = self.model.predict_proba(example) if self.classes is not None else None
        except Exception as e:  # synthetic rows may not suit every model: serve anyway
            self.warmup_error = f"{type(e).__name__}"
            return
        if proba is None:
            return
        labels = np.asarray(self.classes, dtype=predictions.dtype)
        derived = labels[np.argmax(np.asarray(proba), axis=1)]
        if np.array_equal(derived, predictions):
            self._labels = labels
            self._derive_labels = True
