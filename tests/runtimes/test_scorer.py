"""One ``predict_proba`` call answers labels and probabilities only where the model's labels
are the argmax of its probabilities; a model with its own decision rule keeps its labels,
whether or not it was warmed up first (batch scoring and evaluations are not)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier

from modelyard.flavors.sklearn import SklearnModel
from modelyard.runtimes.scorer import Scorer


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = np.where(x.a + 0.5 * x.b + rng.normal(0, 0.5, 400) > 0, "late", "on_time")
    return x, y


@pytest.mark.parametrize("warmed", [True, False])
def test_labels_are_the_models_own(data: tuple[pd.DataFrame, np.ndarray], warmed: bool) -> None:
    x, y = data
    plain = LogisticRegression().fit(x, y)
    # labels "late" only above 0.9: most rows' labels differ from the probabilities' argmax
    strict = FixedThresholdClassifier(LogisticRegression(), threshold=0.9, pos_label="late")
    strict.fit(x, y)
    for model in (plain, strict):
        scorer = Scorer(SklearnModel(model), None)
        if warmed:
            scorer.warm_up(x.head(8))
        for chunk in (x.iloc[:100], x.iloc[100:]):
            out = scorer.score(chunk)
            assert out.predictions.tolist() == model.predict(chunk).tolist()
            assert out.probabilities is not None
            np.testing.assert_array_equal(out.probabilities, model.predict_proba(chunk))
    differ = strict.predict(x) != np.asarray(strict.classes_)[strict.predict_proba(x).argmax(1)]
    assert differ.sum() > 20  # the strict model is a real test of the fallback
