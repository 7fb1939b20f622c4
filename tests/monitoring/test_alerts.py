"""Alert rules: checked before they are stored, evaluated by the server's scheduler, one
alert per firing (deduplicated while it fires), resolved when the signal clears, and
delivered to webhook subscribers as signed ``alert.fired`` / ``alert.resolved`` events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from modelyard import AlreadyExists, InvalidInput, NotFound
from modelyard.domain.auth import Principal
from modelyard.domain.webhooks import verify_signature
from modelyard.services.container import Services
from modelyard.services.scope import Scope
from tests.monitoring.conftest import Watched, invoices
from tests.support.receiver import Receiver


def wait_for(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_bad_rules_are_refused_and_change_nothing(watched: Watched) -> None:
    c = watched.client
    c.create_alert_rule("pay", "drift", "drift_share", 0.3)
    before = len(c.audit(limit=1000))
    cases = [
        (InvalidInput, "unknown signal 'drifts'", dict(signal="drifts")),
        (InvalidInput, "feature_drift needs --feature", dict(signal="feature_drift")),
        (InvalidInput, "takes no feature", dict(feature="amount")),
        (InvalidInput, "unknown operator '=='", dict(op="==")),
        (InvalidInput, "invalid window 'soon'", dict(window="soon")),
        (InvalidInput, "at most every 10 seconds", dict(every="1s")),
        (InvalidInput, "threshold must be finite", dict(threshold=float("inf"))),
        (AlreadyExists, "already has a rule 'drift'", dict(name="drift")),
    ]
    for error, message, change in cases:
        args = {"name": "other", "signal": "drift_share", "threshold": 0.3, **change}
        with pytest.raises(error, match=message):
            c.create_alert_rule(
                "pay",
                args.pop("name"),
                args.pop("signal"),
                args.pop("threshold"),
                **args,
            )
    with pytest.raises(NotFound, match="deployment 'nope' does not exist"):
        c.create_alert_rule("nope", "x", "rows", 1)
    assert [r.name for r in c.list_alert_rules()] == ["drift"]
    assert len(c.audit(limit=1000)) == before
    bad = watched.http.post(
        "/api/v1/alerts/rules",
        json={"deployment": "pay", "name": "x", "signal": "rows", "threshold": 1, "every": "2s"},
    )
    assert bad.status_code == 400 and "at most every" in bad.json()["error"]["message"]


@pytest.fixture
def root(watched: Watched) -> Iterator[Scope]:
    """The watched home's services as an installation admin: what the server's scheduler
    does, at a moment the test chooses."""
    services = Services.open(watched.settings)
    try:
        yield services.bind(Principal("root", is_admin=True))
    finally:
        services.close()


def test_alerts_fire_once_resolve_and_reach_webhooks(
    watched: Watched, receiver: Receiver, root: Scope
) -> None:
    c = watched.client
    hook = root.webhooks.create_webhook(receiver.url, ["alert.*"])
    shifted = invoices(2_000, seed=9)
    shifted["credit_limit"] += 3_000
    shifted["region"] = np.random.default_rng(1).choice(["east", "west"], len(shifted))
    watched.score(shifted)
    watched.flush()

    # the scheduler in the server evaluates new rules at once
    c.create_alert_rule("pay", "drift", "drift_share", 0.2, window="1h", every="10m")
    c.create_alert_rule("pay", "traffic", "rows", 100, op=">", window="1h", every="10m")
    firing = wait_for(
        lambda: c.list_alerts(state="firing") if len(c.list_alerts(state="firing")) == 2 else None
    )
    by_rule = {a.rule: a for a in firing}
    assert by_rule["drift"].value == pytest.approx(0.25)
    assert by_rule["traffic"].value == 2_000

    # evaluated again while still breached: the same alert, not a new one
    answer = watched.http.post("/api/v1/alerts/evaluate", json={"deployment": "pay"})
    assert answer.status_code == 200
    assert {o["rule"]: o["change"] for o in answer.json()} == {"drift": None, "traffic": None}
    assert len(c.list_alerts()) == 2

    # two hours later nothing was scored: traffic clears and resolves; drift has no data
    later = datetime.now(UTC) + timedelta(hours=2)
    outcomes = root.alerts.evaluate_alerts("pay", now=later)
    assert {o["rule"]: o["change"] for o in outcomes} == {"drift": None, "traffic": "resolved"}
    states = {a.rule: a.state for a in c.list_alerts()}
    assert states == {"drift": "firing", "traffic": "resolved"}

    def alerts_delivered() -> list:  # type: ignore[type-arg]
        found = [
            e for e in receiver.delivered if e.event["type"] in ("alert.fired", "alert.resolved")
        ]
        return found if len(found) >= 3 else []

    events = wait_for(alerts_delivered)
    assert sorted(e.event["type"] for e in events) == [
        "alert.fired",
        "alert.fired",
        "alert.resolved",
    ]
    created = [
        e.event["type"] for e in receiver.delivered if e.event["type"] == "alert.rule_created"
    ]
    assert len(created) == 2
    for e in events:
        assert verify_signature(
            hook.secret, e.headers["modelyard-timestamp"], e.body, e.headers["modelyard-signature"]
        )
    fired = next(e.event for e in events if e.event["after"]["rule"]["name"] == "drift")
    assert fired["subject"] == "alert:sandbox/pay/drift" and fired["environment"] == "sandbox"
    assert fired["after"]["value"] == pytest.approx(0.25)
    assert len(c.list_alerts(state="firing")) == 1
