"""Nothing unauthenticated is read, and nothing unbounded.

FastAPI reads and parses a route's JSON body before it runs the route's dependencies, the
token check among them: a 300 MB body from anyone was read and parsed. So:

- ``BodyGuard`` looks up the caller's token before a control-plane request's body is
  read; a request without valid credentials is answered 401 (or 429) unread.
- Every body has a limit, enforced by FastAPI's ``max_body_size`` (413 past it): every
  control-plane router is included with ``MODELYARD_MAX_BODY_BYTES``; the sign-in form
  takes ``MAX_FORM``; routes that check their caller first and then bound their body
  themselves (the scoring data plane per deployment, uploads spooled to disk, the
  streamed package files) say ``UNBOUNDED`` and enforce their own limit.
- Starlette answers a body whose declared length is past the limit with a plain-text 413;
  ``BodyGuard`` gives that answer the one error shape.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelyard.api.dataplane import bearer
from modelyard.api.deps import identify
from modelyard.api.errors import answer_error, error_body, too_large
from modelyard.domain.errors import ModelyardError

UNBOUNDED = 1 << 62  # the route bounds its body itself, after checking its caller
MAX_FORM = 4096  # the sign-in form: one token

CONTROL_PLANE = "/api/v1/"
_BODILESS = {"GET", "HEAD", "OPTIONS"}


class BodyGuard:
    """Authenticate a control-plane request that carries a body before anything reads it
    (the route's own dependency then finds the caller in the token cache), and shape
    Starlette's plain-text 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS:
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(CONTROL_PLANE):
            request = Request(scope)
            try:
                await identify(request, bearer(request.headers.get("authorization")))
            except ModelyardError as e:
                status, headers, body = answer_error(e)
                await _answer(send, status, body, headers)
                return
        await self.app(scope, receive, _shaping_413(scope, send))


def _shaping_413(scope: Scope, send: Send) -> Send:
    replacing = False

    async def shaped(message: Message) -> None:
        nonlocal replacing
        if message["type"] == "http.response.start" and message["status"] == 413:
            types = [v for k, v in message.get("headers", []) if k.lower() == b"content-type"]
            replacing = not types or types[0].startswith(b"text/plain")
            if replacing:
                body = error_body("payload_too_large", too_large(scope))
                await _answer(send, 413, body, {})
                return
        if replacing:
            return  # the plain-text body, replaced above
        await send(message)

    return shaped


async def _answer(send: Send, status: int, body: object, headers: dict[str, str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                # the body was not read: the connection cannot carry another request
                (b"connection", b"close"),
                *((k.lower().encode(), v.encode()) for k, v in headers.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": orjson.dumps(body)})
