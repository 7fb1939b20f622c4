"""The pipeline of the environment tests, trained wherever this file runs: in the test's
own environment, or by ``python older_pipeline.py URL TOKEN OUT`` in a virtual environment
with an older scikit-learn, which logs it to the server at URL and writes what its own
``predict`` and ``predict_proba`` answer on the test rows to OUT (JSON)."""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def frame(n: int = 600, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 500.0, n),
            "days": rng.integers(1, 90, n).astype(float),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    late = (x.amount * (x.region == "north") > 800).to_numpy()
    y = np.where(late, "late", np.where(x.days > 60, "very_late", "on_time"))
    return x, y


def pipeline() -> Pipeline:
    x, y = frame()
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), ["amount", "days"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"]),
        ]
    )
    return Pipeline([("prep", prep), ("clf", LogisticRegression(max_iter=500))]).fit(x, y)


def answers(model: Any, rows: pd.DataFrame) -> dict[str, Any]:
    return {
        "rows": rows.to_dict(orient="records"),
        "labels": model.predict(rows).tolist(),
        "proba": model.predict_proba(rows).tolist(),
        "classes": model.classes_.tolist(),
    }


if __name__ == "__main__":
    import sklearn

    from modelyard import Client

    url, token, out = sys.argv[1:4]
    model = pipeline()
    x, _ = frame()
    with Client(url=url, token=token) as c:
        version = c.log_model(model, "payments", input_example=x.head(20))
    found = answers(model, frame(200, seed=11)[0])
    found.update(sklearn=sklearn.__version__, version=version.ref)
    with open(out, "w") as f:
        json.dump(found, f)
