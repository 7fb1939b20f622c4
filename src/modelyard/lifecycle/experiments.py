"""``modelyard experiment run FILE``: train over every combination of feature subsets and
row filters, record each run (parameters, data fingerprint, metrics on the holdout), rank
them, and optionally register the best as a new version. Reads datasets, writes runs (and
that one version): nothing deployed is touched.

```yaml
experiment: payment-features
dataset: payment-invoices        # training rows, with the label
holdout: payment-holdout         # evaluation rows
label: label
trainer: examples.payment_predictions.pipeline:build_model   # f(features) -> estimator
trainer_options: {max_iter: 100}   # keyword arguments for the trainer
date_column: invoice_date        # what `since` / `until` filter on
features:
  all: [amount, region, ...]
  without-history: [amount, region]
filters:
  everything: {}
  recent: {since: "2025-06-01"}
  no-public-sector: {exclude: {customer_group: [public_sector]}}
  larger: {min: {amount: 500}}
  two-buckets: {keep: {label: [on_time, late]}}
rank_by: f1_macro
```
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelyard.domain.errors import InvalidInput
from modelyard.monitoring import metrics
from modelyard.sdk.client import Client

MIN_ROWS = 30


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RowFilter(_Strict):
    since: str | None = None
    until: str | None = None
    exclude: dict[str, list[Any]] = Field(default_factory=dict)
    keep: dict[str, list[Any]] = Field(default_factory=dict)
    min: dict[str, float] = Field(default_factory=dict)


class ExperimentSpec(_Strict):
    experiment: str
    environment: str | None = None
    dataset: str
    holdout: str
    label: str = "label"
    trainer: str
    trainer_options: dict[str, Any] = Field(default_factory=dict)
    date_column: str | None = None
    features: dict[str, list[str]]
    filters: dict[str, RowFilter] = Field(default_factory=lambda: {"everything": RowFilter()})
    rank_by: str = "f1_macro"


@dataclass
class Outcome:
    name: str
    params: dict[str, Any]
    rows: int
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    model: Any = None
    run_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.params,
            "rows": self.rows,
            "metrics": self.metrics,
            "error": self.error,
            "run_id": self.run_id,
        }


def load(path: Path) -> ExperimentSpec:
    if not path.is_file():
        raise InvalidInput(f"no such file: {str(path)!r}")
    try:
        return ExperimentSpec.model_validate(yaml.safe_load(path.read_text()))
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path.name} is not valid YAML: {str(e).splitlines()[0]}") from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise InvalidInput(f"{path.name}: {where}: {first['msg']}") from None


def trainer_of(text: str, base: Path) -> Any:
    module, sep, name = text.partition(":")
    if not sep or not module or not name:
        raise InvalidInput(f"trainer {text!r}: use module.path:function")
    for folder in (str(base), str(Path.cwd())):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise InvalidInput(f"trainer {text!r} cannot be imported: {e}") from None
    if not callable(found):
        raise InvalidInput(f"trainer {text!r} is not callable")
    return found


def apply_filter(
    frame: pd.DataFrame, f: RowFilter, date_column: str | None, label: str
) -> pd.DataFrame:
    out = frame
    for bound, keep_after in ((f.since, True), (f.until, False)):
        if bound is None:
            continue
        if date_column is None or date_column not in out.columns:
            raise InvalidInput("since/until need date_column naming a date column of the dataset")
        dates = pd.to_datetime(out[date_column])
        out = out[dates >= pd.Timestamp(bound)] if keep_after else out[dates < pd.Timestamp(bound)]
    for column, values in f.exclude.items():
        _has(out, column)
        out = out[~out[column].isin(values)]
    for column, values in f.keep.items():
        _has(out, column)
        out = out[out[column].isin(values)]
    for column, floor in f.min.items():
        _has(out, column)
        out = out[out[column] >= floor]
    return out


def _has(frame: pd.DataFrame, column: str) -> None:
    if column not in frame.columns:
        raise InvalidInput(f"a filter names column {column!r}, which the dataset does not have")


def fingerprint(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return "sha256:" + hashlib.sha256(np.ascontiguousarray(hashed).tobytes()).hexdigest()


def run(
    client: Client, path: Path, *, register_best: str | None = None
) -> tuple[ExperimentSpec, list[Outcome], str | None]:
    spec = load(path)
    train_fn = trainer_of(spec.trainer, path.parent.resolve())
    training = client.load_dataset(spec.dataset, environment=spec.environment)
    holdout = client.load_dataset(spec.holdout, environment=spec.environment)
    for frame, which in ((training, spec.dataset), (holdout, spec.holdout)):
        if spec.label not in frame.columns:
            raise InvalidInput(f"dataset {which} has no label column {spec.label!r}")
    for name, features in spec.features.items():
        missing = [c for c in features if c not in training.columns]
        if missing:
            raise InvalidInput(f"feature set {name!r} names {missing[0]!r}, not in {spec.dataset}")
    outcomes: list[Outcome] = []
    for (fname, features), (rname, rule) in itertools.product(
        spec.features.items(), spec.filters.items()
    ):
        rows = apply_filter(training, rule, spec.date_column, spec.label)
        test = holdout
        for column, values in rule.keep.items():  # the outcomes kept apply to both sides
            test = test[test[column].isin(values)]
        params = {
            "features": fname,
            "feature_list": features,
            "filter": rname,
            "rule": rule.model_dump(exclude_defaults=True),
        }
        outcome = Outcome(f"{fname} x {rname}", params, len(rows))
        outcomes.append(outcome)
        if len(rows) < MIN_ROWS or rows[spec.label].nunique() < 2:
            outcome.error = f"only {len(rows)} rows (or one class) after the filter"
            continue
        model = train_fn(features, **spec.trainer_options).fit(rows[features], rows[spec.label])
        predicted = model.predict(test[features])
        proba = model.predict_proba(test[features]) if hasattr(model, "predict_proba") else None
        found = metrics.classification(
            test[spec.label], predicted, proba, list(getattr(model, "classes_", [])) or None
        )
        outcome.metrics = {
            k: float(v) for k, v in found.items() if isinstance(v, int | float) and k != "rows"
        }
        outcome.model = model
        recorded = client.record_run(
            spec.experiment,
            outcome.name,
            params=params,
            data_fingerprint=fingerprint(rows[[*features, spec.label]]),
            rows=len(rows),
            metrics=outcome.metrics,
            environment=spec.environment,
        )
        outcome.run_id = recorded.id
    lower = spec.rank_by in ("log_loss", "mae", "rmse")
    ranked = sorted(
        outcomes,
        key=lambda o: (
            o.error is not None,
            o.metrics.get(spec.rank_by, 0.0) * (1 if lower else -1),
        ),
    )
    registered = None
    if register_best is not None:
        best = ranked[0]
        if best.model is None:
            raise InvalidInput("no run succeeded: nothing to register")
        features = best.params["feature_list"]
        dataset = client.get_dataset(spec.dataset, environment=spec.environment)
        version = client.log_model(
            best.model,
            register_best,
            input_example=training[features].head(50),
            environment=spec.environment,
            datasets=[dataset.ref],
            tags={"experiment": spec.experiment, "run": best.name},
            params={"features": best.params["features"], "filter": best.params["filter"]},
            metrics={
                k: v
                for k, v in best.metrics.items()
                if k in ("accuracy", "f1_macro", "naive_accuracy")
            },
        )
        registered = version.ref
    return spec, ranked, registered
