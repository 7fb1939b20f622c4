"""What a registration records as the model's inputs, the same embedded and over HTTP:
the columns the model declares, and the categories of its training data."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from modelyard import Client, ModelyardWarning


@pytest.fixture
def invoices() -> pd.DataFrame:
    """2,000 invoices; 'PT' first appears after row 1,200, so no head() holds it."""
    rng = np.random.default_rng(3)
    country = np.where(np.arange(2000) < 1200, rng.choice(["FR", "DE"], 2000), "PT")
    amount = rng.gamma(2.0, 500.0, 2000)
    label = np.where(amount > 900, "late", "on_time")
    return pd.DataFrame({"amount": amount, "country": country, "label": label})


@pytest.fixture
def model(invoices: pd.DataFrame) -> Pipeline:
    encode = ColumnTransformer(
        [("c", OneHotEncoder(handle_unknown="ignore"), ["country"])], remainder="passthrough"
    )
    x = invoices.drop(columns="label")
    return make_pipeline(encode, LogisticRegression(max_iter=300)).fit(x, invoices["label"])


def test_categories_come_from_the_training_dataset(
    yard: Client, invoices: pd.DataFrame, model: Pipeline
) -> None:
    training = yard.register_dataset("invoices", invoices)
    x = invoices.drop(columns="label")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: the example is all features
        v = yard.log_model(model, "payments", input_example=x.head(), datasets=[training.ref])
    country = {c["name"]: c for c in v.signature["inputs"]}["country"]
    assert country["categories"] == ["DE", "FR", "PT"]
    alone = yard.log_model(model, "payments", input_example=x.head())
    assert "PT" not in {c["name"]: c for c in alone.signature["inputs"]}["country"]["categories"]
    trained = yard.log_model(model, "payments", input_example=x.head(), baseline=invoices)
    assert {c["name"]: c for c in trained.signature["inputs"]}["country"]["categories"] == [
        "DE",
        "FR",
        "PT",
    ]


def test_a_label_in_the_example_is_left_out_with_a_warning(
    yard: Client, invoices: pd.DataFrame, model: Pipeline
) -> None:
    with pytest.warns(ModelyardWarning, match="label left out of the signature"):
        v = yard.log_model(model, "payments", input_example=invoices.head(50))
    assert [c["name"] for c in v.signature["inputs"]] == ["amount", "country"]


def test_a_score_folder_without_an_example_registers_with_a_warning(
    yard: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "scorer"
    folder.mkdir()
    (folder / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(data):\n    return [0] * len(data)\n"
    )
    with pytest.warns(ModelyardWarning, match="without a signature"):
        v = yard.register("scorer", folder)
    assert v.signature is None
