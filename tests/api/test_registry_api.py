"""The control plane over HTTP: same rules, one error body."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from modelyard import Client


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert "\n" not in body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_health_and_readiness(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "deployments": "ok"}


def test_registry_flow(
    api: TestClient, embedded: Client, make_package: Callable[..., Path]
) -> None:
    for _ in range(2):
        embedded.register("payments", make_package(), metrics={"f1": 0.6}, tags={"team": "risk"})
    detail = api.get("/api/v1/models/sandbox/payments").json()
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    r = api.put("/api/v1/models/sandbox/payments/aliases/champion", json={"version": 1})
    assert r.json() == {
        "environment": "sandbox",
        "name": "payments",
        "alias": "champion",
        "version": 1,
        "previous_version": None,
    }
    r = api.put("/api/v1/models/sandbox/payments/aliases/champion", json={"version": 2})
    assert r.json()["previous_version"] == 1
    assert api.get("/api/v1/models/sandbox/payments/aliases/champion").json()["version"] == 2
    r = api.patch(
        "/api/v1/models/sandbox/payments/versions/1/tags",
        json={"set": {"stage": "old"}, "remove": ["team"]},
    )
    assert r.json()["tags"] == {"stage": "old"}
    r = api.post(
        "/api/v1/models/sandbox/payments/versions/1/metrics", json={"metrics": {"auc": 0.8}}
    )
    assert r.json()["metrics"] == {"f1": 0.6, "auc": 0.8}
    page = api.post(
        "/api/v1/versions/search", json={"filter": "metrics.f1 > 0.5", "order_by": ["version DESC"]}
    ).json()
    assert [v["ref"] for v in page["items"]] == ["sandbox/payments:2", "sandbox/payments:1"]
    assert (
        api.post("/api/v1/models/sandbox/payments/versions/1/archive", json={}).json()["status"]
        == "archived"
    )
    r = api.delete("/api/v1/models/sandbox/payments/versions/2")
    assert r.status_code == 409
    assert _error(r)["code"] == "has_dependents"
    assert api.delete("/api/v1/models/sandbox/payments/versions/1").status_code == 200
    events = api.get("/api/v1/audit", params={"subject": "alias:"}).json()
    assert [e["actor"] for e in events] == ["admin", "admin"]
    assert api.post("/api/v1/doctor").json()["ok"] is True


def test_errors_have_one_shape(
    api: TestClient, embedded: Client, make_package: Callable[..., Path]
) -> None:
    embedded.register("payments", make_package())
    cases = [
        (api.get("/api/v1/models/sandbox/nope"), 404, "not_found"),
        (api.get("/api/v1/models/sandbox/payments/versions/9"), 404, "not_found"),
        (api.get("/api/v1/models/staging/payments"), 404, "not_found"),
        (api.get("/api/v1/models/sandbox/bad%20name"), 422, "invalid_input"),
        (api.get("/api/v1/models/sandbox/payments/versions/zero"), 422, "invalid_input"),
        (api.post("/api/v1/versions/search", json={"filter": "name = "}), 400, "invalid_filter"),
        (api.post("/api/v1/versions/search", json={"bogus": 1}), 422, "invalid_input"),
        (
            api.put("/api/v1/models/sandbox/payments/aliases/latest", json={"version": 1}),
            400,
            "invalid_name",
        ),
        (api.get("/api/v1/nowhere"), 404, "not_found"),
        (api.delete("/healthz"), 405, "method_not_allowed"),
        (
            api.get("/api/v1/models", headers={"Authorization": "Bearer myd_wrong"}),
            401,
            "unauthenticated",
        ),
        (api.get("/api/v1/models", headers={"Authorization": ""}), 401, "unauthenticated"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert _error(response)["code"] == code
    bad = api.post("/api/v1/versions/search", json={"filter": "name = 'a' and and"})
    assert _error(bad)["details"]["position"] == 16


def test_roles_over_http(
    api: TestClient, embedded: Client, make_package: Callable[..., Path]
) -> None:
    embedded.register("payments", make_package())
    embedded.register("production/payments", make_package())
    assert api.post("/api/v1/users", json={"name": "dev"}).status_code == 201
    assert (
        api.post(
            "/api/v1/users/dev/roles", json={"environment": "sandbox", "role": "developer"}
        ).status_code
        == 200
    )
    issued = api.post("/api/v1/tokens", json={"name": "ci", "user": "dev"}).json()
    assert issued["secret"].startswith("myd_") and issued["token"]["user"] == "dev"
    dev = {"Authorization": f"Bearer {issued['secret']}"}
    assert api.get("/api/v1/whoami", headers=dev).json() == {
        "name": "dev",
        "is_admin": False,
        "roles": {"sandbox": ["developer"]},
    }
    ok = api.put(
        "/api/v1/models/sandbox/payments/aliases/champion", json={"version": 1}, headers=dev
    )
    assert ok.status_code == 200
    denied = api.put(
        "/api/v1/models/production/payments/aliases/champion", json={"version": 1}, headers=dev
    )
    assert denied.status_code == 403
    assert _error(denied)["message"] == (
        "user 'dev' may not register in 'production' (roles there: none)"
    )
    assert [m["full_name"] for m in api.get("/api/v1/models", headers=dev).json()] == [
        "sandbox/payments"
    ]
    assert api.get("/api/v1/users", headers=dev).status_code == 403
    listed = api.get("/api/v1/tokens", headers=dev).json()
    assert [t["name"] for t in listed] == ["ci"]
    assert issued["secret"] not in str(listed)
    assert api.delete(f"/api/v1/tokens/{issued['token']['id']}", headers=dev).status_code == 200
    assert api.get("/api/v1/whoami", headers=dev).status_code == 401
