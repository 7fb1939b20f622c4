"""Webhooks end to end on a live server: the receiver is down for 10 s and the server is
restarted in between; afterwards every event arrives exactly once, correctly signed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from modelyard import Client, Settings, verify_signature
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.live import free_port, live_server
from tests.support.receiver import Receiver


@pytest.mark.slow
def test_events_survive_a_receiver_outage_and_a_server_restart(
    tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    settings = Settings(home=tmp_path / "server-home")
    bootstrap(settings)
    receiver = Receiver()
    receiver.up()
    port = free_port()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        with (
            live_server(settings, port) as url,
            Client(tmp_path / "laptop", url=url, token=ADMIN_TOKEN) as remote,
        ):
            created = httpx.post(
                f"{url}/api/v1/webhooks",
                headers=auth,
                json={"url": f"{receiver.url}/hooks", "events": ["version.*", "alias.*"]},
            ).json()
            secret, hook = created["secret"], created["webhook"]["id"]
            receiver.down()
            down_at = time.monotonic()
            remote.register("payments", make_package())
            remote.register("payments", make_package())
            remote.set_alias("payments", "champion", 1)
            remote.set_alias("payments", "champion", 2)
            remote.archive("payments:1")
            time.sleep(3)  # attempts fail while it is down
        # the server is down now; it restarts on the same port, the receiver still down
        with live_server(settings, port) as url:
            time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
            receiver.up()
            deadline = time.monotonic() + 40
            while len(receiver.delivered) < 5 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.5)  # anything extra would show up now
            log = httpx.get(f"{url}/api/v1/webhooks/{hook}/deliveries", headers=auth).json()
    finally:
        receiver.down()
    delivered = receiver.delivered
    assert [r.event["type"] for r in delivered] == [
        "version.created",
        "version.created",
        "alias.set",
        "alias.moved",
        "version.archived",
    ]
    assert len({r.delivery for r in delivered}) == 5  # each exactly once
    assert delivered[3].event["before"] == {"version": 1}
    assert delivered[3].event["after"] == {"version": 2}
    for r in delivered:
        assert verify_signature(
            secret, r.headers["modelyard-timestamp"], r.body, r.headers["modelyard-signature"]
        )
    assert any(not d["ok"] for d in log) and sum(d["ok"] for d in log) == 5
