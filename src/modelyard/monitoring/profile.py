"""Profiles of tabular data: what a baseline keeps of its training data, built in chunks.

A profile is mergeable: profiling a large file chunk by chunk and merging the parts gives
the same counts, nulls, min, max, mean and variance as profiling it whole (exactly, up to
floating point), and a uniform sample of at most ``SAMPLE_SIZE`` values per numerical
feature (what quantiles, histograms and drift distances are computed from). Categorical
features keep exact category counts, up to ``MAX_CATEGORIES`` (the rest are counted
together as ``OTHER``). Profiles are plain JSON (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.reports import CategoricalSummary, NumericalSummary, ProfileSummary

SAMPLE_SIZE = 10_000
MAX_CATEGORIES = 1000
OTHER = "__other__"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass
class NumericalProfile:
    count: int = 0  # non-null values
    nulls: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations (Chan et al. parallel variance)
    sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    seen: int = 0  # values the sample was drawn from

    kind = "numerical"

    @classmethod
    def of(cls, values: Any, rng: np.random.Generator) -> NumericalProfile:
        array = np.asarray(values, dtype=np.float64)
        present = array[~np.isnan(array)]
        profile = cls(nulls=int(array.size - present.size))
        if present.size:
            profile.count = int(present.size)
            profile.minimum = float(present.min())
            profile.maximum = float(present.max())
            profile.mean = float(present.mean())
            profile.m2 = float(((present - profile.mean) ** 2).sum())
            keep = min(present.size, SAMPLE_SIZE)
            profile.sample = (
                rng.choice(present, keep, replace=False) if keep < present.size else present.copy()
            )
            profile.seen = int(present.size)
        return profile

    def merge(self, other: NumericalProfile, rng: np.random.Generator) -> NumericalProfile:
        n = self.count + other.count
        merged = NumericalProfile(count=n, nulls=self.nulls + other.nulls)
        if n == 0:
            return merged
        merged.minimum = min(self.minimum, other.minimum)
        merged.maximum = max(self.maximum, other.maximum)
        delta = other.mean - self.mean
        merged.mean = self.mean + delta * other.count / n
        merged.m2 = self.m2 + other.m2 + delta**2 * self.count * other.count / n
        merged.sample, merged.seen = _merge_samples(
            self.sample, self.seen, other.sample, other.seen, rng
        )
        return merged

    @property
    def variance(self) -> float:
        return self.m2 / self.count if self.count else math.nan

    def quantiles(self) -> dict[str, float]:
        if not self.sample.size:
            return {}
        values = np.quantile(self.sample, QUANTILES)
        return {f"p{round(q * 100)}": float(v) for q, v in zip(QUANTILES, values, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "nulls": self.nulls,
            "min": self.minimum if self.count else None,
            "max": self.maximum if self.count else None,
            "mean": self.mean if self.count else None,
            "std": math.sqrt(self.variance) if self.count else None,
            "m2": self.m2,
            "quantiles": self.quantiles(),
            "sample": self.sample.tolist(),
            "seen": self.seen,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NumericalProfile:
        return cls(
            count=d["count"],
            nulls=d["nulls"],
            minimum=d["min"] if d["min"] is not None else math.inf,
            maximum=d["max"] if d["max"] is not None else -math.inf,
            mean=d["mean"] or 0.0,
            m2=d["m2"],
            sample=np.asarray(d["sample"], dtype=np.float64),
            seen=d["seen"],
        )


def _merge_samples(
    a: np.ndarray, a_seen: int, b: np.ndarray, b_seen: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """A uniform sample of the union: each side contributes in proportion to what it saw."""
    seen = a_seen + b_seen
    if a.size + b.size <= SAMPLE_SIZE:
        return np.concatenate([a, b]), seen
    from_a = round(SAMPLE_SIZE * a_seen / seen)
    from_a = min(from_a, a.size)
    from_b = min(SAMPLE_SIZE - from_a, b.size)
    parts = [
        rng.choice(a, from_a, replace=False) if from_a < a.size else a,
        rng.choice(b, from_b, replace=False) if from_b < b.size else b,
    ]
    return np.concatenate(parts), seen


@dataclass
class CategoricalProfile:
    counts: dict[str, int] = field(default_factory=dict)
    nulls: int = 0

    kind = "categorical"

    @classmethod
    def of(cls, values: Any) -> CategoricalProfile:
        series = pd.Series(values, dtype=object)
        missing = series.isna()
        counts = series[~missing].astype(str).value_counts()
        return cls(_capped({str(k): int(v) for k, v in counts.items()}), int(missing.sum()))

    def merge(self, other: CategoricalProfile) -> CategoricalProfile:
        counts = dict(self.counts)
        for key, value in other.counts.items():
            counts[key] = counts.get(key, 0) + value
        return CategoricalProfile(_capped(counts), self.nulls + other.nulls)

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "count": self.count, "nulls": self.nulls, "counts": self.counts}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoricalProfile:
        return cls(dict(d["counts"]), d["nulls"])


def _capped(counts: dict[str, int]) -> dict[str, int]:
    if len(counts) <= MAX_CATEGORIES:
        return counts
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[: MAX_CATEGORIES - 1])
    kept[OTHER] = kept.get(OTHER, 0) + sum(v for _, v in ranked[MAX_CATEGORIES - 1 :])
    return kept


FeatureProfile = NumericalProfile | CategoricalProfile


@dataclass
class Profile:
    """Per-column profiles of a table, plus its row count."""

    rows: int = 0
    features: dict[str, FeatureProfile] = field(default_factory=dict)

    @classmethod
    def of(cls, frame: pd.DataFrame, seed: int = 0) -> Profile:
        rng = np.random.default_rng(seed)
        features: dict[str, FeatureProfile] = {}
        for name in frame.columns:
            column = frame[name]
            numeric = pd.api.types.is_numeric_dtype(
                column.dtype
            ) and not pd.api.types.is_bool_dtype(column.dtype)
            features[str(name)] = (
                NumericalProfile.of(column.to_numpy(dtype=np.float64, na_value=np.nan), rng)
                if numeric
                else CategoricalProfile.of(column.to_numpy(dtype=object))
            )
        return cls(len(frame), features)

    def merge(self, other: Profile, seed: int = 0) -> Profile:
        rng = np.random.default_rng(seed)
        merged: dict[str, FeatureProfile] = dict(self.features)
        for name, theirs in other.features.items():
            mine = merged.get(name)
            if mine is None:
                merged[name] = theirs
            elif isinstance(mine, NumericalProfile) and isinstance(theirs, NumericalProfile):
                merged[name] = mine.merge(theirs, rng)
            elif isinstance(mine, CategoricalProfile) and isinstance(theirs, CategoricalProfile):
                merged[name] = mine.merge(theirs)
            else:  # a column typed differently in two chunks: keep it as categories
                merged[name] = _as_categories(mine).merge(_as_categories(theirs))
        return Profile(self.rows + other.rows, merged)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "features": {k: v.to_dict() for k, v in self.features.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        features: dict[str, FeatureProfile] = {}
        for name, f in d["features"].items():
            features[name] = (
                NumericalProfile.from_dict(f)
                if f["kind"] == "numerical"
                else CategoricalProfile.from_dict(f)
            )
        return cls(d["rows"], features)


def _as_categories(profile: FeatureProfile) -> CategoricalProfile:
    if isinstance(profile, CategoricalProfile):
        return profile
    return CategoricalProfile.of([repr(float(v)) for v in profile.sample])


CHUNK_ROWS = 100_000
TOP_CATEGORIES = 20


def profile_table(table: Any, columns: list[str] | None = None, seed: int = 0) -> Profile:
    """Profile a pyarrow Table chunk by chunk (bounded memory), merging the parts."""
    if columns is not None:
        table = table.select(columns)
    profile = Profile()
    for i, start in enumerate(range(0, max(table.num_rows, 1), CHUNK_ROWS)):
        part = Profile.of(table.slice(start, CHUNK_ROWS).to_pandas(), seed=seed + i)
        profile = profile.merge(part, seed=seed + i) if profile.features else part
    return profile


def summarize(profile: dict[str, Any]) -> ProfileSummary:
    """What a person reads of a profile: no samples, the most frequent categories only."""
    out: ProfileSummary = {"rows": profile["rows"], "features": {}}
    for name, f in profile["features"].items():
        total = f["count"] + f["nulls"]
        null_rate = f["nulls"] / total if total else 0.0
        if f["kind"] == "numerical":
            out["features"][name] = NumericalSummary(
                kind="numerical",
                count=f["count"],
                null_rate=null_rate,
                min=f["min"],
                max=f["max"],
                mean=f["mean"],
                std=f["std"],
                quantiles=f["quantiles"],
            )
        else:
            ranked = sorted(f["counts"].items(), key=lambda kv: (-kv[1], kv[0]))
            out["features"][name] = CategoricalSummary(
                kind="categorical",
                count=f["count"],
                null_rate=null_rate,
                categories=len(f["counts"]),
                top=dict(ranked[:TOP_CATEGORIES]),
            )
    return out
