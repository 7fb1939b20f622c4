"""``modelyard webhooks``: subscribe, test, read the delivery log and unsubscribe from the
CLI, against a live server delivering to a real receiver on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard import Settings
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.cli.conftest import Result
from tests.support.live import live_server
from tests.support.receiver import Receiver

Cli = Callable[..., Result]


def test_a_webhook_is_managed_and_tested_from_the_cli(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    settings = Settings(home=tmp_path / "server-home")
    bootstrap(settings)
    with live_server(settings) as url:
        monkeypatch.setenv("MODELYARD_URL", url)
        monkeypatch.setenv("MODELYARD_TOKEN", ADMIN_TOKEN)
        r = cli("webhooks", "create", f"{receiver.url}/hooks", "--event", "alert.*",
                "--event", "webhook.test", "--env", "production")  # fmt: skip
        assert r.code == 0, r.err
        secret = r.out.strip().splitlines()[-1]
        assert secret.startswith("whsec_")
        (hook,) = cli("webhooks", "list", "--json").json()
        assert (hook["events"], hook["environment"]) == (["alert.*", "webhook.test"], "production")
        assert "alert.*, webhook.test" in cli("webhooks", "list").out

        r = cli("webhooks", "test", str(hook["id"]))
        assert r.code == 0 and r.out.startswith("queued delivery ")
        deadline = time.monotonic() + 20
        while not receiver.delivered and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [d.event["type"] for d in receiver.delivered] == ["webhook.test"]
        while time.monotonic() < deadline:  # the log is written just after the POST answers
            (entry, *_) = cli("webhooks", "deliveries", str(hook["id"]), "--json").json() or [{}]
            if entry:
                break
            time.sleep(0.1)
        assert (entry["event_type"], entry["status_code"], entry["ok"]) == (
            "webhook.test",
            200,
            True,
        )
        assert "webhook.test" in cli("webhooks", "deliveries", str(hook["id"])).out

        assert cli("webhooks", "delete", str(hook["id"])).code == 0
        assert cli("webhooks", "list", "--json").json() == []
        r = cli("webhooks", "test", str(hook["id"]))
        assert (r.code, r.err) == (1, f"error: webhook {hook['id']} does not exist\n")
        r = cli("webhooks", "create", f"{receiver.url}/x", "--event", "versions.*")
        assert r.code == 1 and "matches no known event" in r.err
