"""A registered version written back out as a package folder, embedded and over HTTP:
registering that folder again gives the same package."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard import Client, InvalidInput


def test_a_version_downloads_as_a_package_folder(
    yard: Client, tmp_path: Path, trained_model: LogisticRegression, payments_frame: pd.DataFrame
) -> None:
    x = payments_frame.drop(columns="label")
    v = yard.log_model(trained_model, "payments", input_example=x.head())

    folder = yard.download_model("payments:1", tmp_path / "out")

    assert sorted(p.name for p in folder.iterdir()) == ["model.joblib", "modelyard.yaml"]
    model = joblib.load(folder / "model.joblib")
    assert np.array_equal(model.predict(x), trained_model.predict(x))
    again = yard.register("payments", folder)
    assert (again.version, again.package_digest) == (2, v.package_digest)
    with pytest.raises(InvalidInput, match="exists and is not an empty folder"):
        yard.download_model("payments:1", folder)
