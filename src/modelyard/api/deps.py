"""Request dependencies: the app's services and the calling principal."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from modelyard.domain.auth import Principal
from modelyard.services.container import Services
from modelyard.services.scope import Scope

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer myd_…`")


# The dependencies are ``async``: FastAPI runs a plain ``def`` dependency in a worker
# thread, a hop per dependency per request. Only a token not seen moments ago costs a query,
# and that one runs in a worker thread.
def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def _services(request: Request) -> Services:
    return services(request)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    svc = services(request)
    if not svc.settings.auth:
        return Principal(name="anonymous", is_admin=True)
    secret = credentials.credentials if credentials else None
    known = svc.authenticator.cached(secret) if secret else None
    if known is not None:
        return known
    return await run_in_threadpool(svc.authenticator.authenticate, secret)


async def scope(request: Request, caller: Annotated[Principal, Depends(principal)]) -> Scope:
    """Every service, bound to the caller of this request."""
    return services(request).bind(caller)


ServicesDep = Annotated[Services, Depends(_services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
ScopeDep = Annotated[Scope, Depends(scope)]


SPOOL_IN_MEMORY = 8 << 20


@contextlib.asynccontextmanager
async def spooled_body(request: Request, svc: Services) -> AsyncIterator[IO[bytes]]:
    """The request body in a temporary file (in memory up to 8 MiB): memory stays bounded
    whatever the upload's size. Positioned at the start."""
    with tempfile.SpooledTemporaryFile(
        max_size=SPOOL_IN_MEMORY, mode="w+b", dir=str(svc.settings.resolved_home)
    ) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        yield spool
