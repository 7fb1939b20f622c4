"""The landing page at ``/`` (``web/templates/overview.html``): deployments with their
health in this worker, models, pending promotion requests and firing alerts, with links
to ``/docs`` and ``/metrics``.

Reading it needs the same credentials as the API. A browser cannot send a bearer header,
so ``POST /login`` takes a token from a form and keeps it in an HttpOnly, SameSite=Strict
cookie that only the pages read (the API routes ignore cookies, so there is nothing to
forge across sites); ``POST /logout`` forgets it. Both forms carry a CSRF token
(``modelyard.web``).
"""

from __future__ import annotations

from typing import Any
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
from modelyard.web import Pages, form_is_ours, set_cookie

router = APIRouter(include_in_schema=False)
COOKIE = "modelyard_token"
EXPIRED = "This form has expired: the page was reloaded, sign in again."


def _services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _pages(request: Request) -> Pages:
    found: Pages = request.app.state.pages
    return found


async def _principal(request: Request) -> Principal | None:
    secret = bearer(request.headers.get("authorization")) or request.cookies.get(COOKIE)
    if not secret and _services(request).settings.auth:
        return None
    try:
        return await identify(request, secret)
    except Unauthenticated:
        return None


def _overview(request: Request, who: Principal) -> dict[str, Any]:
    api = _services(request).bind(who)
    runtime = getattr(request.app.state, "runtime", None)
    deployments = []
    for d in api.deployments.list_deployments():
        live = runtime.deployments.get(d.name) if runtime is not None else None
        ready = live is not None and live.revision == d.revision.number
        building = runtime is not None and runtime.building(d.name) is not None
        deployments.append(
            {
                "name": d.name,
                "environment": d.environment,
                "serving": ", ".join(f"{v.name}={v.weight:g}%" for v in d.revision.live),
                "revision": d.revision.number,
                "state": "ready" if ready else "building" if building else "loading",
            }
        )
    models = [
        [
            m.full_name,
            m.latest_version or "-",
            ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())),
        ]
        for m in api.registry.list_models()
    ]
    pending = [
        [r.id, r.source, r.target_environment, f"{len(r.approvals)} of {r.required_approvals}",
         r.requested_by]
        for r in api.promotions.list_promotion_requests(state="pending")
    ]  # fmt: skip
    alerts = [[a.deployment, a.rule, a.message] for a in api.alerts.list_alerts(state="firing")]
    return {
        "who": who.name,
        "deployments": deployments,
        "models": models,
        "pending": pending,
        "alerts": alerts,
    }


def _login(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    return _pages(request).render(request, "login.html", status, error=error, signed_in=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    who = await _principal(request)
    if who is None:
        return _login(request)
    found = await run_in_threadpool(_overview, request, who)
    signed_in = _services(request).settings.auth
    return _pages(request).render(request, "overview.html", signed_in=signed_in, **found)


@router.post("/login", max_body_size=MAX_FORM)
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    brake = request.app.state.brake  # a braked address is refused before anything is read
    brake.check(request.client.host if request.client else None)
    if not form_is_ours(request, form):
        return _login(request, EXPIRED, status=403)
    token = (form.get("token") or [""])[0].strip()
    try:
        await identify(request, token or None)
    except Unauthenticated:
        return _login(request, "That token is not valid.", status=401)
    response = RedirectResponse("/", status_code=303)
    set_cookie(request, response, COOKIE, token)
    return response


@router.post("/logout", max_body_size=MAX_FORM)
async def logout(request: Request) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    if not form_is_ours(request, form):
        return _login(request, EXPIRED, status=403)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
