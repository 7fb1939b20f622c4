"""Ensembles: served answers equal the combination computed by hand from the members' own
outputs, for each way of combining; a member cannot go while an ensemble uses it (SQLite
and PostgreSQL); members that do not fit together are refused in one line, nothing
written; a bundle carries the members."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelyard import Client, DependencyExists, InvalidInput, Settings
from modelyard.api import create_app
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin, records, wait_ready
from tests.support.live import EXE

COLUMNS = {"lr": ["amount", "late_share"], "rf": ["late_share", "terms_days"], "gb": None}
WEIGHTS = [1.0, 2.0, 3.0]
SCRIPT = """
import numpy as np


def combine(predictions, probabilities, weights, classes):
    logs = sum(w * np.log(np.clip(p, 1e-9, 1.0)) for w, p in zip(weights, probabilities))
    p = np.exp(logs / sum(weights))
    p = p / p.sum(axis=1, keepdims=True)
    return np.asarray(classes, dtype=object)[p.argmax(axis=1)], p
"""


@pytest.fixture(scope="module")
def members(payments_frame: pd.DataFrame) -> dict[str, Any]:
    x, y = payments_frame.drop(columns="label"), payments_frame["label"]
    return {
        "lr": LogisticRegression(max_iter=500).fit(x[COLUMNS["lr"]], y),
        "rf": RandomForestClassifier(n_estimators=15, random_state=0).fit(x[COLUMNS["rf"]], y),
        "gb": HistGradientBoostingClassifier(max_iter=20).fit(x, y),
    }


def frame_for(name: str, x: pd.DataFrame) -> pd.DataFrame:
    columns = COLUMNS[name]
    return x if columns is None else x[columns]


def by_hand(members: dict[str, Any], x: pd.DataFrame, combine: str) -> tuple[Any, np.ndarray]:
    """The combination, from each member's own ``predict_proba`` / ``predict``."""
    classes = np.asarray(sorted(members["lr"].classes_), dtype=object)

    def proba(name: str) -> np.ndarray:
        model = members[name]
        found = model.predict_proba(frame_for(name, x))
        return found[:, [list(model.classes_).index(c) for c in classes]]

    probabilities = [proba(n) for n in members]
    if combine == "mean":
        p = np.mean(probabilities, axis=0)
    elif combine == "weighted":
        p = sum(w * q for w, q in zip(WEIGHTS, probabilities, strict=True)) / sum(WEIGHTS)
    elif combine == "vote":
        p = np.zeros((len(x), len(classes)))
        for w, name in zip(WEIGHTS, members, strict=True):
            labels = np.asarray(members[name].predict(frame_for(name, x)), dtype=object)
            p += w * (labels[:, None] == classes[None, :])
        p = p / sum(WEIGHTS)
    else:
        logs = sum(
            w * np.log(np.clip(q, 1e-9, 1.0)) for w, q in zip(WEIGHTS, probabilities, strict=True)
        )
        p = np.exp(logs / sum(WEIGHTS))
        p = p / p.sum(axis=1, keepdims=True)
    return classes[p.argmax(axis=1)], p


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, payments_frame: pd.DataFrame, members: dict[str, Any]
) -> Iterator[tuple[TestClient, Client]]:
    """A served home with the three members, an ensemble per way of combining, each
    deployed, the app in-process (its models in model workers)."""
    home = tmp_path_factory.mktemp("ensembles") / "home"
    settings = Settings(home=home, actor="alice", poll_seconds=0.1)
    bootstrap_admin(settings)
    x = payments_frame.drop(columns="label")
    with Client(settings=settings) as c:
        for name, model in members.items():
            c.log_model(model, name, input_example=frame_for(name, x).head(20))
        refs = [f"{n}:1" for n in members]
        for combine in ("mean", "weighted", "vote", "script"):
            weights = None if combine == "mean" else WEIGHTS
            script = SCRIPT if combine == "script" else None
            c.register_ensemble(
                f"e-{combine}", refs, combine=combine, weights=weights, script=script
            )
            c.create_deployment(f"e-{combine}", [f"e-{combine}:1"])
        with TestClient(create_app(settings), raise_server_exceptions=False) as http:
            http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            wait_ready(http)
            yield http, c


@pytest.mark.parametrize("combine", ["mean", "weighted", "vote", "script"])
def test_served_answers_equal_the_combination_by_hand(
    served: tuple[TestClient, Client],
    payments_frame: pd.DataFrame,
    members: dict[str, Any],
    combine: str,
) -> None:
    http, _ = served
    x = payments_frame.drop(columns="label").sample(60, random_state=1)
    r = http.post(f"/v1/deployments/e-{combine}/predict", json={"inputs": records(x)})
    assert r.status_code == 200, r.text
    answer = r.json()
    labels, expected = by_hand(members, x, combine)
    order = [answer["classes"].index(c) for c in sorted(answer["classes"])]
    served_p = np.asarray(answer["probabilities"])[:, order]
    assert np.abs(served_p - expected).max() <= 1e-12
    assert answer["predictions"] == labels.tolist()


def test_an_ensemble_is_a_version_like_any(served: tuple[TestClient, Client]) -> None:
    _, c = served
    version = c.get_version("e-weighted:1")
    assert version.flavor == "ensemble"
    inputs = [col["name"] for col in (version.signature or {}).get("inputs", [])]
    assert sorted(inputs) == ["amount", "late_share", "terms_days"]
    assert c.check_version("e-weighted:1").runs == "server"


def test_members_that_do_not_fit_together_are_refused_and_nothing_is_written(
    sqlite_client: Client, payments_frame: pd.DataFrame, members: dict[str, Any]
) -> None:
    c = sqlite_client
    x = payments_frame.drop(columns="label")
    c.log_model(members["lr"], "lr", input_example=x[COLUMNS["lr"]].head(20))
    binary = LogisticRegression(max_iter=200).fit(x[["amount"]], x["terms_days"] > 50)
    c.log_model(binary, "other", input_example=x[["amount"]].head(20))
    regressor = LinearRegression().fit(x[["amount"]], x["late_share"])
    c.log_model(regressor, "reg", input_example=x[["amount"]].head(20))
    cases = {
        ("lr:1", "reg:1"): "all be classifiers or all regressors",
        ("lr:1", "other:1"): "same classes",
        ("lr:1",): "2 to 32 members",
        ("lr:1", "lr:1"): "named twice",
    }
    for refs, message in cases.items():
        with pytest.raises(InvalidInput, match=message):
            c.register_ensemble("bad", list(refs))
    with pytest.raises(InvalidInput, match="weighted needs a --weight"):
        c.register_ensemble("bad", ["lr:1", "reg:1"], combine="weighted")
    assert [m.name for m in c.list_models()] == ["lr", "other", "reg"]


def test_a_type_clash_between_members_is_named(
    sqlite_client: Client, payments_frame: pd.DataFrame
) -> None:
    c = sqlite_client
    x = payments_frame.drop(columns="label")
    y = payments_frame["label"]
    c.log_model(
        LogisticRegression(max_iter=200).fit(x[["amount"]], y),
        "a",
        input_example=x[["amount"]].head(20),
    )
    as_text = x[["terms_days"]].rename(columns={"terms_days": "amount"}).astype(str)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    text_model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression())
    c.log_model(text_model.fit(as_text, y), "b", input_example=as_text.head(20))
    with pytest.raises(InvalidInput, match="members disagree on column 'amount'"):
        c.register_ensemble("clash", ["a:1", "b:1"])


def test_a_member_in_use_cannot_be_deleted_or_archived(
    settings: Settings, payments_frame: pd.DataFrame, members: dict[str, Any]
) -> None:
    x = payments_frame.drop(columns="label")
    with Client(settings=settings) as c:
        c.log_model(members["lr"], "lr", input_example=x[COLUMNS["lr"]].head(20))
        c.log_model(members["rf"], "rf", input_example=x[COLUMNS["rf"]].head(20))
        c.register_ensemble("both", ["lr:1", "rf:1"])
        for action in (lambda: c.delete_version("lr:1"), lambda: c.archive("rf:1")):
            with pytest.raises(DependencyExists, match=r"ensemble sandbox/both:1 uses it"):
                action()
        with pytest.raises(DependencyExists, match="ensemble sandbox/both:1 uses it"):
            c.delete_model("lr")
        c.delete_version("both:1")  # once the ensemble is gone, its members may go
        c.delete_version("lr:1")
        c.archive("rf:1")


def test_the_cli_registers_an_ensemble_and_a_bundle_carries_its_members(
    sqlite_client: Client, payments_frame: pd.DataFrame, members: dict[str, Any], tmp_path: Path
) -> None:
    c = sqlite_client
    x = payments_frame.drop(columns="label")
    for name in ("lr", "rf"):
        c.log_model(members[name], name, input_example=frame_for(name, x).head(20))
    home = str(c.settings.home)  # type: ignore[attr-defined]
    script = tmp_path / "combine.py"
    script.write_text(SCRIPT)
    run = [EXE, "--home", home, "models", "ensemble", "pair", "--member", "lr:1", "--member"]
    done = subprocess.run(
        [*run, "rf:1", "--combine", str(script), "--weight", "1", "--weight", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "registered sandbox/pair:1 (ensemble of lr:1, rf:1, script)" in done.stdout
    bad = subprocess.run(
        [*run, "rf:1", "--combine", "median"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "median" in bad.stderr

    expected = c.load_model("pair:1").predict_proba(x)
    key = c.create_key("release")
    bundle = tmp_path / "pair.bundle"
    c.export_bundle("pair:1", bundle, key="release")
    with Client(settings=Settings(home=tmp_path / "elsewhere", actor="bob")) as other:
        other.trust_key("site-a", key.public_key)
        found = other.import_bundle(bundle, environment="production")
        assert found.version.flavor == "ensemble"
        assert [m.full_name for m in other.list_models()] == ["production/pair"]
        got = other.load_model("production/pair:1").predict_proba(x)
    assert np.array_equal(got, expected)
