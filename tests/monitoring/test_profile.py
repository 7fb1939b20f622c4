"""Profiles merge: chunk by chunk gives what whole gives; they survive JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelyard.monitoring import profile as p


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 50_000
    amount = rng.gamma(2.0, 500.0, n)
    amount[rng.random(n) < 0.02] = np.nan
    group = rng.choice(["retail", "wholesale", "public"], n).astype(object)
    group[rng.random(n) < 0.01] = None
    return pd.DataFrame({"amount": amount, "days": rng.integers(0, 90, n), "group": group})


def test_chunks_merge_to_the_whole(frame: pd.DataFrame) -> None:
    whole = p.Profile.of(frame)
    merged = p.Profile()
    for start in range(0, len(frame), 7_000):
        merged = merged.merge(p.Profile.of(frame.iloc[start : start + 7_000], seed=start))
    assert merged.rows == whole.rows == 50_000
    for name in ("amount", "days"):
        a, b = merged.features[name], whole.features[name]
        assert isinstance(a, p.NumericalProfile) and isinstance(b, p.NumericalProfile)
        assert (a.count, a.nulls, a.minimum, a.maximum) == (b.count, b.nulls, b.minimum, b.maximum)
        assert a.mean == pytest.approx(b.mean, rel=1e-12)
        assert a.variance == pytest.approx(b.variance, rel=1e-9)
        assert a.sample.size == p.SAMPLE_SIZE and a.seen == b.count
        true = np.nanquantile(frame[name].to_numpy(dtype=float), [0.25, 0.5, 0.75])
        got = [a.quantiles()[k] for k in ("p25", "p50", "p75")]
        assert np.allclose(got, true, rtol=0.05)  # a uniform sample's quantiles
    assert merged.features["amount"].nulls == int(frame["amount"].isna().sum())
    cats = merged.features["group"]
    assert isinstance(cats, p.CategoricalProfile)
    assert cats.counts == frame["group"].dropna().value_counts().to_dict()
    assert cats.nulls == int(frame["group"].isna().sum())


def test_profiles_survive_json(frame: pd.DataFrame) -> None:
    original = p.Profile.of(frame.head(500))
    again = p.Profile.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again.to_dict() == original.to_dict()
    amount = original.to_dict()["features"]["amount"]
    assert amount["kind"] == "numerical" and amount["min"] <= amount["quantiles"]["p50"]


def test_categories_are_capped() -> None:
    values = [f"c{i}" for i in range(p.MAX_CATEGORIES + 50)] + ["c0"] * 10
    capped = p.CategoricalProfile.of(values)
    assert len(capped.counts) == p.MAX_CATEGORIES
    assert capped.counts["c0"] == 11
    assert capped.count == len(values)
    assert capped.counts[p.OTHER] == 51
