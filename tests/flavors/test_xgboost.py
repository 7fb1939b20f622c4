from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from modelyard.domain.errors import InvalidPackage
from modelyard.flavors.registry import Flavors
from modelyard.flavors.xgboost import XGBoostFlavor

from .conftest import Packager, Table

PARAMS = {"n_estimators": 8, "max_depth": 3, "enable_categorical": True, "tree_method": "hist"}


def test_classifier_round_trip(package: Packager, classification: Table) -> None:
    X = classification.categorical
    original = xgb.XGBClassifier(**PARAMS).fit(X, classification.codes)

    pkg = package(XGBoostFlavor(), original)

    assert pkg.manifest.entrypoint == "model.ubj"
    assert pkg.manifest.options == {"wrapper": "XGBClassifier", "classes": [0, 1, 2]}
    assert any(r.startswith("xgboost") for r in pkg.manifest.requirements)
    assert pkg.model.classes == [0, 1, 2]
    assert np.array_equal(pkg.model.predict(X), original.predict(X))
    assert np.array_equal(pkg.model.predict_proba(X), original.predict_proba(X))


def test_regressor_round_trip(package: Packager, regression: Table) -> None:
    X = regression.categorical
    original = xgb.XGBRegressor(**PARAMS).fit(X, regression.y)

    pkg = package(XGBoostFlavor(), original)

    assert pkg.model.classes is None
    assert pkg.model.predict_proba(X) is None
    assert np.array_equal(pkg.model.predict(X), original.predict(X))


def test_booster_round_trip(package: Packager, classification: Table) -> None:
    X = classification.categorical
    data = xgb.DMatrix(X, label=classification.codes, enable_categorical=True)
    params = {"objective": "multi:softprob", "num_class": 3, "max_depth": 2}
    original = xgb.train(params, data, num_boost_round=5)

    pkg = package(XGBoostFlavor(), original)

    assert pkg.manifest.options == {"wrapper": "Booster"}
    assert pkg.model.classes is None
    assert pkg.model.predict_proba(X) is None
    expected = original.predict(xgb.DMatrix(X, enable_categorical=True))
    assert np.array_equal(pkg.model.predict(X), expected)


@pytest.mark.parametrize("suffix", [".ubj", ".json"])
def test_bare_classifier_file_round_trip(
    flavors: Flavors, package: Packager, classification: Table, tmp_path: Path, suffix: str
) -> None:
    X = classification.categorical
    original = xgb.XGBClassifier(**PARAMS).fit(X, classification.codes)
    path = tmp_path / f"payments{suffix}"
    original.save_model(path)

    assert flavors.for_file(path).name == "xgboost"
    pkg = package(XGBoostFlavor(), file=path)

    assert pkg.manifest.entrypoint == f"model{suffix}"
    assert pkg.manifest.options["wrapper"] == "XGBClassifier"
    assert np.array_equal(pkg.model.predict(X), original.predict(X))
    assert np.array_equal(pkg.model.predict_proba(X), original.predict_proba(X))


def test_bare_booster_file_predicts_booster_output(
    package: Packager, regression: Table, tmp_path: Path
) -> None:
    X = regression.X[["amount", "days"]]
    original = xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=regression.y), 4)
    path = tmp_path / "booster.json"
    original.save_model(path)

    pkg = package(XGBoostFlavor(), file=path)

    assert pkg.manifest.options == {"wrapper": "Booster"}
    assert np.array_equal(pkg.model.predict(X), original.predict(xgb.DMatrix(X)))


def test_json_that_is_not_an_xgboost_model_is_not_accepted(
    flavors: Flavors, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model": "xgboost", "learner": "not a learner"}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    assert not XGBoostFlavor().accepts_file(path)
    assert not XGBoostFlavor().accepts_file(broken)
    with pytest.raises(InvalidPackage, match=r"config\.json: not a model file"):
        flavors.for_file(path)


def test_corrupt_ubj_is_an_invalid_package(tmp_path: Path) -> None:
    path = tmp_path / "model.ubj"
    path.write_bytes(b"{garbage that is not ubjson")

    assert XGBoostFlavor().accepts_file(path)
    with pytest.raises(InvalidPackage, match=r"^model\.ubj cannot be loaded: "):
        XGBoostFlavor().save_file(path, tmp_path)
    with pytest.raises(InvalidPackage, match=r"^model\.ubj cannot be loaded: "):
        XGBoostFlavor().load(tmp_path, "model.ubj", {"wrapper": "XGBClassifier"})


def test_registry_prefers_xgboost_over_sklearn(flavors: Flavors, classification: Table) -> None:
    model = xgb.XGBRegressor(n_estimators=2).fit(classification.X[["amount"]], classification.codes)
    assert flavors.for_object(model).name == "xgboost"
    assert not XGBoostFlavor().accepts_object(object())
