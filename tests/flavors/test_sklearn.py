from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from modelyard.domain.errors import InvalidInput, InvalidPackage
from modelyard.flavors.registry import Flavors
from modelyard.flavors.sklearn import SklearnFlavor

from .conftest import CLASSES, Packager, Table


def _pipeline(estimator: object) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["amount", "days"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["group"]),
        ]
    )
    return make_pipeline(columns, estimator)


def test_classifier_pipeline_round_trip(package: Packager, classification: Table) -> None:
    original = _pipeline(LogisticRegression()).fit(classification.X, classification.y)

    pkg = package(SklearnFlavor(), original)

    assert pkg.manifest.entrypoint == "model.joblib"
    assert any(r.startswith("scikit-learn==") for r in pkg.manifest.requirements)
    assert pkg.model.classes == list(CLASSES)
    assert np.array_equal(pkg.model.predict(classification.X), original.predict(classification.X))
    assert np.array_equal(
        pkg.model.predict_proba(classification.X), original.predict_proba(classification.X)
    )
    assert isinstance(pkg.model.raw, Pipeline)


def test_regressor_has_no_classes_or_probabilities(package: Packager, regression: Table) -> None:
    original = _pipeline(LinearRegression()).fit(regression.X, regression.y)

    pkg = package(SklearnFlavor(), original)

    assert pkg.model.classes is None
    assert pkg.model.predict_proba(regression.X) is None
    assert np.array_equal(pkg.model.predict(regression.X), original.predict(regression.X))


def test_classifier_without_probabilities(package: Packager, binary: Table) -> None:
    X = binary.X[["amount", "days"]]
    original = SVC().fit(X, binary.y)

    pkg = package(SklearnFlavor(), original)

    assert pkg.model.classes == ["no", "yes"]
    assert pkg.model.predict_proba(X) is None
    assert np.array_equal(pkg.model.predict(X), original.predict(X))


@pytest.mark.parametrize("suffix", [".joblib", ".pkl"])
def test_bare_file_round_trip(
    flavors: Flavors, package: Packager, classification: Table, tmp_path: Path, suffix: str
) -> None:
    original = _pipeline(LogisticRegression()).fit(classification.X, classification.y)
    path = tmp_path / f"churn{suffix}"
    if suffix == ".pkl":
        path.write_bytes(pickle.dumps(original))
    else:
        joblib.dump(original, path)

    assert flavors.for_file(path).name == "sklearn"
    pkg = package(SklearnFlavor(), file=path)

    assert pkg.manifest.entrypoint == f"model{suffix}"
    assert np.array_equal(
        pkg.model.predict_proba(classification.X), original.predict_proba(classification.X)
    )


def test_corrupt_pickle_is_an_invalid_package(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x04this is not a pickle")
    flavor = SklearnFlavor()

    with pytest.raises(InvalidPackage, match=r"^model\.pkl cannot be loaded: "):
        flavor.accepts_file(path)
    with pytest.raises(InvalidPackage, match=r"^model\.pkl cannot be loaded: "):
        flavor.save_file(path, tmp_path)
    with pytest.raises(InvalidPackage, match=r"^model\.pkl cannot be loaded: "):
        flavor.load(tmp_path, "model.pkl", {})


def test_pickle_without_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2]}))
    flavor = SklearnFlavor()

    assert not flavor.accepts_file(path)
    folder = tmp_path / "pkg"
    folder.mkdir()
    with pytest.raises(InvalidPackage, match=r"data\.pkl holds no model"):
        flavor.save_file(path, folder)


def test_accepts_estimators_only(flavors: Flavors, classification: Table) -> None:
    flavor = SklearnFlavor()
    fitted = LogisticRegression().fit(classification.X[["amount"]], classification.y)

    assert flavor.accepts_object(fitted)
    assert flavor.accepts_object(make_pipeline(StandardScaler(), LogisticRegression()))
    assert not flavor.accepts_object(StandardScaler())  # a transformer has no predict
    assert not flavor.accepts_object({"predict": 1})
    assert flavors.for_object(fitted).name == "sklearn"
    with pytest.raises(InvalidInput, match="cannot save a dict"):
        flavor.save({}, Path("unused"))
