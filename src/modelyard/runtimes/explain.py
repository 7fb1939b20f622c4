"""Top factors: how much each input moved one row's answer, and from what base value.

It runs where the model runs (a model worker, or the caller's process), beside ``Scorer``.
Two methods, chosen by the model:

- ``tree_shap``: XGBoost and LightGBM compute exact TreeSHAP contributions themselves
  (their flavors' ``tree_contributions``), in the model's raw output: the log-odds of the
  predicted class for a binary classifier, that class's raw score for a multi-class one,
  the raw prediction for a regressor. The base value plus the contributions equals that
  raw output. XGBoost computes in single precision: each row's base value is its raw
  output minus the sum of its contributions, so the identity holds exactly; it differs
  from XGBoost's own bias column by the rounding (around 1e-6).
- ``baseline_shapley``: any other model, by Shapley values of the game that moves a row
  from a reference row (the median or most frequent value of each input in the version's
  training data, ``reference_row``) to the row itself, one input at a time (Sundararajan &
  Najmi, "The many Shapley values for model explanation", 2020). The explained number is
  the probability of the predicted class (classifiers) or the prediction (regressors); the
  base value is that number at the reference row, and base plus contributions equals it at
  the row exactly. With up to ``EXACT_UP_TO`` inputs every ordering is used (exact);
  above, ``SAMPLED`` orderings, half of them the reverse of the other half, drawn from a
  fixed seed (the same row gets the same answer). No library does this over the reference
  a version records, in a model worker's own environment: it is numpy, written here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

EXACT_UP_TO = 4  # inputs up to which every ordering is used (4! = 24)
SAMPLED = 16  # orderings sampled above that
MAX_POINTS = 100_000  # model rows per call while explaining
MAX_FACTORS = 50  # the most factors a row may ask for


def explain_count(value: Any) -> int:
    """How many top factors a caller asks for: 0 (none) to ``MAX_FACTORS``, a whole
    number (or its digits as text, from a URL); ``InvalidInput`` otherwise."""
    from modelyard.domain.errors import InvalidInput

    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FACTORS:
        raise InvalidInput(f"explain must be a whole number from 0 to {MAX_FACTORS}")
    return value


class CannotExplain(Exception):
    """Why this model's answers cannot be explained (the caller's answer, in a line)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Every input's contribution for each row (in ``features`` order)."""

    method: str  # tree_shap | baseline_shapley
    output: str  # raw_score | probability | prediction
    features: list[str]
    base: np.ndarray  # (rows,)
    contributions: np.ndarray  # (rows, features)

    def top(self, n: int) -> Factors:
        """The ``n`` largest contributions of each row by size, largest first."""
        k = min(n, len(self.features))
        order = np.argsort(-np.abs(self.contributions), axis=1, kind="stable")[:, :k]
        names = np.asarray(self.features, dtype=object)[order]
        values = np.take_along_axis(self.contributions, order, axis=1)
        return Factors(self.method, self.output, self.base, names, values)


@dataclass(frozen=True, slots=True)
class Factors:
    """Each row's top factors: ``features[i, k]`` moved row ``i`` by ``contributions[i, k]``."""

    method: str
    output: str
    base: np.ndarray  # (rows,)
    features: np.ndarray  # (rows, k) of str
    contributions: np.ndarray  # (rows, k)


def reference_row(
    baseline: Mapping[str, Any] | None, inputs: list[str]
) -> dict[str, float | str | None] | None:
    """The row ``baseline_shapley`` starts from: each input's median (numerical) or most
    frequent value (categorical) in a version's training baseline (every column it profiled
    when the version declares no inputs); None without one, or when it lacks an input."""
    if not baseline:
        return None
    features = baseline.get("features") or {}
    row: dict[str, float | str | None] = {}
    for name in inputs or list(features):
        stats = features.get(name)
        if stats is None:
            return None
        if stats.get("kind") == "numerical":
            middle = (stats.get("quantiles") or {}).get("p50", stats.get("mean"))
            row[name] = None if middle is None else float(middle)
        else:
            counts = {k: v for k, v in (stats.get("counts") or {}).items() if k != "__other__"}
            row[name] = max(counts, key=lambda k: counts[k]) if counts else None
    return row


def explain(
    scorer: Any, columns: dict[str, np.ndarray], reference: dict[str, Any] | None
) -> Explanation:
    """Every input's contribution to each row's answer (``scorer``: a ``Scorer``; ``columns``:
    typed columns in signature order)."""
    if callable(getattr(scorer.model, "tree_contributions", None)):
        return _tree_shap(scorer.model, scorer.frame(columns), list(columns))
    if reference is None:
        raise CannotExplain(
            "it has no training baseline to explain against: register the version with a "
            "training dataset and deploy it again (XGBoost and LightGBM need none)"
        )
    missing = [c for c in columns if c not in reference]
    if missing:
        raise CannotExplain(f"its training baseline lacks the input {missing[0]!r}")
    return _baseline_shapley(scorer, columns, reference)


# -- TreeSHAP -----------------------------------------------------------------------------
def _tree_shap(model: Any, frame: Any, names: list[str]) -> Explanation:
    """The framework's contributions for each row's predicted class, in its raw output."""
    found, raw = model.tree_contributions(frame)
    contributions = np.asarray(found, dtype=np.float64)
    margin = np.asarray(raw, dtype=np.float64)
    rows, width = len(margin), len(names) + 1
    if contributions.ndim == 2 and contributions.shape[1] != width:  # LightGBM multi-class
        contributions = contributions.reshape(rows, -1, width)
    if contributions.ndim == 3:  # multi-class: the predicted class's raw score
        chosen = np.argmax(margin, axis=1)
        picked = contributions[np.arange(rows), chosen]
        margin = margin[np.arange(rows), chosen]
    elif model.classes is not None and len(model.classes) == 2:  # binary: its log-odds
        sign = np.where(margin >= 0, 1.0, -1.0)
        picked = contributions * sign[:, None]
        margin = margin * sign
    else:
        picked = contributions
    each = picked[:, :-1]
    base = picked[:, -1] if model.exact_bias else margin - each.sum(axis=1)
    return Explanation("tree_shap", "raw_score", names, base, each)


# -- baseline Shapley ---------------------------------------------------------------------
def _orders(d: int, rng: np.random.Generator) -> np.ndarray:
    if d <= EXACT_UP_TO:
        return np.asarray(list(itertools.permutations(range(d))), dtype=np.intp).reshape(-1, d)
    half = np.stack([rng.permutation(d) for _ in range(SAMPLED // 2)])
    return np.concatenate([half, half[:, ::-1]])


def _typed(value: Any, like: np.ndarray) -> np.ndarray:
    """``value`` as a one-element array of ``like``'s dtype when it fits, else as objects."""
    kind = like.dtype.kind
    if value is None:
        return np.asarray([np.nan]) if kind == "f" else np.asarray([None], dtype=object)
    try:
        if kind == "b":
            return np.asarray([str(value).strip().lower() in ("true", "1", "1.0")])
        if kind in "iu":
            return np.asarray([round(float(value))], dtype=like.dtype)
        if kind != "O":
            return np.asarray([value], dtype=like.dtype)
    except (TypeError, ValueError, OverflowError):
        pass
    return np.asarray([value], dtype=object)


class _Target:
    """The number explained for each row: its predicted class's probability, or its
    prediction. Whether the model is a classifier is decided by its first answer (a
    script model knows its classes once it has run)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.classifier: bool | None = None

    @property
    def output(self) -> str:
        return "probability" if self.classifier else "prediction"

    def values(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        frame = self.scorer.frame(columns)
        if self.classifier is not False:
            proba = self.scorer.model.predict_proba(frame)
            if proba is not None:
                self.classifier = True
                return np.asarray(proba, dtype=np.float64)
            if self.classifier or self.scorer.model.classes is not None:
                raise CannotExplain("it gives no class probabilities to explain")
            self.classifier = False
        found = np.asarray(self.scorer.model.predict(frame))
        if found.dtype.kind not in "biuf":
            raise CannotExplain("its predictions are not numbers")
        return found.astype(np.float64).reshape(len(found), -1)[:, 0]


def _baseline_shapley(
    scorer: Any, columns: dict[str, np.ndarray], reference: dict[str, Any]
) -> Explanation:
    names = list(columns)
    d = len(names)
    rows = len(next(iter(columns.values())))
    target = _Target(scorer)
    start = {n: _typed(reference[n], columns[n]) for n in names}
    at_start = target.values(start)
    at_row = target.values(columns)
    chosen = np.argmax(at_row, axis=1) if target.classifier else None
    orders = _orders(d, np.random.default_rng(0))
    m = len(orders)
    # masks[o, k, j]: after the first k + 1 steps of ordering o, input j is the row's
    masks = np.zeros((m, max(d - 1, 0), d), dtype=bool)
    for o, order in enumerate(orders):
        for k in range(d - 1):
            masks[o, k, order[: k + 1]] = True
    steps = m * (d - 1)
    per_call = max(1, MAX_POINTS // max(steps, 1))
    total = np.zeros((rows, d))
    for lo in range(0, rows, per_call):
        hi = min(rows, lo + per_call)
        n = hi - lo
        if chosen is not None:  # each row's own predicted class, all along its paths
            cls = chosen[lo:hi]
            first, last = at_start[0][cls], at_row[lo:hi][np.arange(n), cls]
        else:
            first, last = np.full(n, at_start[0]), at_row[lo:hi]
        middle = np.empty((n, 0))
        if steps:
            mixed = {}
            for j, name in enumerate(names):
                own = np.repeat(columns[name][lo:hi], steps)
                mask = np.tile(masks[:, :, j].reshape(-1), n)
                mixed[name] = np.where(mask, own, np.resize(start[name], len(own)))
                if mixed[name].dtype != columns[name].dtype and columns[name].dtype.kind != "O":
                    mixed[name] = mixed[name].astype(columns[name].dtype, copy=False)
            inner = target.values(mixed)
            if chosen is not None:
                picked = inner.reshape(n, steps, -1)
                middle = np.take_along_axis(picked, cls[:, None, None], axis=2)[:, :, 0]
            else:
                middle = inner.reshape(n, steps)
        path = np.concatenate(
            [
                np.repeat(first[:, None, None], m, axis=1),
                middle.reshape(n, m, d - 1),
                np.repeat(last[:, None, None], m, axis=1),
            ],
            axis=2,
        )
        moved = np.diff(path, axis=2)  # (n, m, d): the k-th step of ordering o
        share = np.zeros((n, d))
        for o, order in enumerate(orders):
            share[:, order] += moved[:, o, :]
        total[lo:hi] = share / m
    base_values = at_start[0][chosen] if chosen is not None else np.full(rows, at_start[0])
    if not math.isfinite(float(np.sum(total))):
        raise CannotExplain("the model's answers are not finite numbers")
    return Explanation("baseline_shapley", target.output, names, base_values, total)
