"""The landing page at ``/``: plain HTML, no script. Deployments with their health in this
worker, models, pending promotion requests and firing alerts, with links to ``/docs`` and
``/metrics``. A full dashboard comes later.

Reading it needs the same credentials as the API. A browser cannot send a bearer header,
so ``POST /login`` takes a token from a form and keeps it in an HttpOnly, SameSite=Strict
cookie that only this page reads (the API routes ignore cookies, so there is nothing to
forge across sites); ``POST /logout`` forgets it.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from modelyard.api.dataplane import bearer
from modelyard.api.deps import identify
from modelyard.api.limits import MAX_FORM
from modelyard.domain.auth import Principal
from modelyard.domain.errors import Unauthenticated
from modelyard.services.container import Services

router = APIRouter(include_in_schema=False)
COOKIE = "modelyard_token"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>modelyard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }}
table {{ border-collapse: collapse; margin: .5rem 0 1.5rem; width: 100%; }}
th, td {{ text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; }}
.ok {{ color: #176b2c; }} .bad {{ color: #a11; }} nav a {{ margin-right: 1rem; }}
</style></head><body>
<h1>modelyard</h1>
<nav><a href="/docs">API docs</a><a href="/metrics">metrics</a>
<a href="/openapi.json">OpenAPI</a>{logout}</nav>
{body}
</body></html>"""

_LOGIN = """<p>Sign in with an API token to see deployments, models and requests.</p>
<form method="post" action="/login">
<label>token <input type="password" name="token" autocomplete="off" size="50"></label>
<button type="submit">sign in</button></form>{error}"""


def _services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def _principal(request: Request) -> Principal | None:
    secret = bearer(request.headers.get("authorization")) or request.cookies.get(COOKIE)
    if not secret and _services(request).settings.auth:
        return None
    try:
        return await identify(request, secret)
    except Unauthenticated:
        return None


def _table(columns: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<p>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _content(request: Request, who: Principal) -> str:
    api = _services(request).bind(who)
    runtime = getattr(request.app.state, "runtime", None)
    e = html.escape
    deployments = []
    for d in api.deployments.list_deployments():
        live = runtime.deployments.get(d.name) if runtime is not None else None
        ready = live is not None and live.revision == d.revision.number
        building = runtime is not None and runtime.building(d.name) is not None
        waiting = "building" if building else "loading"
        state = '<span class="ok">ready</span>' if ready else f'<span class="bad">{waiting}</span>'
        serving = ", ".join(f"{v.name}={v.weight:g}%" for v in d.revision.live)
        deployments.append([e(d.name), e(d.environment), e(serving), str(d.revision.number), state])
    models = [
        [
            e(m.full_name),
            str(m.latest_version or "-"),
            e(", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items()))),
        ]
        for m in api.registry.list_models()
    ]
    pending = [
        [
            str(r.id),
            e(r.source),
            e(r.target_environment),
            f"{len(r.approvals)} of {r.required_approvals}",
            e(r.requested_by),
        ]
        for r in api.promotions.list_promotion_requests(state="pending")
    ]
    alerts = [
        [e(a.deployment), e(a.rule), e(a.message)] for a in api.alerts.list_alerts(state="firing")
    ]
    return (
        f"<p>signed in as {e(who.name)}</p>"
        "<h2>Deployments</h2>"
        + _table(
            ["name", "environment", "serving", "revision", "this worker"], deployments, "none yet"
        )
        + "<h2>Models</h2>"
        + _table(["model", "latest", "aliases"], models, "none yet")
        + "<h2>Pending promotion requests</h2>"
        + _table(["id", "version", "to", "approvals", "requested by"], pending, "none")
        + "<h2>Firing alerts</h2>"
        + _table(["deployment", "rule", "message"], alerts, "none")
    )


def _page(body: str, *, signed_in: bool, status: int = 200) -> HTMLResponse:
    logout = (
        '<form method="post" action="/logout" style="display:inline">'
        '<button type="submit">sign out</button></form>'
        if signed_in
        else ""
    )
    return HTMLResponse(
        _PAGE.format(body=body, logout=logout),
        status_code=status,
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    who = await _principal(request)
    if who is None:
        return _page(_LOGIN.format(error=""), signed_in=False)
    body = await run_in_threadpool(_content, request, who)
    return _page(body, signed_in=_services(request).settings.auth)


@router.post("/login", max_body_size=MAX_FORM)
async def login(request: Request) -> Response:
    raw = await request.body()
    token = parse_qs(raw.decode(errors="replace")).get("token", [""])[0].strip()
    try:
        await identify(request, token or None)
    except Unauthenticated:
        error = '<p class="bad">That token is not valid.</p>'
        return _page(_LOGIN.format(error=error), signed_in=False, status=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
