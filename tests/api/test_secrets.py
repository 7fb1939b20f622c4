"""No token or webhook secret appears in any log line or error body of a full scenario."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from modelyard import Client, PermissionDenied, Settings, Unauthenticated
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.live import live_server


def test_secrets_stay_out_of_logs_and_errors(
    tmp_path: Path, make_package: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level: uvicorn, httpx, modelyard
    settings = Settings(home=tmp_path / "server-home")
    bootstrap(settings)
    secrets: list[str] = [ADMIN_TOKEN]
    bodies: list[str] = []
    with live_server(settings) as url:
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with Client(tmp_path / "a", url=url, token=ADMIN_TOKEN) as admin:
            admin.create_user("dev")
            admin.grant("dev", "sandbox", "developer")
            dev_token = admin.create_token("ci", user="dev").secret
            secrets.append(dev_token)
            hook = httpx.post(
                f"{url}/api/v1/webhooks",
                headers=auth,
                json={"url": "http://127.0.0.1:9/hooks", "events": ["*"]},
            ).json()
            secrets.append(hook["secret"])
            admin.register("payments", make_package())
            keys = admin.create_deployment("pay", ["payments:1"]).new_keys
            secrets += keys.values()
            secrets += admin.regenerate_key("pay", "secondary").new_keys.values()
            for key in (keys["primary"], keys["primary"][:-1] + "x"):
                scored = httpx.post(
                    f"{url}/v1/deployments/pay/predict",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"inputs": [{"x": 1}]},
                    timeout=60,  # the first waits for the new deployment's model to load
                )
                bodies.append(scored.text)
            bodies.append(httpx.get(f"{url}/api/v1/deployments", headers=auth).text)
        with Client(tmp_path / "b", url=url, token=dev_token) as dev:
            dev.set_alias("payments", "champion", 1)
            with pytest.raises(PermissionDenied) as denied:
                dev.delete_version("payments:1")
            bodies.append(denied.value.message)
        for token in (dev_token[:-1] + "x", ADMIN_TOKEN + "x", "not-a-token"):
            with Client(tmp_path / "c", url=url, token=token) as bad:
                with pytest.raises(Unauthenticated) as refused:
                    bad.list_models()
                bodies.append(refused.value.message)
            r = httpx.get(f"{url}/api/v1/models", headers={"Authorization": f"Bearer {token}"})
            bodies.append(r.text)
        bodies.append(httpx.get(f"{url}/api/v1/tokens", headers=auth).text)
        bodies.append(httpx.get(f"{url}/api/v1/webhooks", headers=auth).text)
        bodies.append(httpx.get(f"{url}/api/v1/audit", headers=auth, params={"limit": 1000}).text)
    logged = caplog.text
    assert len(caplog.records) > 10  # the scenario did log
    assert len(secrets) == 6
    for secret in secrets:
        assert secret not in logged
        for body in bodies:
            assert secret not in body


def test_no_part_of_a_token_or_key_is_stored_or_listed(
    tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    """Only hashes identify a secret: the database and every listing hold nothing of it
    but its kind (``myd_``, ``myk_``)."""
    settings = Settings(home=tmp_path / "home", actor="alice")
    with Client(settings=settings) as c:
        c.create_user("dev")
        token = c.create_token("ci", user="dev").secret
        c.register("payments", make_package())
        keys = c.create_deployment("pay", ["payments:1"]).new_keys
        keys |= c.regenerate_key("pay", "secondary").new_keys
        listed = repr(c.list_tokens()) + repr(c.get_deployment("pay").keys)
    database = b"".join(p.read_bytes() for p in (tmp_path / "home").glob("modelyard.db*"))
    for secret in (token, *keys.values()):
        body = secret[4:]  # what follows the kind
        for part in {body[i : i + 6] for i in range(len(body) - 5)}:
            assert part.encode() not in database, f"{secret[:4]}… is stored in part"
            assert part not in listed, f"{secret[:4]}… is listed in part"
