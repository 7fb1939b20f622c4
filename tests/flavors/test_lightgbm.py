from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from modelyard.domain.errors import InvalidPackage
from modelyard.flavors.lightgbm import LightGBMFlavor
from modelyard.flavors.registry import Flavors

from .conftest import CLASSES, Packager, Table

PARAMS = {"n_estimators": 10, "num_leaves": 7, "min_child_samples": 5, "verbose": -1}


@pytest.mark.parametrize("table", ["classification", "binary"])
def test_classifier_round_trip(
    package: Packager, table: str, request: pytest.FixtureRequest
) -> None:
    data: Table = request.getfixturevalue(table)
    X = data.categorical
    original = lgb.LGBMClassifier(**PARAMS).fit(X, data.y)

    pkg = package(LightGBMFlavor(), original)

    assert pkg.manifest.entrypoint == "model.txt"
    assert pkg.manifest.options == {"wrapper": "LGBMClassifier", "classes": list(original.classes_)}
    assert any(r.startswith("lightgbm==") for r in pkg.manifest.requirements)
    assert pkg.model.classes == list(original.classes_)
    assert np.array_equal(pkg.model.predict(X), original.predict(X))
    assert np.array_equal(pkg.model.predict_proba(X), original.predict_proba(X))


def test_string_classes_are_the_fixture_labels(package: Packager, classification: Table) -> None:
    original = lgb.LGBMClassifier(**PARAMS).fit(classification.categorical, classification.y)
    assert package(LightGBMFlavor(), original).model.classes == list(CLASSES)


def test_regressor_round_trip(package: Packager, regression: Table) -> None:
    X = regression.categorical
    original = lgb.LGBMRegressor(**PARAMS).fit(X, regression.y)

    pkg = package(LightGBMFlavor(), original)

    assert pkg.manifest.options == {"wrapper": "LGBMRegressor"}
    assert pkg.model.classes is None
    assert pkg.model.predict_proba(X) is None
    assert np.array_equal(pkg.model.predict(X), original.predict(X))


def test_booster_round_trip(package: Packager, regression: Table) -> None:
    X = regression.categorical
    params = {"num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1}
    original = lgb.train(params, lgb.Dataset(X, regression.y), num_boost_round=5)

    pkg = package(LightGBMFlavor(), original)

    assert pkg.manifest.options == {"wrapper": "Booster"}
    assert np.array_equal(pkg.model.predict(X), original.predict(X))


def test_bare_text_file_round_trip(
    flavors: Flavors, package: Packager, regression: Table, tmp_path: Path
) -> None:
    X = regression.categorical
    original = lgb.LGBMRegressor(**PARAMS).fit(X, regression.y)
    path = tmp_path / "booster.txt"
    original.booster_.save_model(path)

    assert flavors.for_file(path).name == "lightgbm"
    pkg = package(LightGBMFlavor(), file=path)

    assert pkg.manifest.entrypoint == "model.txt"
    assert np.array_equal(pkg.model.predict(X), original.predict(X))


def test_text_file_that_is_not_a_model_is_not_accepted(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("tree\nsome notes about trees\n")
    assert not LightGBMFlavor().accepts_file(path)


def test_corrupt_model_text_is_an_invalid_package(tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_text("tree\nversion=v4\nnum_class=oops\n")

    assert LightGBMFlavor().accepts_file(path)
    with pytest.raises(InvalidPackage, match=r"^model\.txt cannot be loaded: "):
        LightGBMFlavor().load(tmp_path, "model.txt", {"wrapper": "Booster"})


def test_registry_prefers_lightgbm_over_sklearn(flavors: Flavors, regression: Table) -> None:
    model = lgb.LGBMRegressor(**PARAMS).fit(regression.X[["amount"]], regression.y)
    assert flavors.for_object(model).name == "lightgbm"
