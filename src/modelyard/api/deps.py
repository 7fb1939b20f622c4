"""Request dependencies: the app's services and the calling principal."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from modelyard.domain.auth import Principal
from modelyard.services.container import Services
from modelyard.services.scope import Scope

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer myd_…`")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    svc = services(request)
    if not svc.settings.auth:
        return Principal(name="anonymous", is_admin=True)
    return svc.authenticator.authenticate(credentials.credentials if credentials else None)


def scope(request: Request, caller: Annotated[Principal, Depends(principal)]) -> Scope:
    """Every service, bound to the caller of this request."""
    return services(request).bind(caller)


ServicesDep = Annotated[Services, Depends(services)]
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
