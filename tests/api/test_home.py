"""The landing page: a sign-in form without credentials; with a token (header, or the
cookie ``POST /login`` sets) the deployments, models, pending requests and alerts."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from modelyard import Client, Settings
from modelyard.api import create_app
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.serving.conftest import wait_ready
from tests.support.live import live_server


def test_the_landing_page(tmp_path, trained_model, payments_frame) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path / "home", actor="alice", poll_seconds=0.1)
    x = payments_frame.drop(columns="label")
    bootstrap(settings)
    with Client(settings=settings) as c:
        c.log_model(trained_model, "payments", input_example=x.head())
        c.set_alias("payments", "champion", 1)
        c.create_deployment("pay", ["payments:1"])
        c.set_gates("production", approvals=1)
        c.promote("sandbox/payments:1", to="production")
    with TestClient(create_app(settings)) as http:
        http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        wait_ready(http)
        del http.headers["Authorization"]
        anonymous = http.get("/")
        assert anonymous.status_code == 200 and 'action="/login"' in anonymous.text
        assert "payments" not in anonymous.text  # nothing without credentials
        assert "script-src 'self'" in anonymous.headers["content-security-policy"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', anonymous.text)
        assert csrf is not None and http.cookies["modelyard_csrf"] == csrf.group(1)
        form = {"content-type": "application/x-www-form-urlencoded"}

        # a form from elsewhere (no token, or another) is refused before the token is read
        for forged in (f"token={ADMIN_TOKEN}", f"token={ADMIN_TOKEN}&csrf=forged"):
            r = http.post("/login", content=forged.encode(), headers=form)
            assert r.status_code == 403 and "expired" in r.text
            assert "modelyard_token" not in r.headers.get("set-cookie", "")

        bad = http.post(
            "/login", content=f"token=myd_wrong&csrf={csrf.group(1)}".encode(), headers=form
        )
        assert (
            bad.status_code == 401
            and "not valid" in bad.text
            and "modelyard_token" not in bad.headers.get("set-cookie", "")
        )

        ok = http.post(
            "/login",
            content=f"token={ADMIN_TOKEN}&csrf={csrf.group(1)}".encode(),
            headers=form,
            follow_redirects=False,
        )
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # plain HTTP here: a Secure cookie would not come back
        page = http.get("/")
        assert page.status_code == 200
        for shown in (
            "sandbox/payments",
            "champion→1",
            "pay",
            "payments:1=100%",
            "ready",
            "sandbox/payments:1",
            "0 of 1",
            "/docs",
            "/metrics",
        ):
            assert shown in page.text, shown
        assert page.headers["cache-control"] == "no-store"
        # the API itself never accepts the cookie
        assert http.get("/api/v1/models").status_code == 401
        assert http.post("/logout", follow_redirects=False).status_code == 403  # no token
        out = http.post(
            "/logout", content=f"csrf={csrf.group(1)}".encode(), headers=form,
            follow_redirects=False,
        )  # fmt: skip
        assert out.status_code == 303
        http.cookies.clear()
        assert 'action="/login"' in http.get("/").text


def test_the_api_docs_load_everything_from_the_server_itself(tmp_path: Path) -> None:
    """/docs and /redoc work on a machine with no internet: no script, style sheet or icon
    comes from a CDN."""
    settings = Settings(home=tmp_path / "home")
    bootstrap(settings)
    with live_server(settings) as url, httpx.Client(base_url=url) as http:
        for page in ("/docs", "/redoc"):
            html = http.get(page)
            assert html.status_code == 200
            assets = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html.text)
            assert assets and all(a.startswith("/") for a in assets), assets
            for asset in assets:
                got = http.get(asset)
                assert got.status_code == 200 and len(got.content) > 0, asset
        assert "SwaggerUIBundle" in http.get("/docs/static/swagger-ui-bundle.js").text
