"""Evaluate, gate and promote from the command line, against a live server with two real
users: the requester cannot approve their own request; another approver can."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import joblib
import pytest

from modelyard import Settings
from tests.cli.conftest import Result
from tests.monitoring.conftest import FEATURES, invoices
from tests.services.test_promotions import pipeline
from tests.support.live import live_server

Cli = Callable[..., Result]


def test_promotion_from_the_command_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, holdout = invoices(2000, seed=1), invoices(600, seed=2)
    model = pipeline(30).fit(data[FEATURES], data["label"])
    joblib.dump(model, tmp_path / "model.joblib")
    data[FEATURES].head(20).to_csv(tmp_path / "example.csv", index=False)
    data.to_parquet(tmp_path / "train.parquet")
    holdout.to_parquet(tmp_path / "holdout.parquet")

    # the local admin of the home prepares data, a version, gates and two users
    assert cli("datasets", "register", "train", tmp_path / "train.parquet").code == 0
    assert cli("datasets", "register", "holdout", tmp_path / "holdout.parquet").code == 0
    r = cli(
        "models",
        "register",
        "payments",
        tmp_path / "model.joblib",
        "--input-example",
        tmp_path / "example.csv",
        "--dataset",
        "train",
    )
    assert r.code == 0, r.err
    r = cli("evaluate", "payments:1", "--dataset", "holdout", "--json")
    assert r.code == 0, r.err
    assert r.json()["metrics"]["f1_macro"] > 0.3
    assert "f1_macro" in cli("evaluate", "payments:1", "--dataset", "holdout").out
    r = cli(
        "models",
        "register",
        "payments",
        tmp_path / "model.joblib",
        "--input-example",
        tmp_path / "example.csv",
    )
    assert r.code == 0 and cli("evaluate", "payments:2", "--dataset", "holdout").code == 0
    r = cli("compare", "payments:1", "payments:2", "--json")
    assert set(r.json()["metrics"]["f1_macro"]) == {"sandbox/payments:1", "sandbox/payments:2"}
    assert "sandbox/payments:2" in cli("compare", "payments:1", "payments:2").out
    r = cli(
        "gates",
        "set",
        "production",
        "--require-evaluation",
        "holdout",
        "-t",
        "f1_macro >= 0.3",
        "--approvals",
        "1",
        "--json",
    )
    assert r.code == 0, r.err
    assert r.json()["thresholds"] == [{"metric": "f1_macro", "op": ">=", "value": 0.3}]
    tokens = {}
    for user, grants in (
        ("dana", ["sandbox developer", "production approver"]),
        ("ann", ["production approver"]),
    ):
        assert cli("users", "create", user).code == 0
        for grant in grants:
            assert cli("users", "grant", user, *grant.split()).code == 0
        tokens[user] = cli("tokens", "create", "t", "--user", user).out.strip().splitlines()[-1]

    with live_server(Settings(home=tmp_path / "home")) as url:
        monkeypatch.setenv("MODELYARD_URL", url)
        monkeypatch.setenv("MODELYARD_TOKEN", tokens["dana"])
        r = cli("promote", "sandbox/payments:1", "--to", "production", "--note", "q4")
        assert r.code == 0, r.err
        assert "pending" in r.out and "evaluated on sandbox/holdout:1" in r.out
        r = cli("approve", "1")
        assert r.code == 1 and "may not approve it" in r.err and r.err.count("\n") == 1
        r = cli("gates", "set", "production", "--approvals", "0")
        assert r.code == 1 and "may not change the gates" in r.err

        monkeypatch.setenv("MODELYARD_TOKEN", tokens["ann"])
        r = cli("approve", "1", "--comment", "looks good", "--json")
        assert r.code == 0, r.err
        assert r.json()["state"] == "promoted" and r.json()["result"] == "production/payments:1"
        shown = cli("models", "show", "production/payments:1", "--json").json()
        assert shown["lineage"]["promoted_from"] == "sandbox/payments:1"
        listed = cli("requests", "--json").json()
        assert [(x["id"], x["state"]) for x in listed] == [(1, "promoted")]
        r = cli("reject", "1")
        assert r.code == 1 and "promotion 1 is promoted" in r.err

    # a gate that fails: the request is recorded as blocked and the command exits 1
    monkeypatch.delenv("MODELYARD_URL")
    monkeypatch.delenv("MODELYARD_TOKEN")
    assert cli("gates", "set", "production", "-t", "f1_macro >= 0.99").code == 0
    r = cli("promote", "sandbox/payments:1", "--to", "production")
    assert r.code == 1 and "blocked" in r.out and "NO" in r.out
    assert "f1_macro >= 0.99" in cli("gates", "show", "production").out

    # the gates tighten while a request waits: approving re-checks them, blocks, exits 1
    assert cli("gates", "set", "production", "--approvals", "1", "--allow-self-approval").code == 0
    r = cli("promote", "sandbox/payments:2", "--to", "production", "--json")
    assert r.code == 0 and r.json()["state"] == "pending", r.out
    waiting = str(r.json()["id"])
    r = cli(
        "gates",
        "set",
        "production",
        "--approvals",
        "1",
        "--allow-self-approval",
        "-t",
        "f1_macro >= 0.99",
    )
    assert r.code == 0
    r = cli("approve", waiting)
    assert r.code == 1 and "blocked" in r.out and "f1_macro >= 0.99" in r.out


def test_bundles_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    from tests.services.test_bundles import seeded

    a, b = tmp_path / "site-a", tmp_path / "site-b"
    seeded(a).close()
    created = cli("--home", a, "keys", "create", "release", "--json")
    assert created.code == 0, created.err
    public = created.json()["public_key"]
    assert cli("--home", b, "keys", "trust", "site-a", public).code == 0
    assert "site-a" in cli("--home", b, "keys", "list").out
    bundle = tmp_path / "payments.bundle"
    r = cli("--home", a, "bundle", "export", "payments:1", "-o", bundle, "--key", "release")
    assert r.code == 0, r.err
    r = cli("--home", b, "bundle", "import", bundle, "--env", "production")
    assert r.code == 0 and "imported production/payments:1" in r.out and "locked" in r.out
    r = cli("--home", b, "bundle", "import", bundle, "--env", "production")
    assert r.code == 0 and "already imported as production/payments:1" in r.out
    data = bundle.read_bytes()
    tampered = tmp_path / "tampered.bundle"
    tampered.write_bytes(
        data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1 :]
    )
    r = cli("--home", b, "bundle", "import", tampered, "--env", "production")
    assert r.code == 1 and r.err.startswith("error: ") and r.err.count("\n") == 1
    r = cli("--home", b, "models", "tag", "production/payments:1", "team=x")
    assert r.code == 1 and "is locked" in r.err
