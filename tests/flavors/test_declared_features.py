"""A signature comes from the columns the model itself declares: a column of the example
the model does not take (a label left in a training file) is left out with a warning, and
a column it takes but the example lacks is refused."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard.domain.errors import InvalidInput, ModelyardWarning
from modelyard.flavors.lightgbm import LightGBMFlavor
from modelyard.flavors.onnx import OnnxFlavor
from modelyard.flavors.signature import infer_signature
from modelyard.flavors.sklearn import SklearnFlavor
from modelyard.flavors.xgboost import XGBoostFlavor

from .conftest import Packager, Table

COLUMNS = ["amount", "days", "group"]


def _pipeline() -> object:
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["amount", "days"]), ("cat", OneHotEncoder(), ["group"])]
    )
    return make_pipeline(columns, LogisticRegression())


def test_each_flavor_reads_the_columns_its_model_declares(
    package: Packager, classification: Table
) -> None:
    X, y = classification.X, classification.y
    sk = package(SklearnFlavor(), _pipeline().fit(X, y))  # type: ignore[attr-defined]
    booster = xgb.XGBClassifier(n_estimators=4, enable_categorical=True, tree_method="hist")
    xg = package(XGBoostFlavor(), booster.fit(classification.categorical, classification.codes))
    lg = package(
        LightGBMFlavor(),
        lgb.LGBMClassifier(n_estimators=4, verbose=-1).fit(classification.categorical, y),
    )
    proto = convert_sklearn(
        _pipeline().fit(X, y),  # type: ignore[attr-defined]
        initial_types=[
            ("amount", FloatTensorType([None, 1])),
            ("days", Int64TensorType([None, 1])),
            ("group", StringTensorType([None, 1])),
        ],
    )
    ox = package(OnnxFlavor(), proto)
    for pkg in (sk, xg, lg, ox):
        assert pkg.model.feature_names == COLUMNS  # type: ignore[attr-defined]

    numeric = X[["amount", "days"]].to_numpy()  # arrays carry no names: nothing is declared
    plain = package(SklearnFlavor(), LogisticRegression().fit(numeric, y))
    lg_plain = package(
        LightGBMFlavor(), lgb.LGBMClassifier(n_estimators=4, verbose=-1).fit(numeric, y)
    )
    assert plain.model.feature_names is None  # type: ignore[attr-defined]
    assert lg_plain.model.feature_names is None  # type: ignore[attr-defined]


def test_a_column_the_model_does_not_take_is_left_out_with_a_warning(
    package: Packager, classification: Table
) -> None:
    model = package(SklearnFlavor(), _pipeline().fit(classification.X, classification.y)).model  # type: ignore[attr-defined]
    training = classification.X.assign(label=classification.y)[["label", "group", "amount", "days"]]

    with pytest.warns(ModelyardWarning, match=r"^label left out of the signature: the model"):
        signature = infer_signature(training.head(), model)

    assert [c["name"] for c in signature["inputs"]] == COLUMNS  # the model's order
    with pytest.raises(InvalidInput, match=r"the input example lacks days, which the model takes"):
        infer_signature(training.drop(columns="days"), model)


def test_categories_come_from_the_training_data_when_given(
    package: Packager, classification: Table
) -> None:
    model = package(SklearnFlavor(), _pipeline().fit(classification.X, classification.y)).model  # type: ignore[attr-defined]
    head = pd.DataFrame({"amount": [1.0], "days": [3], "group": ["retail"]})
    read: list[int] = []

    def training() -> pd.DataFrame:
        read.append(1)
        return classification.X

    (_, _, group) = infer_signature(head, model, training)["inputs"]
    assert group["categories"] == ["public", "retail", "wholesale"]
    assert infer_signature(head, model)["inputs"][2]["categories"] == ["retail"]
    numbers = pd.DataFrame({"amount": [1.0], "days": [np.int64(3)]})
    infer_signature(numbers, None, training)  # no string column: the training data is not read
    assert read == [1]
