"""The alerts repository: rules read back as entities with their deployment, a due run is
claimed by exactly one caller, and an alert opens, follows its value and resolves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modelyard.domain.errors import Conflict
from modelyard.domain.monitoring import Alert, AlertRule
from modelyard.store.alerts import DueRun
from modelyard.store.unit import Store, Tx
from tests.store.test_deployments import deploy
from tests.support.race import at_once


def rule(tx: Tx, deployment_id: int, name: str, *, every: int = 60) -> AlertRule:
    return tx.alerts.add_rule(
        deployment_id=deployment_id,
        name=name,
        signal="feature_drift",
        feature="amount",
        op=">",
        threshold=0.3,
        window_seconds=3600,
        every_seconds=every,
        actor="alice",
    )


def test_a_rule_reads_back_with_its_deployment(store: Store) -> None:
    start = datetime.now(UTC)
    with store.write() as tx:
        pay = deploy(tx, "pay", environment="production")
        made = rule(tx, pay, "drift")
    with store.read() as tx:
        assert tx.alerts.rule(made.id) == made
        assert tx.alerts.find_rule(pay, "drift") == made
        assert tx.alerts.find_rule(pay, "nope") is None
        assert tx.alerts.rule(made.id + 1) is None
    assert isinstance(made, AlertRule)
    assert (made.deployment, made.environment, made.name) == ("pay", "production", "drift")
    assert (made.signal, made.feature, made.op, made.threshold) == (
        "feature_drift",
        "amount",
        ">",
        0.3,
    )
    assert (made.window_seconds, made.every_seconds, made.created_by) == (3600, 60, "alice")
    assert start <= made.next_run_at <= datetime.now(UTC)  # due at once


def test_rules_list_by_deployment_then_name(store: Store) -> None:
    with store.write() as tx:
        pay, other = deploy(tx, "pay"), deploy(tx, "other")
        rule(tx, pay, "b")
        rule(tx, pay, "a")
        rule(tx, other, "z")
    with store.read() as tx:
        every = [(r.deployment, r.name) for r in tx.alerts.rules()]
        mine = [r.name for r in tx.alerts.rules(pay)]
    assert every == [("other", "z"), ("pay", "a"), ("pay", "b")]
    assert mine == ["a", "b"]


def test_a_rule_name_is_unique_per_deployment(store: Store) -> None:
    with store.write() as tx:
        pay, other = deploy(tx, "pay"), deploy(tx, "other")
        rule(tx, pay, "drift")
        rule(tx, other, "drift")
    with pytest.raises(Conflict), store.write() as tx:
        rule(tx, pay, "drift")


def test_a_due_run_is_claimed_once(store: Store) -> None:
    with store.write() as tx:
        made = rule(tx, deploy(tx, "pay"), "drift", every=60)
    now = made.next_run_at + timedelta(seconds=1)
    with store.read() as tx:
        assert tx.alerts.due(made.next_run_at - timedelta(seconds=1)) == []
        (run,) = tx.alerts.due(now)
    assert run == DueRun(made.id, made.next_run_at)
    with store.write() as tx:
        assert tx.alerts.claim(run, now)
    with store.write() as tx:
        assert not tx.alerts.claim(run, now)  # moved since it was read
        moved = tx.alerts.rule(made.id)
    assert moved is not None and moved.next_run_at == now + timedelta(seconds=60)
    with store.read() as tx:
        assert tx.alerts.due(now) == []
        assert tx.alerts.due(moved.next_run_at) == [DueRun(made.id, moved.next_run_at)]


def test_concurrent_claims_of_one_run_let_one_through(store: Store) -> None:
    with store.write() as tx:
        made = rule(tx, deploy(tx, "pay"), "drift")
    run, now = DueRun(made.id, made.next_run_at), made.next_run_at

    def claim() -> bool:
        with store.write() as tx:
            return tx.alerts.claim(run, now)

    assert sorted(at_once(claim, 4)) == [False, False, False, True]


def test_a_deleted_rule_cannot_be_claimed_and_takes_its_alerts(store: Store) -> None:
    with store.write() as tx:
        pay = deploy(tx, "pay")
        made = rule(tx, pay, "drift")
        kept = rule(tx, pay, "kept")
        tx.alerts.fire(made.id, 0.5, "drifted", made.next_run_at)
        tx.alerts.fire(kept.id, 0.5, "drifted", made.next_run_at)
    with store.write() as tx:
        tx.alerts.delete_rule(made.id)
    with store.write() as tx:
        assert not tx.alerts.claim(DueRun(made.id, made.next_run_at), made.next_run_at)
        assert tx.alerts.rule(made.id) is None
        assert [a.rule for a in tx.alerts.alerts()] == ["kept"]


def test_an_alert_opens_follows_its_value_and_resolves(store: Store) -> None:
    fired = datetime(2024, 5, 1, 12, tzinfo=UTC)
    later = fired + timedelta(minutes=5)
    with store.write() as tx:
        made = rule(tx, deploy(tx, "pay"), "drift")
        assert tx.alerts.open_alert(made.id) is None
        alert_id = tx.alerts.fire(made.id, 0.5, "pay: drifted", fired)
    with store.write() as tx:
        opened = tx.alerts.open_alert(made.id)
        assert opened is not None
        tx.alerts.observe(alert_id, 0.6, later)
        observed = tx.alerts.open_alert(made.id)  # the same transaction sees the change
    assert isinstance(opened, Alert)
    assert (opened.id, opened.rule_id, opened.rule, opened.deployment) == (
        alert_id,
        made.id,
        "drift",
        "pay",
    )
    assert (opened.state, opened.value, opened.last_value, opened.message) == (
        "firing",
        0.5,
        0.5,
        "pay: drifted",
    )
    assert (opened.fired_at, opened.last_evaluated_at, opened.resolved_at) == (fired, fired, None)
    assert observed is not None
    assert (observed.value, observed.last_value, observed.last_evaluated_at) == (0.5, 0.6, later)
    with store.write() as tx:
        tx.alerts.resolve(alert_id, later)
    with store.read() as tx:
        assert tx.alerts.open_alert(made.id) is None
        (resolved,) = tx.alerts.alerts()
    assert (resolved.state, resolved.resolved_at, resolved.last_value) == ("resolved", later, 0.6)


def test_alerts_list_newest_first_by_deployment_and_state(store: Store) -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    with store.write() as tx:
        pay, other = deploy(tx, "pay"), deploy(tx, "other")
        drift, rows = rule(tx, pay, "drift"), rule(tx, other, "rows")
        first = tx.alerts.fire(drift.id, 0.5, "", now)
        tx.alerts.resolve(first, now)
        second = tx.alerts.fire(drift.id, 0.7, "", now)
        third = tx.alerts.fire(rows.id, 3.0, "", now)
    with store.read() as tx:
        assert [a.id for a in tx.alerts.alerts()] == [third, second, first]
        assert [a.id for a in tx.alerts.alerts(limit=2)] == [third, second]
        assert [a.id for a in tx.alerts.alerts(deployment_id=pay)] == [second, first]
        assert [a.id for a in tx.alerts.alerts(state="firing")] == [third, second]
        assert [a.id for a in tx.alerts.alerts(deployment_id=pay, state="resolved")] == [first]


def test_deleting_a_deployment_takes_its_rules_and_alerts(store: Store) -> None:
    with store.write() as tx:
        pay, other = deploy(tx, "pay"), deploy(tx, "other")
        made = rule(tx, pay, "drift")
        rule(tx, other, "kept")
        tx.alerts.fire(made.id, 0.5, "", made.next_run_at)
    with store.write() as tx:
        tx.deployments.delete(pay)
    with store.read() as tx:
        assert [r.name for r in tx.alerts.rules()] == ["kept"]
        assert tx.alerts.alerts() == []
