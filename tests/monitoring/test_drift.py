"""Drift statistics: golden values from scipy and hand-computed PSI; drift is flagged on the
features that moved and on no other."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from modelyard.domain.errors import InvalidInput
from modelyard.monitoring import drift


@pytest.fixture
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.gamma(2.0, 500.0, 5000), rng.gamma(2.2, 520.0, 4000)


def test_numerical_statistics_match_scipy(samples: tuple[np.ndarray, np.ndarray]) -> None:
    ref, cur = samples
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert drift.wasserstein_normalized(ref, cur) == pytest.approx(expected, rel=1e-12)
    result = stats.ks_2samp(ref, cur)
    assert drift.ks(ref, cur) == (pytest.approx(result.statistic), pytest.approx(result.pvalue))
    with_nan = np.append(cur, [np.nan, np.nan])  # missing values are not part of the shape
    assert drift.wasserstein_normalized(ref, with_nan) == pytest.approx(expected, rel=1e-12)


def test_categorical_statistics_match_scipy() -> None:
    ref = {"EUR": 500, "USD": 300, "GBP": 200}
    cur = {"EUR": 350, "USD": 300, "CHF": 50}  # GBP gone, CHF new
    p = [0, 500, 200, 300]  # sorted categories: CHF, EUR, GBP, USD
    q = [50, 350, 0, 300]
    assert drift.jensen_shannon(ref, cur) == pytest.approx(
        distance.jensenshannon(p, q, base=2), rel=1e-12
    )
    statistic, p_value, _, _ = stats.chi2_contingency(np.array([p, q]))
    assert drift.chi_squared(ref, cur) == (pytest.approx(statistic), pytest.approx(p_value))
    assert drift.jensen_shannon(ref, ref) == 0.0
    assert drift.frequencies(["a", "b", "a", None, float("nan")]) == {"a": 2, "b": 1}


def test_psi_against_hand_computed_values() -> None:
    ref = [1.0, 2.0, 3.0, 4.0]  # 2 bins split at the median 2.5: shares 0.5 / 0.5
    # current 0.75 / 0.25: 0.25 ln(0.75/0.5) + (-0.25) ln(0.25/0.5) = 0.25 ln 3
    assert drift.psi(ref, [1.0, 1.0, 1.0, 4.0], bins=2) == pytest.approx(0.25 * math.log(3))
    # an empty bin counts as 1e-4: 0.5 ln(1/0.5) + (1e-4 - 0.5) ln(1e-4/0.5)
    hand = 0.5 * math.log(2) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert drift.psi(ref, [1.0, 1.0, 1.0, 1.0], bins=2) == pytest.approx(hand)
    assert drift.psi(ref, ref, bins=2) == 0.0
    # values beyond the reference's range fall into the outer bins
    assert drift.psi(ref, [-10.0, -9.0, 50.0, 60.0], bins=2) == 0.0
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 20_000)
    assert drift.psi(base, rng.normal(0, 1, 20_000)) < 0.01
    assert drift.psi(base, rng.normal(1, 1, 20_000)) > 0.25  # a one-sigma shift is major


def test_methods_follow_sample_size_and_thresholds() -> None:
    rng = np.random.default_rng(1)
    small = drift.numerical_drift("x", rng.normal(0, 1, 200), rng.normal(0, 1, 200))
    assert small.method == "ks" and small.threshold == 0.05 and small.p_value is not None
    large = drift.numerical_drift("x", rng.normal(0, 1, 5000), rng.normal(0.5, 1, 5000))
    assert (large.method, large.drifted) == ("wasserstein", True)
    assert large.score == pytest.approx(0.5, abs=0.05)
    assert drift.numerical_drift("x", [1, 2, 3], [1, 2, 3], method="psi").method == "psi"
    few = drift.categorical_drift("c", {"a": 50, "b": 50}, {"a": 10, "b": 90})
    assert (few.method, few.drifted) == ("chi_squared", True)
    many = drift.categorical_drift("c", {"a": 5000, "b": 5000}, {"a": 4900, "b": 5100})
    assert (many.method, many.drifted) == ("jensen_shannon", False)
    with pytest.raises(InvalidInput, match="unknown numerical drift method 'l2'"):
        drift.numerical_drift("x", [1.0], [1.0], method="l2")
    with pytest.raises(InvalidInput, match="no values"):
        drift.numerical_drift("x", [np.nan], [1.0])


def test_drift_is_found_where_it_is_and_only_there() -> None:
    """10,000 rows, 8 numerical and 4 categorical features; one of each shifted."""
    rng_ref, rng_cur = np.random.default_rng(10), np.random.default_rng(20)

    def table(rng: np.random.Generator) -> dict[str, np.ndarray]:
        data: dict[str, np.ndarray] = {}
        for i in range(8):
            data[f"num{i}"] = rng.normal(i, 1 + i / 4, 10_000)
        for i in range(4):
            data[f"cat{i}"] = rng.choice(["a", "b", "c", "d"], 10_000, p=[0.4, 0.3, 0.2, 0.1])
        return data

    ref, cur = table(rng_ref), table(rng_cur)
    cur["num3"] = cur["num3"] + 0.4 * np.std(ref["num3"])
    cur["cat2"] = rng_cur.choice(["a", "b", "c", "d"], 10_000, p=[0.2, 0.3, 0.2, 0.3])
    flagged = []
    for name in ref:
        if name.startswith("num"):
            result = drift.numerical_drift(name, ref[name], cur[name])
        else:
            result = drift.categorical_drift(
                name, drift.frequencies(ref[name]), drift.frequencies(cur[name])
            )
        if result.drifted:
            flagged.append(name)
    assert flagged == ["num3", "cat2"]
