"""A version's metadata as a caller hands it over, checked before anything is stored."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelyard.domain.errors import InvalidInput
from modelyard.domain.names import check_key, check_name


@dataclass(frozen=True, slots=True)
class Draft:
    """A version's metadata, checked before anything is stored."""

    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    datasets: list[str]
    eval_datasets: list[str]
    description: str
    source: str | None
    git_commit: str | None
    promoted_from: str | None
    compiled_from: str | None = None


def draft(
    *,
    tags: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    datasets: Iterable[str] = (),
    eval_datasets: Iterable[str] = (),
    description: str = "",
    source: str | None = None,
    git_commit: str | None = None,
    promoted_from: str | None = None,
    compiled_from: str | None = None,
) -> Draft:
    if len(description) > 10_000:
        raise InvalidInput("description is longer than 10,000 characters")
    return Draft(
        tags=clean_tags(tags),
        metrics=clean_metrics(metrics),
        params={check_key(k, "param name"): str(v) for k, v in (params or {}).items()},
        datasets=[_check_dataset_ref(d) for d in datasets],
        eval_datasets=[_check_dataset_ref(d) for d in eval_datasets],
        description=description,
        source=source,
        git_commit=git_commit,
        promoted_from=promoted_from,
        compiled_from=compiled_from,
    )


def clean_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for key, value in (tags or {}).items():
        check_key(key, "tag name")
        text = str(value)
        if len(text) > 5000:
            raise InvalidInput(f"tag {key!r} is longer than 5000 characters")
        out[key] = text
    return out


def clean_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    out = {}
    for key, value in (metrics or {}).items():
        check_key(key, "metric name")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"metric {key!r} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise InvalidInput(f"metric {key!r} must be finite, got {value!r}")
        out[key] = number
    return out


def _check_dataset_ref(ref: str) -> str:
    name, _, version = str(ref).partition(":")
    check_name(name.split("/")[-1], "dataset name")
    if version and not version.isdigit():
        raise InvalidInput(f"invalid dataset reference {ref!r}: expected NAME[:VERSION]")
    return str(ref)
