"""Webhooks: the outbox is written with the change, deliveries are signed, retried with
backoff and survive a restart, on SQLite and PostgreSQL, against a real loopback receiver."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from modelyard import Client, InvalidInput, NotFound, PermissionDenied
from modelyard.domain.auth import Principal
from modelyard.domain.clock import utcnow
from modelyard.domain.webhooks import sign, verify_signature
from modelyard.services.container import Services
from modelyard.services.dispatcher import WebhookDispatcher, backoff_delay
from modelyard.services.egress import Egress
from modelyard.services.webhooks import WebhookService
from modelyard.store.audit import AuditLog
from modelyard.store.database import Database
from modelyard.store.tables import WebhookOutboxRow
from modelyard.store.unit import Store
from tests.support.receiver import Received, Receiver

# -- a real receiver on loopback ------------------------------------------------------------

LOOPBACK = Egress.from_text("127.0.0.0/8")  # the test receivers listen there


@pytest.fixture
def hooks(services: Services) -> WebhookService:
    """Webhook subscriptions as the home's local admin (``alice``, as ``client`` is)."""
    return services.local().webhooks


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def drain(dispatcher: WebhookDispatcher, rounds: int = 50) -> None:
    """Run the dispatcher until nothing is due (each round sends one event per subscriber)."""
    for _ in range(rounds):
        if dispatcher.run_once() == 0:
            return
    raise AssertionError("the outbox did not drain")


def outbox(db: Database) -> list[tuple[int, str, dict[str, Any]]]:
    with db.read() as session:
        rows = session.execute(
            sa.select(
                WebhookOutboxRow.webhook_id, WebhookOutboxRow.event_type, WebhookOutboxRow.payload
            ).order_by(WebhookOutboxRow.id)
        ).all()
    return [(r.webhook_id, r.event_type, json.loads(r.payload)) for r in rows]


def check_signed(received: Received, secret: str) -> None:
    h = received.headers
    assert h["content-type"] == "application/json"
    assert h["modelyard-event"] == received.event["type"]
    assert verify_signature(
        secret, h["modelyard-timestamp"], received.body, h["modelyard-signature"], tolerance=60
    )


# -- the outbox is written with the change ----------------------------------------------------


def test_events_are_queued_in_the_transaction_of_the_change(
    client: Client,
    services: Services,
    hooks: WebhookService,
    make_package: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = hooks.create_webhook("http://127.0.0.1:9/hook", ["*"]).webhook
    real_append = AuditLog.append

    def crash_after_version_event(log: AuditLog, **event: Any) -> int:
        seq = real_append(log, **event)
        if event["action"] == "version.created":
            raise RuntimeError("crash after the audit event, before the commit")
        return seq

    monkeypatch.setattr(AuditLog, "append", crash_after_version_event)
    with pytest.raises(RuntimeError, match="crash after the audit event"):
        client.register("payments", make_package())
    assert outbox(services.db) == []  # model.created and version.created rolled back with it
    monkeypatch.undo()

    client.register("payments", make_package())
    assert [(w, t) for w, t, _ in outbox(services.db)] == [
        (hook.id, "model.created"),
        (hook.id, "version.created"),
    ]


def test_patterns_and_environments_choose_the_subscribers(
    client: Client, services: Services, hooks: WebhookService, make_package: Callable[..., Path]
) -> None:
    versions = hooks.create_webhook("http://127.0.0.1:9/a", ["version.*"]).webhook
    moved = hooks.create_webhook("http://127.0.0.1:9/b", ["alias.moved"]).webhook
    prod = hooks.create_webhook("http://127.0.0.1:9/c", ["*"], environment="production").webhook
    everything = hooks.create_webhook("http://127.0.0.1:9/d", ["*"]).webhook
    sandbox = hooks.create_webhook(
        "http://127.0.0.1:9/e", ["model.created", "version.created"], environment="sandbox"
    ).webhook
    client.register("payments", make_package())
    client.register("payments", make_package())
    client.set_alias("payments", "champion", 1)
    client.set_alias("payments", "champion", 2)
    client.register("production/payments", make_package())
    client.create_user("dana")

    got: dict[int, list[str]] = {}
    for webhook_id, event_type, _ in outbox(services.db):
        got.setdefault(webhook_id, []).append(event_type)
    assert got[versions.id] == ["version.created"] * 3
    assert got[moved.id] == ["alias.moved"]
    assert got[prod.id] == ["model.created", "version.created"]
    assert got[everything.id] == [
        "model.created",
        "version.created",
        "version.created",
        "alias.set",
        "alias.moved",
        "model.created",
        "version.created",
        "user.created",  # no environment: only subscriptions without one
    ]  # and no webhook.* events: subscription changes are not routed
    assert got[sandbox.id] == ["model.created", "version.created", "version.created"]
    envs = {p["environment"] for w, _, p in outbox(services.db) if w == prod.id}
    assert envs == {"production"}


def test_deployment_events_reach_their_subscribers(
    client: Client, services: Services, hooks: WebhookService, make_package: Callable[..., Path]
) -> None:
    deployments = hooks.create_webhook("http://127.0.0.1:9/d", ["deployment.*"]).webhook
    client.register("payments", make_package())
    client.register("payments", make_package())
    secrets = list(client.create_deployment("pay", ["payments:1"]).new_keys.values())
    client.update_deployment("pay", ["payments:2"])
    client.rollback_deployment("pay")
    secrets += client.regenerate_key("pay", "primary").new_keys.values()
    client.delete_deployment("pay")
    events = [(e, p) for w, e, p in outbox(services.db) if w == deployments.id]
    assert [e for e, _ in events] == [
        "deployment.created",
        "deployment.updated",
        "deployment.rolled_back",
        "deployment.keys_regenerated",
        "deployment.deleted",
    ]
    updated = events[1][1]
    assert updated["environment"] == "sandbox"
    assert updated["before"]["variants"][0]["model"] == "payments:1"
    assert updated["after"]["variants"][0]["model"] == "payments:2"
    payloads = json.dumps([p for _, p in events])
    assert len(secrets) == 3 and not any(secret in payloads for secret in secrets)


# -- delivery --------------------------------------------------------------------------------


def test_deliveries_are_signed_ordered_and_carry_the_change(
    client: Client,
    services: Services,
    hooks: WebhookService,
    receiver: Receiver,
    make_package: Callable[..., Path],
) -> None:
    created = hooks.create_webhook(f"{receiver.url}/events", ["*"])
    hook, secret = created.webhook, created.secret
    assert secret.startswith("whsec_")
    client.register("payments", make_package())
    client.register("payments", make_package())
    client.set_alias("payments", "champion", 1)
    client.set_alias("payments", "champion", 2)
    with WebhookDispatcher(services.store, egress=LOOPBACK) as dispatcher:
        drain(dispatcher)

    got = receiver.delivered
    assert [r.event["type"] for r in got] == [
        "model.created",
        "version.created",
        "version.created",
        "alias.set",
        "alias.moved",
    ]
    seqs = [r.event["event_seq"] for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for r in got:
        assert r.path == "/events"
        check_signed(r, secret)
        assert r.headers["user-agent"].startswith("modelyard-webhooks/")
    moved = got[-1].event
    assert moved == {
        "event_seq": moved["event_seq"],
        "type": "alias.moved",
        "time": moved["time"],
        "actor": "alice",
        "subject": "alias:sandbox/payments@champion",
        "environment": "sandbox",
        "before": {"version": 1},
        "after": {"version": 2},
        "webhook_id": hook.id,
    }
    # a tampered body, another secret, another timestamp or a stale one do not verify
    h = got[-1].headers
    ts, sig = h["modelyard-timestamp"], h["modelyard-signature"]
    assert not verify_signature(secret, ts, got[-1].body + b" ", sig)
    assert not verify_signature("whsec_other-secret-000000", ts, got[-1].body, sig)
    assert not verify_signature(secret, str(int(ts) + 1), got[-1].body, sig)
    assert not verify_signature(secret, ts, got[-1].body, sig.removeprefix("sha256="))
    old = int(ts) - 3600
    assert verify_signature(secret, old, got[-1].body, sign(secret, old, got[-1].body))
    assert not verify_signature(
        secret, old, got[-1].body, sign(secret, old, got[-1].body), tolerance=300
    )
    log = hooks.list_webhook_deliveries(hook.id)
    assert len(log) == 5 and all(d.ok and d.attempt == 1 for d in log)
    assert {str(d.delivery_id) for d in log} == {r.delivery for r in got}
    assert hooks.webhook_stats(hook.id) == {"pending": 0, "delivered": 5, "failed": 0}


def test_failed_attempts_are_retried_with_backoff_and_logged(
    client: Client,
    services: Services,
    hooks: WebhookService,
    receiver: Receiver,
    make_package: Callable[..., Path],
) -> None:
    created = hooks.create_webhook(receiver.url, ["version.created"])
    hook, secret = created.webhook, created.secret
    receiver.statuses = [500, 500, 503]
    client.register("payments", make_package())
    dispatcher = WebhookDispatcher(
        services.store, egress=LOOPBACK, poll_interval=0.01, backoff_base=0.1, backoff_cap=5.0
    )
    dispatcher.start()
    try:
        wait_for(lambda: len(receiver.delivered) == 1)
    finally:
        assert dispatcher.stop()
    assert [r.status for r in receiver.requests] == [500, 500, 503, 200]
    assert len({r.delivery for r in receiver.requests}) == 1  # one stable delivery id
    for r in receiver.requests:
        check_signed(r, secret)
    gaps = [b.at - a.at for a, b in itertools.pairwise(receiver.requests)]
    for attempt, gap in enumerate(gaps, start=1):
        assert gap >= 0.9 * 0.1 * 2 ** (attempt - 1) - 0.01  # base * 2**(n-1), -10% jitter
    log = list(reversed(hooks.list_webhook_deliveries(hook.id)))
    assert [(d.attempt, d.status_code, d.ok) for d in log] == [
        (1, 500, False),
        (2, 500, False),
        (3, 503, False),
        (4, 200, True),
    ]
    assert log[0].error == "HTTP 500"  # the reply's body ("ok") is never shown
    assert all(d.event_type == "version.created" and d.duration_ms >= 0 for d in log)


def test_an_event_fails_for_good_after_max_attempts_and_the_next_goes_on(
    client: Client,
    services: Services,
    hooks: WebhookService,
    receiver: Receiver,
    make_package: Callable[..., Path],
) -> None:
    hook = hooks.create_webhook(receiver.url, ["version.created"]).webhook
    receiver.statuses = [500, 500, 500]
    client.register("payments", make_package())
    client.register("payments", make_package())
    dispatcher = WebhookDispatcher(
        services.store, egress=LOOPBACK, max_attempts=3, backoff_base=0.01, backoff_cap=0.02
    )
    with dispatcher:
        wait_for(lambda: (dispatcher.run_once(), len(receiver.delivered))[1] == 1)
    # the first event was tried three times then given up; the second waited, in order
    assert [(r.event["after"]["digest"] != "", r.status) for r in receiver.requests] == [
        (True, 500),
        (True, 500),
        (True, 500),
        (True, 200),
    ]
    first, second = (r.event["event_seq"] for r in receiver.requests[2:])
    assert first < second
    assert hooks.webhook_stats(hook.id) == {"pending": 0, "delivered": 1, "failed": 1}
    assert [d.attempt for d in reversed(hooks.list_webhook_deliveries(hook.id))] == [1, 2, 3, 1]


def test_unreachable_receivers_are_logged_as_connection_errors(
    client: Client,
    services: Services,
    hooks: WebhookService,
    receiver: Receiver,
    make_package: Callable[..., Path],
) -> None:
    receiver.down()
    hook = hooks.create_webhook(receiver.url, ["*"]).webhook
    client.register("payments", make_package())
    with WebhookDispatcher(services.store, egress=LOOPBACK, backoff_base=60) as dispatcher:
        assert dispatcher.run_once() == 1  # model.created, tried; version.created waits
        assert dispatcher.run_once() == 0  # backing off
    (entry,) = hooks.list_webhook_deliveries(hook.id)
    assert entry.status_code is None and not entry.ok
    assert entry.error is not None and "Connect" in entry.error


# -- durability: the acceptance test ---------------------------------------------------------


def test_events_survive_a_receiver_outage_and_a_server_restart_exactly_once(
    client: Client,
    services: Services,
    hooks: WebhookService,
    receiver: Receiver,
    make_package: Callable[..., Path],
) -> None:
    """The receiver is down for ~3 s; the server (services + dispatcher) restarts in
    between. Every event arrives exactly once after recovery, signed, in order."""
    created = hooks.create_webhook(f"{receiver.url}/in", ["*"])
    hook, secret = created.webhook, created.secret
    receiver.down()
    went_down = time.monotonic()
    options: dict[str, Any] = {
        "poll_interval": 0.05,
        "backoff_base": 0.2,
        "backoff_cap": 1.0,
        "max_attempts": 100,
        "timeout": 2.0,
    }
    first = WebhookDispatcher(services.store, egress=LOOPBACK, **options)
    first.start()
    client.register("payments", make_package())
    client.register("payments", make_package())
    client.set_alias("payments", "champion", 1)
    client.set_alias("payments", "champion", 2)
    client.archive("payments:1")
    wait_for(lambda: len(hooks.list_webhook_deliveries(hook.id)) >= 2)
    assert first.stop()  # the server goes away...
    client.close()
    services.close()

    again = Services.open(services.settings)  # ...and comes back
    try:
        second = WebhookDispatcher(again.store, egress=LOOPBACK, **options)
        second.start()
        try:  # an event after the restart too
            again.local().registry.set_alias("payments", "stable", 2)
            time.sleep(max(0.0, 3.0 - (time.monotonic() - went_down)))
            assert receiver.requests == []
            receiver.up()  # on the same port
            wait_for(lambda: len(receiver.requests) >= 7, timeout=10)
            time.sleep(0.5)  # room for a duplicate to show up, if there were one
        finally:
            assert second.stop()
        again_hooks = again.local().webhooks
        log = again_hooks.list_webhook_deliveries(hook.id, limit=1000)
        stats = again_hooks.webhook_stats(hook.id)
        with again.db.read() as session:
            outbox_ids = set(
                session.scalars(
                    sa.select(WebhookOutboxRow.id).where(WebhookOutboxRow.webhook_id == hook.id)
                )
            )
    finally:
        again.close()

    got = receiver.requests
    assert len(got) == 7 and all(r.status == 200 for r in got)
    assert sorted(int(r.delivery) for r in got) == sorted(outbox_ids)  # each once
    assert [r.event["type"] for r in got] == [
        "model.created",
        "version.created",
        "version.created",
        "alias.set",
        "alias.moved",
        "version.archived",
        "alias.set",
    ]
    for r in got:
        check_signed(r, secret)
        assert r.path == "/in"
    assert got[4].event["before"] == {"version": 1} and got[4].event["after"] == {"version": 2}
    assert stats == {"pending": 0, "delivered": 7, "failed": 0}
    failures = [d for d in log if not d.ok]
    assert len(failures) >= 2 and all(d.status_code is None for d in failures)
    assert sum(d.ok for d in log) == 7


def test_two_dispatchers_send_each_event_once(
    client: Client,
    services: Services,
    hooks: WebhookService,
    receiver: Receiver,
    make_package: Callable[..., Path],
) -> None:
    secrets = {}
    for path in ("a", "b", "c"):
        created = hooks.create_webhook(f"{receiver.url}/{path}", ["*"])
        secrets[f"/{path}"] = created.secret
    for _ in range(3):
        client.register("payments", make_package())
    client.set_alias("payments", "champion", 1)
    client.set_alias("payments", "champion", 2)
    client.set_alias("payments", "champion", 3)
    expected = 3 * 7
    receiver.delay = 0.01
    other_db = Database(client.settings.database_url)  # another server worker's engine
    one = WebhookDispatcher(services.store, egress=LOOPBACK, poll_interval=0.01)
    two = WebhookDispatcher(Store(other_db), egress=LOOPBACK, poll_interval=0.01)
    one.start()
    two.start()
    try:
        wait_for(lambda: len(receiver.requests) >= expected)
        time.sleep(0.3)
    finally:
        assert one.stop() and two.stop()
        other_db.dispose()
    got = receiver.requests
    assert len(got) == expected and len({r.delivery for r in got}) == expected
    for path, secret in secrets.items():
        mine = [r for r in got if r.path == path]
        seqs = [r.event["event_seq"] for r in mine]
        assert len(mine) == 7 and seqs == sorted(seqs)  # in order per subscriber
        for r in mine:
            check_signed(r, secret)
    for hook in hooks.list_webhooks():
        assert [d.attempt for d in hooks.list_webhook_deliveries(hook.id)] == [1] * 7


def test_a_crashed_dispatchers_claim_expires(
    client: Client,
    services: Services,
    hooks: WebhookService,
    receiver: Receiver,
    make_package: Callable[..., Path],
) -> None:
    hooks.create_webhook(receiver.url, ["version.created"])
    client.register("payments", make_package())
    store = services.store
    with store.read() as tx:
        (row_id,) = tx.webhooks.due_ids(utcnow(), 10)
    now = utcnow()
    with store.write() as tx:  # a dispatcher claims the row, then dies
        assert tx.webhooks.claim(row_id, now, now + timedelta(seconds=0.5)) is not None
    with store.write() as tx:  # nobody else may claim it meanwhile
        assert tx.webhooks.claim(row_id, now, now + timedelta(seconds=0.5)) is None
    with WebhookDispatcher(store, egress=LOOPBACK) as dispatcher:
        assert dispatcher.run_once() == 0
        time.sleep(0.6)
        assert dispatcher.run_once() == 1
    assert [r.delivery for r in receiver.delivered] == [str(row_id)]


def test_a_subscription_deleted_during_a_delivery_is_gone_cleanly(
    client: Client,
    services: Services,
    hooks: WebhookService,
    receiver: Receiver,
    make_package: Callable[..., Path],
) -> None:
    hook = hooks.create_webhook(receiver.url, ["*"]).webhook
    client.register("payments", make_package())

    def delete_it() -> None:  # while the POST is in flight
        hooks.delete_webhook(hook.id)

    receiver.on_request = delete_it
    with WebhookDispatcher(services.store, egress=LOOPBACK) as dispatcher:
        assert dispatcher.run_once() == 1
        assert dispatcher.run_once() == 0
    assert len(receiver.requests) == 1
    assert hooks.list_webhooks() == [] and outbox(services.db) == []


def test_backoff_grows_to_the_cap_with_jitter() -> None:
    assert 0.9 <= backoff_delay(1, 1.0, 300.0) <= 1.1
    assert 7.2 <= backoff_delay(4, 1.0, 300.0) <= 8.8
    assert 270 <= backoff_delay(12, 1.0, 300.0) <= 330
    assert 270 <= backoff_delay(500, 1.0, 300.0) <= 330


# -- managing subscriptions ------------------------------------------------------------------


def test_the_test_event_goes_to_one_subscription(
    client: Client, services: Services, hooks: WebhookService, receiver: Receiver
) -> None:
    created = hooks.create_webhook(f"{receiver.url}/one", ["version.*"])
    one, secret = created.webhook, created.secret
    hooks.create_webhook(f"{receiver.url}/two", ["*"])
    delivery_id = hooks.test_webhook(one.id)
    with WebhookDispatcher(services.store, egress=LOOPBACK) as dispatcher:
        drain(dispatcher)
    (got,) = receiver.requests
    assert got.path == "/one" and got.delivery == str(delivery_id)
    assert got.headers["modelyard-event"] == "webhook.test"
    assert got.event["type"] == "webhook.test" and got.event["subject"] == f"webhook:{one.id}"
    check_signed(got, secret)
    (entry,) = hooks.list_webhook_deliveries(one.id)
    assert entry.ok and entry.delivery_id == delivery_id
    tested = client.audit(action="webhook.tested")
    assert [e.subject for e in tested] == [f"webhook:{one.id}"]


def test_subscriptions_are_validated_and_admin_only(
    services: Services, hooks: WebhookService
) -> None:
    bad_urls = ("ftp://x.org/a", "x.org/hook", "http://", "", "http://a b/", "http://h:99999/")
    for url in bad_urls:
        with pytest.raises(InvalidInput):
            hooks.create_webhook(url, ["*"])
    for events in ([], ["versions.*"], ["Version.created"], ["bogus"], "version.*", [""]):
        with pytest.raises(InvalidInput):
            hooks.create_webhook("https://example.com/hook", events)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="secret"):
        hooks.create_webhook("https://example.com/hook", ["*"], secret="short")
    with pytest.raises(NotFound, match="staging"):
        hooks.create_webhook("https://example.com/hook", ["*"], environment="staging")
    # future families are accepted before their events exist
    patterns = ["deployment.*", "promotion.approved", "version.*", "version.*"]
    later = hooks.create_webhook("https://example.com/hook", patterns).webhook
    assert later.events == ("deployment.*", "promotion.approved", "version.*")

    bob = services.bind(Principal("bob")).webhooks
    with pytest.raises(PermissionDenied, match="installation admin"):
        bob.create_webhook("https://example.com/hook", ["*"])
    for call in (
        bob.list_webhooks,
        lambda: bob.get_webhook(later.id),
        lambda: bob.delete_webhook(later.id),
        lambda: bob.test_webhook(later.id),
        lambda: bob.list_webhook_deliveries(later.id),
        lambda: bob.webhook_stats(later.id),
    ):
        with pytest.raises(PermissionDenied):
            call()
    for call in (
        lambda: hooks.get_webhook(999),
        lambda: hooks.delete_webhook(999),
        lambda: hooks.test_webhook(999),
        lambda: hooks.list_webhook_deliveries(999),
    ):
        with pytest.raises(NotFound, match="webhook 999"):
            call()
    with pytest.raises(InvalidInput, match="limit"):
        hooks.list_webhook_deliveries(later.id, limit=0)


def test_secrets_are_shown_once_and_urls_stay_out_of_the_audit_log(
    client: Client, services: Services, hooks: WebhookService, make_package: Callable[..., Path]
) -> None:
    created = hooks.create_webhook(
        "https://hooks.example.com/services/T000/SECRETPATH?token=abc",
        ["version.created"],
        secret="my-own-secret-0123456789",
    )
    assert created.secret == "my-own-secret-0123456789"
    assert "my-own-secret" not in repr(created) and "my-own-secret" not in repr(created.webhook)
    assert hooks.get_webhook(created.webhook.id) == created.webhook
    assert "my-own-secret" not in repr(hooks.list_webhooks())
    client.register("payments", make_package())
    assert len(outbox(services.db)) == 1

    deleted = hooks.delete_webhook(created.webhook.id)
    assert deleted == created.webhook
    assert hooks.list_webhooks() == [] and outbox(services.db) == []  # its queue goes with it
    events = client.audit(subject="webhook:")
    assert [e.action for e in events] == ["webhook.created", "webhook.deleted"]
    assert events[0].after == {
        "url": "https://hooks.example.com",
        "events": ["version.created"],
        "environment": None,
    }
    assert "SECRETPATH" not in repr(events)


@pytest.mark.slow
def test_every_event_type_the_docs_list_can_be_subscribed_to(hooks: WebhookService) -> None:
    page = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    table = page.split("## Event types")[1].split("\n\n")[2]
    listed = re.findall(r"`([a-z_]+\.[a-z_]+)`", table)
    assert "webhook.test" in listed and len(listed) > 30
    for event in listed:
        assert hooks.create_webhook("https://example.com/hook", [event]).webhook.events == (event,)
