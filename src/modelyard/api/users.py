"""``/api/v1/users`` and ``/api/v1/tokens``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from modelyard.api.deps import PrincipalDep, ServicesDep
from modelyard.api.schemas import (
    GrantIn,
    IssuedTokenOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    errors,
)

router = APIRouter(prefix="/api/v1", tags=["users"], responses=errors(400, 401, 403, 404, 422))

UserName = Annotated[str, Path(max_length=128)]


@router.post("/users", response_model=UserOut, status_code=201, responses=errors(409))
def create_user(body: UserIn, svc: ServicesDep, who: PrincipalDep) -> UserOut:
    return UserOut.from_entity(svc.auth.create_user(body.name, by=who, is_admin=body.is_admin))


@router.get("/users", response_model=list[UserOut])
def list_users(svc: ServicesDep, who: PrincipalDep) -> list[UserOut]:
    return [UserOut.from_entity(u) for u in svc.auth.list_users(by=who)]


@router.post("/users/{name}/roles", response_model=UserOut)
def grant(name: UserName, body: GrantIn, svc: ServicesDep, who: PrincipalDep) -> UserOut:
    return UserOut.from_entity(svc.auth.grant(name, body.environment, body.role, by=who))


@router.delete("/users/{name}/roles/{environment}/{role}", response_model=UserOut)
def revoke(
    name: UserName,
    environment: Annotated[str, Path(max_length=128)],
    role: Annotated[str, Path(max_length=16)],
    svc: ServicesDep,
    who: PrincipalDep,
) -> UserOut:
    return UserOut.from_entity(svc.auth.revoke(name, environment, role, by=who))


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201)
def create_token(body: TokenIn, svc: ServicesDep, who: PrincipalDep) -> IssuedTokenOut:
    issued = svc.auth.create_token(
        by=who, name=body.name, user=body.user, expires_in_days=body.expires_in_days
    )
    return IssuedTokenOut(token=TokenOut.from_entity(issued.token), secret=issued.secret)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(
    svc: ServicesDep,
    who: PrincipalDep,
    user: Annotated[str | None, Query(max_length=128)] = None,
) -> list[TokenOut]:
    return [TokenOut.from_entity(t) for t in svc.auth.list_tokens(by=who, user=user)]


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**62)], svc: ServicesDep, who: PrincipalDep
) -> TokenOut:
    return TokenOut.from_entity(svc.auth.revoke_token(token_id, by=who))
