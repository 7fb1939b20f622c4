"""The payments workload of the serving and monitoring benchmarks: a delivery-delay model
trained on generated data, the request bodies that score it, and a modelyard home that
serves it.

The model is a scikit-learn ``Pipeline``: a ``ColumnTransformer`` one-hot encoding the 4
string columns (``handle_unknown="ignore"``) and passing the 8 numeric ones through, then a
``HistGradientBoostingClassifier``; 3 classes (``on_time`` / ``late`` / ``very_late``).
Data is generated from a fixed seed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.log import log

SEED = 20261123
CLASSES = ("on_time", "late", "very_late")
NUMERIC = [
    "amount",  # float
    "basket_items",  # int
    "customer_age_days",  # int
    "distance_km",  # float
    "order_hour",  # int
    "prior_late_orders",  # int
    "discount_rate",  # float
    "warehouse_load",  # float
]
CATEGORICAL = ["country", "carrier", "payment_method", "channel"]
FEATURES = NUMERIC + CATEGORICAL
COUNTRIES = ["DE", "FR", "NL", "BE", "IT", "ES", "PL", "AT", "SE", "DK", "PT", "IE"]
CARRIERS = ["dhl", "ups", "dpd", "gls", "postnl", "hermes", "fedex"]
PAYMENTS = ["card", "paypal", "invoice", "sepa", "klarna"]
CHANNELS = ["web", "ios", "android", "marketplace"]
TRAIN_ROWS = 50_000
REQUEST_ROWS = 1_000  # distinct rows the load generator cycles through


def generate(rows: int, seed: int = SEED) -> pd.DataFrame:
    """``rows`` rows of the 12 features, column order ``FEATURES``."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(3.5, 0.9, rows), 2),
            "basket_items": rng.integers(1, 25, rows),
            "customer_age_days": rng.integers(0, 3650, rows),
            "distance_km": np.round(rng.gamma(2.0, 120.0, rows), 1),
            "order_hour": rng.integers(0, 24, rows),
            "prior_late_orders": rng.poisson(0.7, rows),
            "discount_rate": np.round(rng.beta(1.5, 8.0, rows), 3),
            "warehouse_load": np.round(rng.uniform(0.1, 1.0, rows), 3),
            "country": rng.choice(COUNTRIES, rows),
            "carrier": rng.choice(CARRIERS, rows, p=[0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05]),
            "payment_method": rng.choice(PAYMENTS, rows),
            "channel": rng.choice(CHANNELS, rows, p=[0.5, 0.2, 0.2, 0.1]),
        },
        columns=FEATURES,
    )


def labels(df: pd.DataFrame, seed: int = SEED + 1) -> np.ndarray:
    """A delay class that depends on most features, with noise."""
    rng = np.random.default_rng(seed)
    risk = {"dhl": 0.0, "ups": -0.2, "dpd": 0.3, "gls": 0.4, "postnl": 0.1, "hermes": 0.6}
    carrier_risk = df["carrier"].map({**risk, "fedex": -0.3})
    score = (
        0.004 * df["distance_km"]
        + 0.6 * df["prior_late_orders"]
        + 1.5 * (df["warehouse_load"] - 0.5)
        + carrier_risk.to_numpy()
        + 0.4 * (df["payment_method"] == "invoice")
        + 0.3 * (df["order_hour"] >= 20)
        + 0.02 * df["basket_items"]
        - 0.0001 * df["customer_age_days"]
        + 0.3 * df["country"].isin(["IT", "ES", "PT"])
        + rng.normal(0.0, 0.6, len(df))
    )
    out = np.where(score < 1.0, CLASSES[0], np.where(score < 2.0, CLASSES[1], CLASSES[2]))
    return out.astype(object)


def build_model() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("num", "passthrough", NUMERIC),
        ]
    )
    clf = HistGradientBoostingClassifier(max_iter=100, random_state=SEED)
    return Pipeline([("pre", pre), ("clf", clf)])


def train(rows: int) -> tuple[Any, pd.DataFrame, np.ndarray]:
    """The fitted pipeline, its training frame and labels."""
    X = generate(rows)
    y = labels(X)
    model = build_model()
    model.fit(X, y)
    return model, X, y


@dataclass
class Workload:
    model: Any
    requests: Any  # pd.DataFrame, the rows the load generator sends
    expected_labels: Any  # np.ndarray
    expected_proba: Any  # np.ndarray, columns in model.classes_ order
    native_bodies: Path
    mlflow_bodies: Path
    native_lines: list[bytes]
    mlflow_lines: list[bytes]


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts of plain Python values."""
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
        for rec in frame.to_dict(orient="records")
    ]


def build_workload(tmp: Path, train_rows: int = TRAIN_ROWS) -> tuple[Workload, dict[str, Any]]:
    """Train the pipeline (also saved as ``tmp/model.joblib``, with 200 example rows in
    ``tmp/example.parquet``) and write the request bodies: modelyard's native ``inputs``
    and MLflow's ``dataframe_split``, one row each, one body per line."""
    import joblib

    log(f"training the pipeline on {train_rows:,} generated rows")
    t0 = time.perf_counter()
    model, X, y = train(train_rows)
    train_s = time.perf_counter() - t0
    if list(model.classes_) != sorted(CLASSES):
        raise SystemExit(f"unexpected classes {model.classes_}")
    joblib.dump(model, tmp / "model.joblib")
    X.head(200).to_parquet(tmp / "example.parquet", index=False)
    requests = generate(REQUEST_ROWS, seed=SEED + 2)
    records = _records(requests)
    native = [json.dumps({"inputs": [r]}).encode() for r in records]
    mlflow = [
        json.dumps(
            {"dataframe_split": {"columns": FEATURES, "data": [[r[c] for c in FEATURES]]}}
        ).encode()
        for r in records
    ]
    native_path, mlflow_path = tmp / "bodies-native.jsonl", tmp / "bodies-mlflow.jsonl"
    native_path.write_bytes(b"\n".join(native) + b"\n")
    mlflow_path.write_bytes(b"\n".join(mlflow) + b"\n")
    workload = Workload(
        model,
        requests,
        model.predict(requests),
        model.predict_proba(requests),
        native_path,
        mlflow_path,
        native,
        mlflow,
    )
    info = {
        "train_rows": train_rows,
        "train_s": train_s,
        "train_accuracy": float((model.predict(X) == y).mean()),
        "class_shares": {c: float((y == c).mean()) for c in CLASSES},
        "numeric_columns": NUMERIC,
        "categorical_columns": CATEGORICAL,
        "request_rows": REQUEST_ROWS,
        "native_body_example": native[0].decode(),
        "mlflow_body_example": mlflow[0].decode(),
    }
    return workload, info


def deploy(
    home: Path, workload: Workload, tmp: Path, name: str, deployments: dict[str, dict[str, Any]]
) -> tuple[Any, dict[str, Any]]:
    """Log the pipeline as model ``name`` in the modelyard home ``home`` (input example:
    ``tmp/example.parquet``) and create one deployment of it per ``deployments`` entry
    (name: options); the version and the deployments, with their new keys."""
    from modelyard import Client, Settings

    example = pd.read_parquet(tmp / "example.parquet")
    with Client(settings=Settings(home=home, actor="bench")) as c:
        version = c.log_model(workload.model, name, input_example=example, git_commit=None)
        created = {
            d: c.create_deployment(d, [version.ref], options=options)
            for d, options in deployments.items()
        }
    return version, created
