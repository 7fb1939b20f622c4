"""Data drift between a reference sample (the training baseline, or an earlier window) and
a current one, per feature. Statistics come from scipy; only PSI is written here (scipy has
none), and it is checked against hand-computed values.

Numerical features:
- normalized Wasserstein distance: ``wasserstein_distance(ref, cur) / std(ref)``, the
  distance in units of the reference's spread; drift at >= 0.1 by default;
- PSI over the reference's deciles; drift at >= 0.1 by default (0.25 is "major");
- Kolmogorov-Smirnov two-sample test, for small samples; drift when p < 0.05.
Categorical features:
- Jensen-Shannon distance (base 2, so 0..1) between the category frequencies; drift at
  >= 0.1 by default;
- chi-squared test of the 2 x k contingency table, for small samples; drift when p < 0.05.

``detect`` picks the method the way a user would expect: the distance measures when both
samples are large enough for them to be stable, the tests on small samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelyard.domain.errors import InvalidInput

SMALL_SAMPLE = 1000  # below this many rows on either side, use the statistical tests
P_VALUE = 0.05
THRESHOLDS = {"wasserstein": 0.1, "psi": 0.1, "jensen_shannon": 0.1}
PSI_BINS = 10
PSI_FLOOR = 1e-4  # a bin with no rows counts as this share, so the log stays finite


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    feature: str
    kind: str  # numerical | categorical
    method: str  # wasserstein | psi | ks | jensen_shannon | chi_squared
    score: float  # the distance, or the test statistic
    threshold: float  # the distance threshold, or the p-value threshold
    drifted: bool
    p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "method": self.method,
            "score": self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "p_value": self.p_value,
        }


def _numbers(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    if array.size == 0:
        raise InvalidInput(f"{what} has no values to compare")
    return array


# -- numerical ------------------------------------------------------------------------------
def wasserstein_normalized(reference: Any, current: Any) -> float:
    ref, cur = _numbers(reference, "the reference"), _numbers(current, "the current sample")
    spread = float(np.std(ref))
    from scipy import stats  # here, not at import: scipy.stats costs every CLI start 0.7 s

    raw = float(stats.wasserstein_distance(ref, cur))
    return raw / spread if spread > 0 else raw


def psi(reference: Any, current: Any, bins: int = PSI_BINS) -> float:
    """Population stability index over the reference's quantile bins:
    ``sum((cur% - ref%) * ln(cur% / ref%))``, empty bins floored at ``PSI_FLOOR``."""
    ref, cur = _numbers(reference, "the reference"), _numbers(current, "the current sample")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if edges.size < 2:  # a constant reference: one bin for it, one for everything else
        same = float(np.mean(cur == edges[0]))
        ref_share = np.array([1.0, 0.0])
        cur_share = np.array([same, 1.0 - same])
    else:
        inner = edges[1:-1]  # open-ended outer bins catch values beyond the reference
        ref_share = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=inner.size + 1)
        cur_share = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=inner.size + 1)
        ref_share = ref_share / ref.size
        cur_share = cur_share / cur.size
    ref_share = np.clip(ref_share, PSI_FLOOR, None)
    cur_share = np.clip(cur_share, PSI_FLOOR, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def ks(reference: Any, current: Any) -> tuple[float, float]:
    ref, cur = _numbers(reference, "the reference"), _numbers(current, "the current sample")
    from scipy import stats

    result = stats.ks_2samp(ref, cur)
    return float(result.statistic), float(result.pvalue)


# -- categorical ----------------------------------------------------------------------------
def frequencies(values: Sequence[Any] | np.ndarray) -> dict[str, int]:
    present = [str(v) for v in values if v is not None and not _is_nan(v)]
    labels, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
    return {str(k): int(c) for k, c in zip(labels, counts, strict=True)}


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _aligned(reference: Mapping[str, int], current: Mapping[str, int]) -> np.ndarray:
    categories = sorted(set(reference) | set(current))
    table = np.array(
        [[reference.get(c, 0) for c in categories], [current.get(c, 0) for c in categories]],
        dtype=np.float64,
    )
    if table[0].sum() == 0 or table[1].sum() == 0:
        raise InvalidInput("a categorical comparison needs values on both sides")
    return table


def jensen_shannon(reference: Mapping[str, int], current: Mapping[str, int]) -> float:
    table = _aligned(reference, current)
    from scipy.spatial import distance

    return float(distance.jensenshannon(table[0], table[1], base=2))


def chi_squared(reference: Mapping[str, int], current: Mapping[str, int]) -> tuple[float, float]:
    table = _aligned(reference, current)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0  # one category on both sides: nothing can differ
    from scipy import stats

    statistic, p_value, _, _ = stats.chi2_contingency(table)
    return float(statistic), float(p_value)


# -- choosing ---------------------------------------------------------------------------------
def numerical_drift(
    feature: str,
    reference: Any,
    current: Any,
    *,
    method: str | None = None,
    threshold: float | None = None,
) -> FeatureDrift:
    ref, cur = _numbers(reference, "the reference"), _numbers(current, "the current sample")
    if method is None:
        method = "ks" if min(ref.size, cur.size) < SMALL_SAMPLE else "wasserstein"
    if method == "ks":
        statistic, p_value = ks(ref, cur)
        limit = P_VALUE if threshold is None else threshold
        return FeatureDrift(feature, "numerical", "ks", statistic, limit, p_value < limit, p_value)
    if method not in ("wasserstein", "psi"):
        raise InvalidInput(f"unknown numerical drift method {method!r}: wasserstein, psi, ks")
    score = wasserstein_normalized(ref, cur) if method == "wasserstein" else psi(ref, cur)
    limit = THRESHOLDS[method] if threshold is None else threshold
    return FeatureDrift(feature, "numerical", method, score, limit, score >= limit)


def categorical_drift(
    feature: str,
    reference: Mapping[str, int],
    current: Mapping[str, int],
    *,
    method: str | None = None,
    threshold: float | None = None,
) -> FeatureDrift:
    small = min(sum(reference.values()), sum(current.values())) < SMALL_SAMPLE
    method = method or ("chi_squared" if small else "jensen_shannon")
    if method == "chi_squared":
        statistic, p_value = chi_squared(reference, current)
        limit = P_VALUE if threshold is None else threshold
        return FeatureDrift(
            feature, "categorical", method, statistic, limit, p_value < limit, p_value
        )
    if method != "jensen_shannon":
        raise InvalidInput(
            f"unknown categorical drift method {method!r}: jensen_shannon, chi_squared"
        )
    score = jensen_shannon(reference, current)
    limit = THRESHOLDS[method] if threshold is None else threshold
    return FeatureDrift(feature, "categorical", method, score, limit, score >= limit)
