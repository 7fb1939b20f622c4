"""Webhooks reach public addresses only: loopback, link-local, private and unspecified
targets are refused when a webhook is created (embedded and over HTTP) and again before
each delivery, unless an operator allows their range."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard import Client, InvalidInput, Settings
from modelyard.services.container import Services
from modelyard.services.dispatcher import WebhookDispatcher
from modelyard.services.egress import Egress
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.live import live_server
from tests.support.receiver import Receiver

INTERNAL = [
    ("http://127.0.0.1:5432/", "127.0.0.1", "loopback"),
    ("http://localhost:8600/api", "127.0.0.1", "loopback"),
    ("http://[::1]/", "::1", "loopback"),
    ("http://2130706433/", "127.0.0.1", "loopback"),  # 127.0.0.1 as a decimal number
    ("http://0.0.0.0:8600/", "0.0.0.0", "unspecified"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "link-local"),
    ("https://10.1.2.3/hook", "10.1.2.3", "private"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1", "loopback"),
]


@pytest.fixture(params=["embedded", "remote"])
def strict(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    """A client on a home whose server allows no internal range."""
    settings = Settings(home=tmp_path / "home", actor="alice", webhook_allow="")
    if request.param == "embedded":
        with Client(settings=settings) as c:
            yield c
        return
    bootstrap(settings)
    with live_server(settings) as url, Client(url=url, token=ADMIN_TOKEN) as c:
        yield c


@pytest.mark.parametrize(("url", "address", "kind"), INTERNAL, ids=[u for u, _, _ in INTERNAL])
def test_a_webhook_to_an_internal_address_is_refused(
    strict: Client, url: str, address: str, kind: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        strict.create_webhook(url, ["*"])
    message = str(refused.value)
    assert (
        f"is {address}, a{'n' if kind == 'unspecified' else ''} {kind} address" in message
        and "MODELYARD_WEBHOOK_ALLOW" in message
    )
    assert strict.list_webhooks() == []


def test_an_allowed_range_is_reached_and_checked_again_at_each_delivery(
    tmp_path: Path, receiver: Receiver, make_package: object
) -> None:
    settings = Settings(home=tmp_path / "home", actor="alice", webhook_allow="127.0.0.0/8")
    services = Services.open(settings)
    try:
        hooks = services.local().webhooks
        hook = hooks.create_webhook(f"{receiver.url}/events", ["*"]).webhook
        with Client(settings=settings) as c:
            c.register("payments", make_package())  # type: ignore[operator]
        # the operator takes the range back: the next delivery is refused before it connects
        with WebhookDispatcher(services.store, egress=Egress()) as dispatcher:
            assert dispatcher.run_once() >= 1
        assert receiver.requests == []
        (entry, *_) = hooks.list_webhook_deliveries(hook.id)
        assert entry.status_code is None and "a loopback address" in (entry.error or "")
        # allowed again: delivered, to the address that was checked
        with WebhookDispatcher(
            services.store, egress=Egress.from_text("127.0.0.0/8"), backoff_base=0.01
        ) as dispatcher:
            deadline = time.monotonic() + 10
            while not receiver.delivered and time.monotonic() < deadline:
                dispatcher.run_once()
                time.sleep(0.05)
        assert receiver.delivered
        assert receiver.delivered[0].headers["host"] == receiver.url.removeprefix("http://")
    finally:
        services.close()


def test_a_bad_range_is_one_line() -> None:
    with pytest.raises(ValueError, match="'nope' is not an address range"):
        Settings(webhook_allow="10.0.0.0/8, nope")
