"""The serving benchmark's workload, shared by ``serving.py`` and its MLflow side.

A scikit-learn ``Pipeline``: a ``ColumnTransformer`` one-hot encoding the 4 string
columns (``handle_unknown="ignore"``) and passing the 8 numeric ones through, then a
``HistGradientBoostingClassifier``; 3 classes (``on_time`` / ``late`` / ``very_late``).
Data is generated from a fixed seed. Imports only numpy, pandas and scikit-learn (both
venvs have them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

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
