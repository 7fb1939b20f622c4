"""The experiments repository: a run reads back whole, runs are listed newest first, per
environment and experiment."""

from __future__ import annotations

import pytest

from modelyard.domain.errors import Conflict
from modelyard.domain.experiments import ExperimentRun
from modelyard.store.unit import Store, Tx


def run(
    tx: Tx, name: str, *, experiment: str = "churn", environment: str = "sandbox"
) -> ExperimentRun:
    return tx.experiments.add(
        environment=environment,
        experiment=experiment,
        name=name,
        params={"features": ["amount", "region"], "depth": 3},
        data_fingerprint="sha256:" + "f" * 64,
        rows=1000,
        metrics={"f1_macro": 0.75},
        created_by="alice",
    )


def test_a_run_reads_back_whole(store: Store) -> None:
    with store.write() as tx:
        added = run(tx, "depth 3")
    with store.read() as tx:
        (found,) = tx.experiments.runs("sandbox", "churn")
    assert isinstance(found, ExperimentRun)
    assert found == added
    assert (found.environment, found.experiment, found.name, found.rows) == (
        "sandbox",
        "churn",
        "depth 3",
        1000,
    )
    assert (found.params, found.metrics, found.created_by) == (
        {"features": ["amount", "region"], "depth": 3},
        {"f1_macro": 0.75},
        "alice",
    )
    assert found.data_fingerprint == "sha256:" + "f" * 64


def test_runs_are_listed_newest_first_per_experiment(store: Store) -> None:
    with store.write() as tx:
        first = run(tx, "a").id
        second = run(tx, "b").id
        run(tx, "other experiment", experiment="fraud")
        run(tx, "other environment", environment="production")
    with store.read() as tx:
        assert [r.id for r in tx.experiments.runs("sandbox", "churn")] == [second, first]
        assert [r.name for r in tx.experiments.runs("sandbox", "fraud")] == ["other experiment"]
        assert [r.name for r in tx.experiments.runs("production", "churn")] == ["other environment"]
        assert tx.experiments.runs("sandbox", "nope") == []


def test_a_run_needs_a_known_environment(store: Store) -> None:
    with pytest.raises(Conflict), store.write() as tx:
        run(tx, "a", environment="staging")
    with store.read() as tx:
        assert tx.experiments.runs("staging", "churn") == []
