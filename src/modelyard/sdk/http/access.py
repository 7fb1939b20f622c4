"""Users, roles and tokens over HTTP."""

from __future__ import annotations

from modelyard.domain.auth import IssuedToken, Principal, Token, User
from modelyard.sdk.http.transport import Http


class HttpAccess:
    def __init__(self, http: Http) -> None:
        self.http = http

    def whoami(self) -> Principal:
        return self.http.get("/api/v1/whoami", Principal)

    def create_user(self, name: str, *, is_admin: bool = False) -> User:
        return self.http.post("/api/v1/users", User, {"name": name, "is_admin": is_admin})

    def list_users(self) -> list[User]:
        return self.http.get("/api/v1/users", list[User])

    def grant(self, user: str, environment: str, role: str) -> User:
        body = {"environment": environment, "role": role}
        return self.http.post(f"/api/v1/users/{user}/roles", User, body)

    def revoke(self, user: str, environment: str, role: str) -> User:
        return self.http.delete(f"/api/v1/users/{user}/roles/{environment}/{role}", User)

    def create_token(
        self, name: str, *, user: str | None = None, expires_in_days: int | None = None
    ) -> IssuedToken:
        body = {"name": name, "user": user, "expires_in_days": expires_in_days}
        return self.http.post("/api/v1/tokens", IssuedToken, body)

    def list_tokens(self, *, user: str | None = None) -> list[Token]:
        return self.http.get("/api/v1/tokens", list[Token], user=user)

    def revoke_token(self, token_id: int) -> Token:
        return self.http.delete(f"/api/v1/tokens/{token_id}", Token)
