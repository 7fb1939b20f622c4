"""Schemathesis against /openapi.json of a live server: as the admin, no 5xx and every
response matches the documented schema; without credentials and as a viewer, no 5xx, and
without credentials no success on any route that is not public."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from modelyard import Client, Settings
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.api.test_error_shape import OPEN
from tests.support.live import live_server


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    settings = Settings(home=home, actor="admin")
    bootstrap(settings)
    with Client(settings=settings) as c:
        # something to find, alias and break
        pkg = home.parent / "pkg"
        pkg.mkdir()
        (pkg / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return []\n")
        from modelyard.flavors.package import write_manifest

        write_manifest(pkg, flavor="python", entrypoint="score.py")
        c.register("payments", pkg, tags={"team": "risk"}, metrics={"f1": 0.7})
        # and a real model behind a deployment, for the scoring routes
        import numpy as np
        import pandas as pd
        from sklearn.linear_model import LogisticRegression

        x = pd.DataFrame({"amount": np.arange(40.0), "group": ["a", "b"] * 20})
        model = LogisticRegression().fit(x[["amount"]], np.arange(40) % 3)
        c.log_model(model, "scorer", input_example=x[["amount"]])
        c.create_deployment("payments", ["scorer:1"])
        c.create_user("vera")
        c.grant("vera", "sandbox", "viewer")
        (home.parent / "viewer").write_text(c.create_token("fuzz", user="vera").secret)
    with live_server(settings) as url:
        # its deployment loads in a model worker: fuzz a server that is ready
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the fuzzed server never became ready"
            time.sleep(0.05)
        yield url


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_server: str) -> Any:
    # the one-request upload takes a tar archive: send whatever bytes were generated (a
    # non-archive must get the one error body, like any other mistake)
    @schemathesis.serializer("application/x-tar")
    def tar(context: Any, value: Any) -> bytes:
        return value if isinstance(value, bytes) else str(value).encode()

    return schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json")


@pytest.mark.slow
def test_api_never_fails_and_matches_its_schema(fuzz_schema: Any) -> None:
    """Every operation, up to 25 generated requests each; failures are collected so one
    run reports all of them."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    failures: list[str] = []
    calls = 0
    for result in fuzz_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=headers)
            # every check but "positive data acceptance": some rules (a filter's grammar, a
            # name already taken) cannot be written in JSON Schema, and their refusal is a
            # documented 4xx with the canonical body, which the other checks do verify
            case.validate_response(response, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Exception as e:
            first = str(e).strip().splitlines()[0]
            failures.append(f"{operation.method.upper()} {operation.path}: {first}")
    assert calls > 100
    assert failures == []


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["nobody", "viewer"])
def test_without_credentials_or_as_a_viewer_nothing_fails(
    fuzz_schema: Any, fuzz_server: str, caller: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every operation, up to 10 generated requests each: never a 5xx; without
    credentials, never a 2xx outside the public routes."""
    headers: dict[str, str] = {"Authorization": ""}
    if caller == "viewer":
        secret = next(tmp_path_factory.getbasetemp().glob("fuzz*/viewer")).read_text()
        headers = {"Authorization": f"Bearer {secret}"}
    failures: list[str] = []
    calls: list[int] = []

    def runner(operation: Any) -> Any:
        protected = not (operation.path in OPEN or operation.path.startswith("/v2/health"))

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            calls.append(1)
            response = case.call(headers=headers)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.status_code}"
            if caller == "nobody" and protected:
                assert response.status_code >= 400, f"{where}: {response.status_code}"

        return run

    for result in fuzz_schema.get_all_operations():
        operation = result.ok()
        try:
            runner(operation)()
        except Exception as e:
            first = str(e).strip().splitlines()[0]
            failures.append(f"{operation.method.upper()} {operation.path}: {first}")
    assert len(calls) > 100, failures[:3]
    assert failures == []
