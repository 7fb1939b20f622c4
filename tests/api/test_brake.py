"""A brake on guessing credentials: after the limit of failed authentications in a minute,
one client address gets 429 with Retry-After on the API, ``POST /login`` and scoring, even
with a valid token, until the minute has passed; other addresses are not affected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from modelyard import Client, Settings
from modelyard.api.brake import WINDOW_SECONDS, Brake
from modelyard.domain.errors import TooManyRequests
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.live import live_server

LIMIT = 5


def test_each_route_that_authenticates_brakes_after_the_limit(
    tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    settings = Settings(home=tmp_path / "home", auth_failures_per_minute=LIMIT)
    bootstrap(settings)
    with Client(settings=settings) as c:
        c.register("payments", make_package())
        c.create_deployment("pay", ["payments:1"])
    good = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    bad = {"Authorization": "Bearer myd_guess-0000000000000000000000000000000"}
    with live_server(settings) as url, httpx.Client(base_url=url) as http:
        assert http.get("/api/v1/whoami", headers=good).status_code == 200  # now remembered
        for _ in range(LIMIT):
            assert http.get("/api/v1/models", headers=bad).status_code == 401
        refused = http.get("/api/v1/models", headers=bad)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["retry-after"]) <= WINDOW_SECONDS
        # the address is braked everywhere, before any credential is looked at
        guess = "myd_other-guess-00000000000000000000000000000"
        assert http.post("/login", data={"token": guess}).status_code == 429
        assert http.post("/api/v1/users", json={"name": "x"}, headers=bad).status_code == 429
        score = http.post("/v1/deployments/pay/predict", json={"inputs": [{}]}, headers=bad)
        assert score.status_code == 429
        v2 = http.post("/v2/models/pay/infer", json={"inputs": []}, headers=bad)
        assert v2.status_code == 429 and "too many failed" in v2.json()["error"]
        # a token that authenticated moments ago (remembered, no lookup) still works
        assert http.get("/api/v1/whoami", headers=good).status_code == 200


def test_the_brake_counts_per_address_and_forgets_after_a_minute() -> None:
    now = [1000.0]
    brake = Brake(3, clock=lambda: now[0])
    for _ in range(3):
        brake.check("10.0.0.1")
        brake.failed("10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        brake.check("10.0.0.1")
    assert refused.value.details["retry_after"] == 60
    brake.check("10.0.0.2")  # another address is not affected
    now[0] += 30
    with pytest.raises(TooManyRequests, match="retry in 30 s"):
        brake.check("10.0.0.1")
    now[0] += 30.5
    brake.check("10.0.0.1")  # the failures are a minute old: forgotten
