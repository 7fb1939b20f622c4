"""Users, roles and API tokens: who may do what (installation admins manage them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from modelyard.domain.auth import IssuedToken, Principal, Token, User


class Access(Protocol):
    def whoami(self) -> Principal:
        """The caller: its name, whether it is an installation admin, its roles."""
        ...

    def create_user(self, name: str, *, is_admin: bool = False) -> User:
        """A new user with no roles (an installation admin when ``is_admin``)."""
        ...

    def list_users(self) -> list[User]:
        """Every user and their roles per environment."""
        ...

    def grant(self, user: str, environment: str, role: str) -> User:
        """Give ``user`` a role (viewer, developer, deployer, approver, scorer, admin) in an
        environment."""
        ...

    def revoke(self, user: str, environment: str, role: str) -> User:
        """Take a role away."""
        ...

    def create_token(
        self, name: str, *, user: str | None = None, expires_in_days: int | None = None
    ) -> IssuedToken:
        """A new API token for the caller (or, for an admin, another ``user``); its secret
        is in the result and is never shown again. The embedded client acts as the local
        admin, who is not a registry user, so it must name ``user``."""
        ...

    def list_tokens(self, *, user: str | None = None) -> list[Token]:
        """The caller's tokens (an admin: everyone's, or one user's)."""
        ...

    def revoke_token(self, token_id: int) -> Token:
        """Revoke a token at once."""
        ...
