"""The webhooks repository: subscriptions read back as written, audited changes are queued
for the subscriptions that want them, and the outbox is claimed, retried, delivered or
failed row by row, with every attempt in the delivery log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from modelyard.domain.clock import utcnow
from modelyard.domain.webhooks import Webhook
from modelyard.store.unit import Store, Tx
from modelyard.store.webhooks import Due

SECRET = "whsec_0123456789abcdef"


def subscribe(tx: Tx, events: tuple[str, ...], environment: str | None = None) -> Webhook:
    return tx.webhooks.add(
        url="http://127.0.0.1:9/hook",
        secret=SECRET,
        events=events,
        environment=environment,
        created_by="alice",
        created_at=utcnow(),
    )


def subscribed_to(store: Store, *actions: str) -> Webhook:
    """A subscription to every event, and one audited change per action after it."""
    with store.write() as tx:
        hook = subscribe(tx, ("*",))
        for action in actions:
            tx.audit.append(actor="alice", action=action, subject="model:sandbox/p")
    return hook


def later(seconds: float = 1.0) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def claim_next(store: Store) -> Due:
    """What a dispatcher does first: claim the one due row."""
    with store.write() as tx:
        (outbox_id,) = tx.webhooks.due_ids(later(), 10)
        due = tx.webhooks.claim(outbox_id, later(), later(60))
    assert due is not None
    return due


def claim_next_of(store: Store, due: list[int], webhook_id: int) -> Due:
    """Claim the due rows until one of ``webhook_id``'s."""
    with store.write() as tx:
        for outbox_id in due:
            found = tx.webhooks.claim(outbox_id, later(), later(60))
            if found is not None and found.webhook_id == webhook_id:
                return found
    raise AssertionError(f"nothing due for webhook {webhook_id}")


def attempt(store: Store, due: Due, *, delivered: bool, retry_at: datetime | None) -> bool:
    with store.write() as tx:
        return tx.webhooks.record_attempt(
            due,
            now=utcnow(),
            status_code=200 if delivered else 500,
            error=None if delivered else "HTTP 500",
            duration_ms=1.5,
            delivered=delivered,
            retry_at=retry_at,
        )


def test_subscriptions_read_back_and_are_deleted(store: Store) -> None:
    with store.write() as tx:
        one = subscribe(tx, ("version.*", "alias.moved"), "sandbox")
        two = subscribe(tx, ("*",))
    assert (one.events, one.environment, one.active, one.created_by) == (
        ("version.*", "alias.moved"),
        "sandbox",
        True,
        "alice",
    )
    with store.read() as tx:
        assert tx.webhooks.get(one.id) == one
        assert tx.webhooks.get(two.id + 1) is None
        assert tx.webhooks.subscriptions() == [one, two]
    with store.write() as tx:
        assert tx.webhooks.delete(one.id)
        assert not tx.webhooks.delete(one.id)
    with store.read() as tx:
        assert tx.webhooks.subscriptions() == [two]


def test_audited_changes_are_queued_for_the_subscriptions_that_want_them(store: Store) -> None:
    with store.write() as tx:
        versions = subscribe(tx, ("version.*",), "sandbox")
        everything = subscribe(tx, ("*",))
        seq = tx.audit.append(
            actor="alice",
            action="version.created",
            subject="model_version:sandbox/payments:1",
            after={"digest": "sha256:ab"},
        )
        tx.audit.append(actor="alice", action="version.created", subject="model_version:x/p:1")
        tx.audit.append(actor="alice", action="user.created", subject="user:dana")
        tx.audit.append(actor="alice", action="webhook.created", subject="webhook:1")
    with store.read() as tx:
        assert tx.webhooks.outbox_counts(versions.id) == {
            "pending": 1,
            "delivered": 0,
            "failed": 0,
        }
        assert tx.webhooks.outbox_counts(everything.id)["pending"] == 3  # no webhook.* events
        due = tx.webhooks.due_ids(later(), 10)
    assert len(due) == 2  # the oldest row of each subscription
    first = claim_next_of(store, due, versions.id)
    assert (first.url, first.secret, first.event_type, first.attempts) == (
        "http://127.0.0.1:9/hook",
        SECRET,
        "version.created",
        0,
    )
    body = json.loads(first.payload)
    assert {k: body[k] for k in ("event_seq", "type", "actor", "environment", "after")} == {
        "event_seq": seq,
        "type": "version.created",
        "actor": "alice",
        "environment": "sandbox",
        "after": {"digest": "sha256:ab"},
    }
    assert body["webhook_id"] == versions.id


def test_nothing_is_queued_without_subscriptions_or_in_a_rolled_back_change(
    store: Store,
) -> None:
    with store.write() as tx:
        assert (
            tx.webhooks.enqueue(
                seq=1,
                time=utcnow(),
                actor="alice",
                action="model.created",
                subject="model:sandbox/p",
                before=None,
                after=None,
            )
            == 0
        )
        hook = subscribe(tx, ("*",))
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.audit.append(actor="alice", action="model.created", subject="model:sandbox/p")
        raise RuntimeError
    with store.read() as tx:
        assert tx.webhooks.outbox_counts(hook.id)["pending"] == 0
        assert tx.webhooks.due_ids(later(), 10) == []


def test_a_claimed_row_is_not_claimed_again_until_its_claim_lapses(store: Store) -> None:
    subscribed_to(store, "model.created", "model.updated")
    now = later()
    with store.write() as tx:
        (head,) = tx.webhooks.due_ids(now, 10)  # the second event waits for the first
        assert tx.webhooks.claim(head, now, now + timedelta(seconds=30)) is not None
    with store.write() as tx:
        assert tx.webhooks.due_ids(now, 10) == []
        assert tx.webhooks.claim(head, now, now + timedelta(seconds=30)) is None
    lapsed = now + timedelta(seconds=31)
    with store.write() as tx:
        assert tx.webhooks.due_ids(lapsed, 10) == [head]
        assert tx.webhooks.claim(head, lapsed, lapsed + timedelta(seconds=30)) is not None


def test_attempts_are_retried_then_delivered_and_logged(store: Store) -> None:
    hook = subscribed_to(store, "model.created")
    due = claim_next(store)
    assert attempt(store, due, delivered=False, retry_at=later(3600))
    with store.read() as tx:
        assert tx.webhooks.due_ids(later(), 10) == []  # backing off
        assert tx.webhooks.due_ids(later(3601), 10) == [due.id]
    with store.write() as tx:
        again = tx.webhooks.claim(due.id, later(3601), later(3700))
    assert again is not None and again.attempts == 1
    assert attempt(store, again, delivered=True, retry_at=None)
    with store.read() as tx:
        log = tx.webhooks.deliveries(hook.id, 10)
        assert tx.webhooks.deliveries(hook.id, 1) == log[:1]
        counts = tx.webhooks.outbox_counts(hook.id)
        assert tx.webhooks.due_ids(later(7200), 10) == []
    assert [(d.attempt, d.status_code, d.ok, d.error) for d in log] == [
        (2, 200, True, None),
        (1, 500, False, "HTTP 500"),
    ]
    assert {(d.delivery_id, d.event_type, d.duration_ms) for d in log} == {
        (due.id, "model.created", 1.5)
    }
    assert counts == {"pending": 0, "delivered": 1, "failed": 0}


def test_a_failed_row_lets_the_next_one_go(store: Store) -> None:
    hook = subscribed_to(store, "model.created", "model.updated")
    first = claim_next(store)
    assert attempt(store, first, delivered=False, retry_at=None)  # given up
    second = claim_next(store)
    assert second.id > first.id and second.event_type == "model.updated"
    with store.read() as tx:
        assert tx.webhooks.outbox_counts(hook.id) == {"pending": 1, "delivered": 0, "failed": 1}


def test_the_test_event_goes_to_one_subscription(store: Store) -> None:
    with store.write() as tx:
        one, other = subscribe(tx, ("version.*",)), subscribe(tx, ("*",))
        outbox_id = tx.webhooks.enqueue_test(one, seq=7, time=utcnow(), actor="alice")
    with store.read() as tx:
        assert tx.webhooks.outbox_counts(other.id)["pending"] == 0
        assert tx.webhooks.due_ids(later(), 10) == [outbox_id]
    due = claim_next(store)
    body = json.loads(due.payload)
    assert (due.webhook_id, due.event_type) == (one.id, "webhook.test")
    assert (body["event_seq"], body["subject"]) == (7, f"webhook:{one.id}")
    assert body["after"]["url"] == one.url


def test_deleting_a_subscription_takes_its_outbox_and_log(store: Store) -> None:
    hook = subscribed_to(store, "model.created", "model.updated")
    first = claim_next(store)
    assert attempt(store, first, delivered=True, retry_at=None)
    second = claim_next(store)
    with store.write() as tx:
        assert tx.webhooks.delete(hook.id)
    assert not attempt(store, second, delivered=True, retry_at=None)  # nothing left to log
    with store.read() as tx:
        assert tx.webhooks.deliveries(hook.id, 10) == []
        assert tx.webhooks.outbox_counts(hook.id) == {"pending": 0, "delivered": 0, "failed": 0}
        assert tx.webhooks.due_ids(later(), 10) == []
