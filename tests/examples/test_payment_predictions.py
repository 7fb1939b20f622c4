"""The reference solution's parts: a deterministic generator, checks before training with
exact messages, an evaluation that equals scikit-learn's, and the finance team's view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from examples.payment_predictions.checks import TrainingCheckError, check_data, check_features
from examples.payment_predictions.data import AS_OF, FEATURES, customers, drifted, invoices
from examples.payment_predictions.pipeline import finance_view, generate, split, train
from examples.payment_predictions.report import grade, report
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from modelyard import Client, Settings


@pytest.fixture(scope="module")
def trained() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, object]:
    data = generate()
    train_set, test_set = split(data)
    return data, train_set, test_set, train(train_set)


def test_same_seed_same_data_and_model(trained: tuple) -> None:  # type: ignore[type-arg]
    data, _, test_set, model = trained
    pd.testing.assert_frame_equal(generate(), data)
    assert not generate(seed=12).equals(data)
    again = train(split(generate())[0])
    x = test_set[FEATURES]
    assert np.array_equal(again.predict_proba(x), model.predict_proba(x))  # type: ignore[attr-defined]
    # open invoices have no outcome yet; settled ones always do
    assert data["settled"].any() and not data["settled"].all()
    assert data.loc[~data["settled"], ["label", "payment_date"]].isna().all().all()
    assert data.loc[data["settled"], "label"].notna().all()
    assert set(data["label"].dropna()) == {"on_time", "late", "very_late"}
    two = invoices(customers(), late_days=0, as_of=AS_OF)
    assert set(two["label"].dropna()) == {"on_time", "late"}


def test_the_model_beats_the_naive_baseline_but_is_not_perfect(
    trained: tuple, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    _, train_set, test_set, model = trained
    with Client(settings=Settings(home=tmp_path / "home", actor="fin")) as c:
        holdout = c.register_dataset("holdout", test_set)
        training = c.register_dataset("training", train_set)
        v = c.log_model(
            model, "payments", input_example=train_set[FEATURES].head(), datasets=[training.ref]
        )
        e = c.evaluate(v.ref, holdout.ref)
    y = test_set["label"]
    predicted = model.predict(test_set[FEATURES])  # type: ignore[attr-defined]
    assert e.metrics["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert e.metrics["f1_macro"] == pytest.approx(f1_score(y, predicted, average="macro"))
    labels = e.details["confusion_matrix"]["labels"]
    assert (
        e.details["confusion_matrix"]["matrix"]
        == confusion_matrix(y, predicted, labels=labels).tolist()
    )
    assert e.metrics["naive_accuracy"] == pytest.approx(y.value_counts(normalize=True).max())
    assert e.metrics["naive_accuracy"] + 0.05 < e.metrics["accuracy"] < 0.9

    r = report(e.metrics, e.details)
    assert r["grade"] == grade(e.metrics["accuracy"], e.metrics["naive_accuracy"])
    assert r["target_accuracy"] == pytest.approx(1 - (1 - e.metrics["naive_accuracy"]) / 2)
    assert r["top_features"][0]["feature"] == "prior_late_share"
    importance = e.details["importance"]  # stored with the evaluation (runtimes.explain)
    assert importance["method"] == "baseline_shapley" and importance["rows"] == 200
    assert next(iter(importance["features"])) == "prior_late_share"
    assert r["warnings"] == []


def test_grades_and_warnings() -> None:
    assert [grade(a, 0.5) for a in (0.75, 0.62, 0.56, 0.52)] == ["A", "B", "C", "D"]
    details = {
        "naive_class": "late",
        "per_class": {},
        "confusion_matrix": {
            "labels": ["late", "on_time", "very_late"],
            "matrix": [[100, 0, 0], [0, 100, 0], [0, 0, 0]],
        },
    }
    r = report({"accuracy": 1.0, "naive_accuracy": 0.5, "f1_macro": 1.0}, details)
    assert r["warnings"] == ["accuracy 100.0% is suspiciously high: check the features for leakage"]
    details["confusion_matrix"]["matrix"] = [[100, 0, 0], [0, 100, 0], [5, 5, 0]]
    r = report({"accuracy": 0.9, "naive_accuracy": 0.5, "f1_macro": 0.6}, details)
    assert r["warnings"] == ["class 'very_late' is never predicted correctly"]


def test_checks_name_the_fix(trained: tuple) -> None:  # type: ignore[type-arg]
    _, train_set, _, _ = trained
    for feature, why in [
        ("invoice_id", "an identifier"),
        ("customer_id", "an identifier"),
        ("settled", "known only once the invoice is paid"),
        ("payment_date", "the outcome itself"),
        ("days_since_payment_date", "derived from the payment date"),
    ]:
        with pytest.raises(TrainingCheckError) as e:
            check_features([*FEATURES, feature])
        assert str(e.value) == (
            f"feature {feature!r} leaks the outcome ({why}): it is not known when an invoice "
            "is issued; remove it from the features"
        )
    with pytest.raises(TrainingCheckError) as e:
        check_data(train_set.head(99))
    assert str(e.value) == (
        "only 99 settled invoices in the training window (at least 100 are needed): start "
        "the window earlier or drop a row filter"
    )
    few = pd.concat(
        [
            train_set[train_set["label"] != "very_late"].head(300),
            train_set[train_set["label"] == "very_late"].head(12),
        ]
    )
    with pytest.raises(TrainingCheckError) as e:
        check_data(few)
    assert str(e.value) == (
        "only 12 settled invoices are 'very_late' (at least 30 per bucket are needed): "
        "widen the training window, or change late_days (0 keeps on time / late only)"
    )
    with pytest.raises(TrainingCheckError, match="leaks the outcome"):
        train(train_set, [*FEATURES, "payment_date"])


def test_the_finance_view_adds_up(trained: tuple) -> None:  # type: ignore[type-arg]
    data, _, _, model = trained
    open_set = data[~data["settled"]]
    proba = model.predict_proba(open_set[FEATURES])  # type: ignore[attr-defined]
    classes = list(model.classes_)  # type: ignore[attr-defined]
    scored = pd.DataFrame(proba, columns=[f"probability_{c}" for c in classes])
    scored["invoice_id"] = open_set["invoice_id"].to_numpy()
    per_invoice, per_customer = finance_view(open_set, scored.iloc[::-1], classes)  # any order
    assert len(per_invoice) == len(open_set)
    first = per_invoice.set_index("invoice_id").loc[open_set.invoice_id.iloc[0]]
    assert first[f"p_{classes[0]}"] == pytest.approx(proba[0, 0])  # joined by invoice, not row
    expected = per_customer[[c for c in per_customer.columns if c.startswith("expected_")]]
    assert np.allclose(expected.sum(axis=1), per_customer["open_balance"], atol=0.05)
    assert per_customer["open_balance"].sum() == pytest.approx(open_set["amount"].sum())


def test_the_later_period_drifts() -> None:
    cust = customers()
    before, after = invoices(cust, as_of=AS_OF), drifted(cust)
    assert after["invoice_date"].min() >= AS_OF
    assert after["amount"].median() > 1.3 * before["amount"].median()
    small = lambda d: (d[d["customer_group"] == "small_business"]["label"] == "very_late").mean()  # noqa: E731
    assert small(after) > small(before) + 0.2
