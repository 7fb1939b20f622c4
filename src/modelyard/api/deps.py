"""Request dependencies: the app's services and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from modelyard.domain.auth import Principal
from modelyard.services.container import Services

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
    return svc.auth.authenticate(credentials.credentials if credentials else None)


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
