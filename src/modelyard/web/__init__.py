"""The pages the server shows: Jinja2 templates rendered on the server, one stylesheet,
no script of our own yet (so the Content-Security-Policy allows none inline).

``Pages`` holds one app's template environment (made with the app: no module state) and
answers a page with the headers every page has: no caching, no framing, the policy.

Forms carry a CSRF token (double submit): a random value in an HttpOnly, SameSite=Strict
cookie and the same value in a hidden field; a POST whose two differ is refused. The
session cookie (``POST /login``) is HttpOnly, SameSite=Strict, and Secure when the page
was reached over HTTPS.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

STATIC = Path(__file__).with_name("static")
CSRF_COOKIE = "modelyard_csrf"
CSRF_FIELD = "csrf"
#: Everything from this server; no script, style or frame from anywhere else, none inline.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class Pages:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("modelyard.web", "templates"),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """``template`` with ``context`` and the form token; the headers every page has."""
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        body = self.env.get_template(template).render(csrf=token, **context)
        response = HTMLResponse(body, status_code=status, headers=HEADERS)
        if request.cookies.get(CSRF_COOKIE) != token:
            set_cookie(request, response, CSRF_COOKIE, token)
        return response


HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": POLICY,
}


def set_cookie(request: Request, response: Any, name: str, value: str) -> None:
    """HttpOnly, SameSite=Strict, Secure over HTTPS: scripts never read it, other sites
    never send it."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def form_is_ours(request: Request, form: dict[str, list[str]]) -> bool:
    """The form's token equals the cookie's (both present): it came from our page."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = (form.get(CSRF_FIELD) or [""])[0]
    return bool(cookie) and hmac.compare_digest(cookie.encode(), given.encode())
