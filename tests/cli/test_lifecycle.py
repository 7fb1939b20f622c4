"""``modelyard apply``: the whole flow from one file; a second run changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import joblib
import pandas as pd
import pytest

from modelyard import Client, Settings
from modelyard.domain.auth import Principal, Role
from modelyard.services.container import Services
from tests.api.conftest import bootstrap
from tests.cli.conftest import Result
from tests.monitoring.conftest import FEATURES, invoices
from tests.services.test_promotions import pipeline
from tests.support.live import live_server

Cli = Callable[..., Result]

LIFECYCLE = """
lifecycle: 1
datasets:
  - {name: invoices, file: data/train.parquet}
  - {name: holdout, file: data/holdout.parquet}
model:
  name: payments
  path: build/model.joblib
  input_example: build/example.csv
  datasets: [invoices]
  tags: {team: finance}
evaluate: {dataset: holdout}
sandbox:
  deployment: payments-sandbox
  smoke_test: {file: data/smoke.csv}
promote: {to: production, note: from CI}
production:
  deployment: payments
"""


def project(root: Path, seed: int = 1) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "build").mkdir(exist_ok=True)
    data = invoices(2000, seed=seed)
    data.to_parquet(root / "data" / "train.parquet")
    invoices(500, seed=2).to_parquet(root / "data" / "holdout.parquet")
    invoices(50, seed=3)[FEATURES].to_csv(root / "data" / "smoke.csv", index=False)
    joblib.dump(pipeline(20).fit(data[FEATURES], data["label"]), root / "build" / "model.joblib")
    data[FEATURES].head(20).to_csv(root / "build" / "example.csv", index=False)
    (root / "modelyard.yaml").write_text(LIFECYCLE)
    return root / "modelyard.yaml"


def test_apply_runs_the_flow_and_a_second_run_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    file = project(tmp_path / "repo")
    home = tmp_path / "home"
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
    )
    assert r.code == 0

    dry = cli("apply", file, "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert {s["status"] for s in dry.json()["steps"]} == {"would change"}
    assert cli("datasets", "list", "--json").json() == []  # a dry run writes nothing

    first = cli("apply", file, "--json")
    assert first.code == 0, first.err
    steps = [(s["step"], s["status"]) for s in first.json()["steps"]]
    assert steps == [
        ("dataset", "changed"),
        ("dataset", "changed"),
        ("model", "changed"),
        ("evaluate", "changed"),
        ("sandbox", "changed"),
        ("sandbox smoke test", "passed"),
        ("promote", "changed"),
    ]
    assert "waits for 1 approval" in first.json()["steps"][-1]["detail"]

    second = cli("apply", file)
    assert second.code == 0 and second.out.strip().endswith("no changes"), second.out
    again = cli("apply", file, "--json").json()
    assert not again["changed"]
    assert [s["status"] for s in again["steps"]] == [
        "unchanged",
        "unchanged",
        "unchanged",
        "unchanged",
        "unchanged",
        "passed",
        "waiting",
    ]

    # an approver (not the requester) approves; the next run updates production, once
    with Client(settings=Settings(home=home)) as c:
        request = c.list_promotion_requests()[0]
    services = Services.open(Settings(home=home))
    try:
        ann = Principal("ann", roles={"production": frozenset({Role.APPROVER})})
        assert services.bind(ann).promotions.approve(request.id).state == "promoted"
    finally:
        services.close()
    third = cli("apply", file, "--json").json()
    step = third["steps"][-1]
    assert (step["step"], step["status"]) == ("production", "changed")
    assert re.fullmatch(
        r"deployment payments to serve production/payments:1; its scoring keys, shown once: "
        r"primary myk_\S+, secondary myk_\S+",
        step["detail"],
    ), step["detail"]  # created now: its keys are shown this once
    fourth = cli("apply", file, "--json").json()
    assert not fourth["changed"] and fourth["steps"][-1]["status"] == "unchanged"
    shown = cli("deployments", "show", "payments", "--json").json()
    assert shown["environment"] == "production"

    # new training data: a dry run says what would change, and changes nothing
    pd.read_parquet(file.parent / "data" / "train.parquet").head(1000).to_parquet(
        file.parent / "data" / "train.parquet"
    )
    dry = cli("apply", file, "--dry-run", "--json").json()
    assert dry["steps"][0]["status"] == "would change" and dry["changed"]
    assert len(cli("datasets", "versions", "invoices", "--json").json()) == 1


def test_apply_fails_clearly(cli: Cli, tmp_path: Path) -> None:
    file = project(tmp_path / "repo")
    assert cli("gates", "set", "production", "-t", "f1_macro >= 0.99").code == 0
    r = cli("apply", file)
    assert r.code == 1 and "✗ promote" in r.out and "f1_macro >= 0.99" in r.out
    file.write_text(LIFECYCLE.replace("path: build/model.joblib", "path: build/missing.joblib"))
    r = cli("apply", file)
    assert r.code == 1 and "'build/missing.joblib', which does not exist" in r.err
    file.write_text(LIFECYCLE + "surprise: 1\n")
    r = cli("apply", file)
    assert r.code == 1 and "modelyard.yaml: surprise: Extra inputs are not permitted" in r.err
    file.write_text("model: [unclosed\n")
    r = cli("apply", file)
    assert r.code == 1 and "is not valid YAML" in r.err and r.err.count("\n") == 1


def test_the_example_lifecycle_file_is_valid() -> None:
    from modelyard.lifecycle.apply import load

    spec, _ = load(Path(__file__).resolve().parents[2] / "examples" / "ci" / "modelyard.yaml")
    assert spec.promote is not None and spec.promote.to == "production"
    assert spec.model.datasets == ["payment-invoices"]


def test_apply_checks_every_role_it_needs_before_it_writes(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = project(tmp_path / "repo")
    settings = Settings(home=tmp_path / "server-home")
    bootstrap(settings)
    with Client(settings=settings) as admin:
        admin.create_user("dana")
        admin.grant("dana", "sandbox", "developer")
        secret = admin.create_token("ci", user="dana").secret
    with live_server(settings) as url:
        monkeypatch.setenv("MODELYARD_URL", url)
        monkeypatch.setenv("MODELYARD_TOKEN", secret)
        r = cli("apply", file)
        assert r.code == 1
        assert r.out.splitlines()[0] == (
            "✗ permissions          user 'dana' needs deployer in sandbox (to deploy "
            "payments-sandbox); deployer in production (to deploy payments); nothing done"
        )
        with Client(settings=settings) as admin:
            assert admin.list_datasets() == [] and admin.list_models() == []
            admin.grant("dana", "sandbox", "deployer")
            admin.grant("dana", "production", "deployer")
            fresh = admin.create_token("ci-2", user="dana").secret  # the old one is cached
        monkeypatch.setenv("MODELYARD_TOKEN", fresh)
        r = cli("apply", file)
        assert r.code == 0, r.out + r.err
        assert "its scoring keys, shown once: primary myk_" in r.out  # sandbox, created now


def test_a_failing_step_shows_what_apply_did_before_it(cli: Cli, tmp_path: Path) -> None:
    file = project(tmp_path / "repo")
    file.write_text(
        LIFECYCLE.replace(
            "evaluate: {dataset: holdout}", "evaluate: {dataset: holdout, label: paid}"
        )
    )
    r = cli("apply", file)
    assert r.code == 1
    marks = [line.split()[:2] for line in r.out.splitlines()]
    assert marks == [["+", "dataset"], ["+", "dataset"], ["+", "model"], ["✗", "evaluate"]]
    assert "registered sandbox/payments:1" in r.out
    assert r.err.startswith("error: ") and "paid" in r.err
    assert r.out.splitlines()[-1].endswith(r.err.removeprefix("error: ").strip())
