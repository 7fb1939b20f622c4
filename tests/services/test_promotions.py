"""Evaluations and promotions under gates, on SQLite and PostgreSQL: one test per gate
outcome, the promoted copy, and bad input that changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from modelyard import Client, Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.domain.auth import Principal, Role
from modelyard.services.container import Services
from modelyard.services.promotions import PromotionService
from tests.monitoring.conftest import CATEGORICAL, FEATURES, invoices

DEV = Principal("dev", roles={"sandbox": frozenset({Role.DEVELOPER})})
ANN = Principal("ann", roles={"production": frozenset({Role.APPROVER})})
BOB = Principal("bob", roles={"production": frozenset({Role.APPROVER})})
VIEWER = Principal("vic", roles={"production": frozenset({Role.VIEWER})})


def pipeline(rounds: int) -> Pipeline:
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)], remainder="passthrough"
    )
    return make_pipeline(encode, HistGradientBoostingClassifier(max_iter=rounds, random_state=0))


By = Callable[[Principal], PromotionService]


@pytest.fixture
def by(services: Services) -> By:
    """The promotion service as one principal sees it: ``by(DEV).promote(...)``."""
    return lambda principal: services.bind(principal).promotions


@pytest.fixture
def yard_with_versions(client: Client) -> Client:
    """payments:1 (weak) and :2 (stronger), both evaluated on holdout."""
    data, holdout = invoices(2000, seed=1), invoices(600, seed=2)
    client.register_dataset("train", data)
    client.register_dataset("holdout", holdout)
    for rounds in (3, 40):
        model = pipeline(rounds).fit(data[FEATURES], data["label"])
        client.log_model(model, "payments", input_example=data[FEATURES].head(), datasets=["train"])
    client.evaluate("payments:1", "holdout")
    client.evaluate("payments:2", "holdout")
    return client


def test_evaluation_metrics_match_scikit_learn(client: Client) -> None:
    data, holdout = invoices(2000, seed=3), invoices(800, seed=4)
    model = pipeline(30).fit(data[FEATURES], data["label"])
    client.register_dataset("holdout", holdout)
    client.log_model(model, "payments", input_example=data[FEATURES].head())
    e = client.evaluate("payments:1", "holdout")
    y, x = holdout["label"], holdout[FEATURES]
    predicted, proba = model.predict(x), model.predict_proba(x)
    assert e.rows == 800 and e.label == "label" and e.dataset == "sandbox/holdout:1"
    assert e.metrics["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert e.metrics["f1_macro"] == pytest.approx(f1_score(y, predicted, average="macro"))
    assert e.metrics["naive_accuracy"] == pytest.approx(y.value_counts().max() / len(y))
    assert e.metrics["log_loss"] == pytest.approx(log_loss(y, proba, labels=model.classes_))
    auc = roc_auc_score(y, proba, multi_class="ovr", labels=model.classes_)
    assert e.metrics["roc_auc_ovr"] == pytest.approx(auc)
    assert e.details["confusion_matrix"]["labels"] == sorted(y.unique())
    assert client.get_dataset("holdout:1").used_by == ("sandbox/payments:1 (evaluation)",)
    assert [x.id for x in client.list_evaluations("payments:1")] == [e.id]
    assert "evaluation.created" in [a.action for a in client.audit(limit=1000)]

    # a regressor gets MAE, RMSE and R²
    frame = pd.DataFrame({"x": np.arange(200.0), "y": np.arange(200.0) * 2 + 1})
    reg = LinearRegression().fit(frame[["x"]], frame["y"])
    client.register_dataset("lines", frame)
    client.log_model(reg, "line", input_example=frame[["x"]].head())
    found = client.evaluate("line:1", "lines", label="y")
    assert found.kind == "regression"
    assert found.metrics["mae"] == pytest.approx(0.0, abs=1e-9)
    assert found.metrics["r2"] == pytest.approx(1.0)


def test_compare_puts_versions_side_by_side(yard_with_versions: Client) -> None:
    found = yard_with_versions.compare_versions(["payments:1", "payments:2"])
    assert found["dataset"] == "sandbox/holdout:1"
    f1 = found["metrics"]["f1_macro"]
    assert f1["sandbox/payments:2"] > f1["sandbox/payments:1"]
    with pytest.raises(InvalidInput, match="has no evaluation on other"):
        yard_with_versions.compare_versions(["payments:1", "payments:2"], dataset="other")


def gates(client: Client, **kw: object) -> None:
    args = {"evaluation": "holdout", "thresholds": ["f1_macro >= 0.3"], "approvals": 1}
    client.set_gates("production", **{**args, **kw})  # type: ignore[arg-type]


def test_gates_pass_then_an_approver_promotes(yard_with_versions: Client, by: By) -> None:
    c = yard_with_versions
    gates(c, beat_champion="f1_macro")
    request = by(DEV).promote("payments:2", to="production", note="better on holdout")
    assert request.state == "pending"
    assert [(g.gate, g.passed) for g in request.gates] == [
        ("evaluation", True),
        ("threshold", True),
        ("champion", True),
        ("approvals", False),
    ]
    assert c.list_models(environment="production") == []  # nothing happens before approval
    done = by(ANN).approve(request.id, comment="ok")
    assert done.state == "promoted" and done.result == "production/payments:1"
    copy = c.get_version("production/payments:1")
    source = c.get_version("sandbox/payments:2")
    assert copy.package_digest == source.package_digest  # shared by digest
    assert copy.lineage.promoted_from == "sandbox/payments:2"
    assert copy.lineage.datasets == source.lineage.datasets
    assert c.get_baseline("production/payments:1") == c.get_baseline("sandbox/payments:2")
    assert c.list_deployments() == []  # promotion deploys nothing
    actions = [e.action for e in c.audit(limit=1000)]
    assert actions[-5:] == [
        "promotion.approved",
        "model.created",
        "version.created",
        "promotion.completed",
        "alias.set",
    ]
    # the promoted version is the target's champion: the one the next promotion must beat
    assert c.get_version("production/payments@champion").ref == "production/payments:1"

    # the champion gate: the weaker version cannot replace it, with nobody setting an alias
    weaker = by(DEV).promote("payments:1", to="production")
    assert weaker.state == "blocked"
    champion = next(g for g in weaker.gates if g.gate == "champion")
    assert not champion.passed and "vs champion production/payments:1" in champion.detail


def test_a_threshold_blocks(yard_with_versions: Client, by: By) -> None:
    gates(yard_with_versions, thresholds=["f1_macro >= 0.99"])
    r = by(DEV).promote("payments:2", to="production")
    assert r.state == "blocked"
    failed = [g.detail for g in r.gates if not g.passed and g.gate != "approvals"]
    assert len(failed) == 1 and failed[0].startswith("f1_macro >= 0.99: f1_macro = 0.")
    with pytest.raises(Conflict, match="blocked by its gates: f1_macro >= 0.99"):
        by(ANN).approve(r.id)
    assert yard_with_versions.list_models(environment="production") == []


def test_a_missing_evaluation_blocks(yard_with_versions: Client, by: By) -> None:
    gates(yard_with_versions, evaluation="audit-set")
    r = by(DEV).promote("payments:2", to="production")
    assert r.state == "blocked"
    assert r.gates[0].gate == "evaluation" and not r.gates[0].passed
    assert "modelyard evaluate sandbox/payments:2 --dataset audit-set" in r.gates[0].detail


def test_self_approval_is_refused_unless_allowed(yard_with_versions: Client, by: By) -> None:
    c = yard_with_versions
    both = Principal(
        "dana",
        roles={"sandbox": frozenset({Role.DEVELOPER}), "production": frozenset({Role.APPROVER})},
    )
    gates(c)
    r = by(both).promote("payments:2", to="production")
    with pytest.raises(PermissionDenied, match="requested promotion .* may not approve it"):
        by(both).approve(r.id)
    assert by(both).get_promotion_request(r.id).state == "pending"
    gates(c, self_approval=True)
    assert by(both).approve(r.id).state == "promoted"


def test_roles_are_checked(yard_with_versions: Client, by: By) -> None:
    c = yard_with_versions
    gates(c, approvals=2)
    with pytest.raises(PermissionDenied, match="user 'ann' may not read in 'sandbox'"):
        by(ANN).promote("payments:2", to="production")
    r = by(DEV).promote("payments:2", to="production")
    for outsider in (DEV, VIEWER):
        with pytest.raises(PermissionDenied, match="may not approve in 'production'"):
            by(outsider).approve(r.id)
    with pytest.raises(PermissionDenied, match="may not change the gates"):
        by(ANN).set_gates("production", approvals=0)
    assert by(ANN).approve(r.id).state == "pending"  # 1 of 2
    with pytest.raises(Conflict, match="already approved"):
        by(ANN).approve(r.id)
    assert by(BOB).approve(r.id).state == "promoted"


def test_a_rejected_request_is_final(yard_with_versions: Client, by: By) -> None:
    c = yard_with_versions
    gates(c)
    r = by(DEV).promote("payments:2", to="production")
    rejected = by(ANN).reject(r.id, comment="not this quarter")
    assert rejected.state == "rejected" and rejected.decision_comment == "not this quarter"
    with pytest.raises(Conflict, match="is rejected"):
        by(BOB).approve(r.id)
    assert c.list_models(environment="production") == []
    assert [x.state for x in c.list_promotion_requests()] == ["rejected"]


def test_without_approvals_a_passing_request_promotes_at_once(yard_with_versions: Client) -> None:
    gates(yard_with_versions, approvals=0)
    r = yard_with_versions.promote("payments:2", to="production")
    assert r.state == "promoted" and r.result == "production/payments:1"


def test_bad_requests_change_nothing(yard_with_versions: Client) -> None:
    c = yard_with_versions
    before = len(c.audit(limit=10_000))
    cases = [
        (InvalidInput, "already in 'sandbox'", lambda: c.promote("payments:2", to="sandbox")),
        (NotFound, "unknown environment 'staging'", lambda: c.promote("payments:2", to="staging")),
        (NotFound, "version sandbox/payments:9", lambda: c.promote("payments:9", to="production")),
        (NotFound, "promotion request 99", lambda: c.approve(99)),
        (
            InvalidInput,
            "invalid metric threshold",
            lambda: c.set_gates("production", thresholds=["f1 ~ 2"]),
        ),
        (
            InvalidInput,
            "has no column 'nope'",
            lambda: c.evaluate("payments:1", "train", label="nope"),
        ),
        (NotFound, "dataset sandbox/nope", lambda: c.evaluate("payments:1", "nope")),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=message):
            call()
    assert len(c.audit(limit=10_000)) == before
    assert c.list_promotion_requests() == []


def test_the_champion_moves_to_each_promoted_version(yard_with_versions: Client, by: By) -> None:
    c = yard_with_versions
    gates(c, beat_champion="f1_macro", approvals=0)
    first = by(DEV).promote("payments:1", to="production")
    assert first.state == "promoted"
    champion = next(g for g in first.gates if g.gate == "champion")
    assert champion.passed and champion.detail == "production/payments has no champion yet"
    assert c.get_version("production/payments@champion").version == 1

    better = by(DEV).promote("payments:2", to="production")
    assert better.state == "promoted" and better.result == "production/payments:2"
    moved = c.audit(action="alias.moved")[-1]
    assert (moved.subject, moved.before, moved.after) == (
        "alias:production/payments@champion",
        {"version": 1},
        {"version": 2},
    )
    assert c.get_version("production/payments@champion").version == 2
    again = by(DEV).promote("payments:1", to="production")  # now below the champion
    assert again.state == "blocked"


def test_production_needs_someone_elses_approval_on_a_fresh_install(
    yard_with_versions: Client, by: By
) -> None:
    c = yard_with_versions
    assert c.get_gates("production").approvals == 1  # nobody set any gate
    request = by(DEV).promote("payments:1", to="production")
    assert request.state == "pending" and request.required_approvals == 1
    assert c.list_models(environment="production") == []
    dev_approves = Principal("dev", roles={"production": frozenset({Role.APPROVER})})
    with pytest.raises(PermissionDenied, match="may not approve it"):
        by(dev_approves).approve(request.id)
    assert by(ANN).approve(request.id).state == "promoted"

    gates(c, thresholds=[], evaluation=None, approvals=0)  # an admin opens it, on purpose
    assert by(DEV).promote("payments:2", to="production").state == "promoted"
