"""``/api/v1/users`` and ``/api/v1/tokens``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from modelyard.api.deps import ScopeDep
from modelyard.api.schemas import errors
from modelyard.domain.auth import IssuedToken, Token, User
from modelyard.wire.access import GrantBody, TokenBody, UserBody

router = APIRouter(prefix="/api/v1", tags=["users"], responses=errors(400, 401, 403, 404, 422))

UserName = Annotated[str, Path(max_length=128)]


@router.post("/users", response_model=User, status_code=201, responses=errors(409))
def create_user(body: UserBody, api: ScopeDep) -> User:
    return api.access.create_user(body.name, is_admin=body.is_admin)


@router.get("/users", response_model=list[User])
def list_users(api: ScopeDep) -> list[User]:
    return api.access.list_users()


@router.post("/users/{user}/roles", response_model=User)
def grant(user: UserName, body: GrantBody, api: ScopeDep) -> User:
    return api.access.grant(user, body.environment, body.role)


@router.delete("/users/{user}/roles/{environment}/{role}", response_model=User)
def revoke(
    user: UserName,
    environment: Annotated[str, Path(max_length=128)],
    role: Annotated[str, Path(max_length=16)],
    api: ScopeDep,
) -> User:
    return api.access.revoke(user, environment, role)


@router.post("/tokens", response_model=IssuedToken, status_code=201)
def create_token(body: TokenBody, api: ScopeDep) -> IssuedToken:
    return api.access.create_token(body.name, user=body.user, expires_in_days=body.expires_in_days)


@router.get("/tokens", response_model=list[Token])
def list_tokens(
    api: ScopeDep, user: Annotated[str | None, Query(max_length=128)] = None
) -> list[Token]:
    return api.access.list_tokens(user=user)


@router.delete("/tokens/{token_id}", response_model=Token)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**62)], api: ScopeDep) -> Token:
    return api.access.revoke_token(token_id)
