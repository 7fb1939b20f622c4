"""Who may do what: roles per environment, the permissions they grant, and principals.

| role      | grants in its environment                                      |
|-----------|----------------------------------------------------------------|
| viewer    | read                                                           |
| developer | read, register versions, tag, alias, archive, score            |
| deployer  | read, deploy (create, update, roll back, delete, keys), score  |
| approver  | read, approve promotions into it                               |
| scorer    | score (and, for `modelyard serve`, read what its deployments serve) |
| admin     | everything in that environment, including deletes              |

A user flagged ``is_admin`` is an installation admin: every permission everywhere, plus
managing users, tokens, webhooks and the store (``doctor --gc``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    DEVELOPER = "developer"
    DEPLOYER = "deployer"
    APPROVER = "approver"
    SCORER = "scorer"  # a scoring-only credential: score, and follow what deployments serve
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"
    REGISTER = "register"  # new versions, tags, metrics, aliases, archive
    DELETE = "delete"
    DEPLOY = "deploy"
    APPROVE = "approve"
    SCORE = "score"  # call a deployment's scoring routes with a token


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.DEVELOPER: frozenset({Permission.READ, Permission.REGISTER, Permission.SCORE}),
    Role.DEPLOYER: frozenset({Permission.READ, Permission.DEPLOY, Permission.SCORE}),
    Role.APPROVER: frozenset({Permission.READ, Permission.APPROVE}),
    Role.SCORER: frozenset({Permission.SCORE}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a user (by name) with roles per environment."""

    name: str
    is_admin: bool = False
    roles: dict[str, frozenset[Role]] = field(default_factory=dict)

    def can(self, permission: Permission, environment: str) -> bool:
        if self.is_admin:
            return True
        return any(permission in GRANTS[r] for r in self.roles.get(environment, ()))


#: The server acting on its own behalf: schedulers, and writes a scoring key authorised.
SYSTEM = Principal(name="system", is_admin=True)


def local_admin(name: str) -> Principal:
    """The single user of an embedded home with no server."""
    return Principal(name=name, is_admin=True)


@dataclass(frozen=True, slots=True)
class User:
    name: str
    is_admin: bool
    disabled: bool
    roles: dict[str, tuple[str, ...]]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Token:
    """An API token's record; the secret itself is shown once and never stored."""

    id: int
    user: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: Token
    secret: str
