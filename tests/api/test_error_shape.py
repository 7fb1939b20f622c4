"""Every route answers every mistake with the one error body (datasette learned to pin this):
``{"error": {"code", "message", "details"}}``, a 4xx status, one line of message; the Open
Inference Protocol routes (``/v2/...``) with that protocol's ``{"error": "<message>"}``.

The routes are read from the app's own OpenAPI document, so a new route is covered
without a line here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from modelyard import Settings
from modelyard.api import create_app
from tests.api.conftest import ADMIN_TOKEN, bootstrap

#: Routes anyone may call: they answer without credentials.
OPEN = {"/healthz", "/readyz", "/", "/login", "/logout", "/v2/health/live"}
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("shape") / "home", actor="alice")
    bootstrap(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def routes() -> list[tuple[str, str]]:
    """Every (method, path) the OpenAPI document lists."""
    paths = create_app(Settings(home=Path("/nonexistent"))).openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


def concrete(path: str) -> str:
    """The path with every parameter set to something that does not exist."""
    return PARAMETER.sub(
        lambda m: "999999" if m.group(1).endswith(("_id", "version")) else "no-such-thing", path
    )


def check(response: httpx.Response, what: str) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    body = response.json()
    assert set(body) == {"error"}, f"{what}: {body}"
    error = body["error"]
    if response.url.path.startswith("/v2/"):  # the V2 protocol's shape: one message
        assert isinstance(error, str) and error and "\n" not in error, f"{what}: {body}"
        return {"message": error}
    assert set(error) == {"code", "message", "details"}, f"{what}: {error}"
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z_]+", error["code"]), what
    assert isinstance(error["message"], str) and error["message"], what
    assert "\n" not in error["message"], f"{what}: the message is not one line"
    assert isinstance(error["details"], dict), what
    return error


ROUTES = routes()


def test_the_app_has_the_routes_we_think() -> None:
    assert len(ROUTES) > 60
    assert ("POST", "/v1/deployments/{name}/predict") in ROUTES


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_without_credentials(http: TestClient, method: str, path: str) -> None:
    if path in OPEN or path.startswith("/v2/health"):
        return
    response = http.request(method, concrete(path), headers={"Authorization": ""})
    error = check(response, f"{method} {path} without credentials")
    # the same answer whether the named thing exists or not: a name cannot be guessed
    assert response.status_code == 401
    assert error.get("code", "unauthenticated") == "unauthenticated"


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_with_a_bad_token(http: TestClient, method: str, path: str) -> None:
    if path in OPEN or path.startswith("/v2/health"):
        return
    response = http.request(
        method, concrete(path), headers={"Authorization": "Bearer myd_not-a-real-token"}
    )
    check(response, f"{method} {path} with a bad token")
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_with_nonsense(http: TestClient, method: str, path: str) -> None:
    """As the admin, on things that do not exist, with a body that fits nothing."""
    if path in OPEN or path.startswith("/v2/health") or ("{" not in path and method == "GET"):
        return
    response = http.request(
        method,
        concrete(path),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        content=b'{"no_such_field": [1, 2, 3]}' if method in ("POST", "PUT", "PATCH") else None,
    )
    if response.status_code >= 400:  # some routes rightly accept it (an empty list...)
        check(response, f"{method} {path} with nonsense")


def test_an_unknown_route_and_a_wrong_method(http: TestClient) -> None:
    check(http.get("/api/v1/no-such-route"), "unknown route")
    check(http.delete("/healthz"), "wrong method")
