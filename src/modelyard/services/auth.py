"""Users, API tokens and roles per environment; authentication and authorization.

Tokens are ``myd_`` + 43 random URL-safe characters, shown once; only their sha256 is
stored. Every permission check in modelyard goes through ``AuthService.require`` (or
``Principal.can``) so the rule lives in one place.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from modelyard.domain.auth import (
    IssuedToken,
    Permission,
    Principal,
    Role,
    Token,
    User,
)
from modelyard.domain.clock import utcnow
from modelyard.domain.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from modelyard.domain.names import check_name
from modelyard.store import auth as q
from modelyard.store.audit import AuditLog
from modelyard.store.database import Database
from modelyard.store.registry import Registry

TOKEN_PREFIX = "myd_"
TOUCH_EVERY = timedelta(minutes=1)
BOOTSTRAP_ADMIN = "admin"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def require(principal: Principal, permission: Permission, environment: str) -> None:
    """Raise ``PermissionDenied`` naming who, what and where, unless allowed."""
    if principal.can(permission, environment):
        return
    held = ", ".join(sorted(principal.roles.get(environment, ()))) or "none"
    raise PermissionDenied(
        f"user {principal.name!r} may not {permission.value} in {environment!r} "
        f"(roles there: {held})",
        user=principal.name,
        permission=permission.value,
        environment=environment,
    )


def require_admin(principal: Principal, what: str) -> None:
    if not principal.is_admin:
        raise PermissionDenied(
            f"user {principal.name!r} may not {what}: it needs an installation admin",
            user=principal.name,
        )


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def check_bind(host: str, auth: bool) -> None:
    """A server may run without authentication only where nobody else can reach it."""
    import ipaddress

    if auth:
        return
    loopback = host in LOOPBACK_HOSTS
    if not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
    if not loopback:
        raise PermissionDenied(
            f"refusing to serve {host} with MODELYARD_AUTH=false: authentication can be "
            "disabled only on a loopback address (127.0.0.1, ::1)",
            host=host,
        )


class Authenticator:
    """Who a token belongs to, and the first admin of a new server (no caller yet)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- authentication -----------------------------------------------------------------
    def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token>'")
        with self.db.read() as session:
            found = q.token_by_hash(session, hash_secret(secret))
            if found is None:
                raise Unauthenticated("invalid token")
            token, user = found
            now = utcnow()
            if token.revoked_at is not None:
                raise Unauthenticated("token revoked")
            if token.expires_at is not None and token.expires_at <= now:
                raise Unauthenticated("token expired")
            if user.disabled:
                raise Unauthenticated(f"user {user.name!r} is disabled")
            roles = q.roles_of(session, [user.id]).get(user.id, {})
            stale = token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY
        if stale:
            with self.db.write() as session:
                q.touch_token(session, token.id)
        return Principal(
            name=user.name,
            is_admin=user.is_admin,
            roles={env: frozenset(Role(r) for r in rs) for env, rs in roles.items()},
        )

    def bootstrap(self, admin_token: str | None) -> str | None:
        """On a server's first start: create the admin. Returns a generated secret to print
        once, or None when ``admin_token`` was given or users already exist."""
        with self.db.write() as session:
            if admin_token:
                if q.token_by_hash(session, hash_secret(admin_token)) is not None:
                    return None
                user = q.find_user(session, BOOTSTRAP_ADMIN) or q.add_user(
                    session, BOOTSTRAP_ADMIN, True
                )
                q.add_token(
                    session, user.id, "bootstrap", admin_token[:12], hash_secret(admin_token), None
                )
                AuditLog(session).append(
                    actor="system",
                    action="user.bootstrapped",
                    subject=f"user:{BOOTSTRAP_ADMIN}",
                )
                return None
            if q.count_users(session) > 0:
                return None
            secret = new_secret()
            user = q.add_user(session, BOOTSTRAP_ADMIN, True)
            q.add_token(session, user.id, "bootstrap", secret[:12], hash_secret(secret), None)
            AuditLog(session).append(
                actor="system",
                action="user.bootstrapped",
                subject=f"user:{BOOTSTRAP_ADMIN}",
            )
            return secret


class AccessService:
    """Users, roles and tokens, as one caller manages them."""

    def __init__(self, db: Database, principal: Principal) -> None:
        self.db = db
        self.principal = principal

    def whoami(self) -> Principal:
        return self.principal

    # -- users --------------------------------------------------------------------------
    def create_user(self, name: str, *, is_admin: bool = False) -> User:
        require_admin(self.principal, "create users")
        check_name(name, "user name")
        with self.db.write() as session:
            if q.find_user(session, name) is not None:
                raise AlreadyExists(f"user {name!r} already exists", user=name)
            row = q.add_user(session, name, is_admin)
            AuditLog(session).append(
                actor=self.principal.name,
                action="user.created",
                subject=f"user:{name}",
                after={"is_admin": is_admin},
            )
            return q.user_entities(session, [row])[0]

    def list_users(self) -> list[User]:
        require_admin(self.principal, "list users")
        with self.db.read() as session:
            return q.user_entities(session, q.list_users(session))

    def grant(self, user: str, environment: str, role: str) -> User:
        return self._binding(user, environment, role, grant=True)

    def revoke(self, user: str, environment: str, role: str) -> User:
        return self._binding(user, environment, role, grant=False)

    def _binding(self, name: str, environment: str, role: str, *, grant: bool) -> User:
        require_admin(self.principal, "grant or revoke roles")
        try:
            chosen = Role(role)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidInput(f"unknown role {role!r} (known: {known})", role=role) from None
        with self.db.write() as session:
            user = q.find_user(session, name)
            if user is None:
                raise NotFound(f"user {name!r} does not exist", user=name)
            if not Registry(session).environment_exists(environment):
                raise NotFound(f"unknown environment {environment!r}", environment=environment)
            changed = (q.bind if grant else q.unbind)(session, user.id, environment, chosen.value)
            if not changed and not grant:
                raise NotFound(f"user {name!r} has no role {role!r} in {environment!r}")
            if changed:
                AuditLog(session).append(
                    actor=self.principal.name,
                    action="role.granted" if grant else "role.revoked",
                    subject=f"user:{name}",
                    after={"environment": environment, "role": chosen.value},
                )
            return q.user_entities(session, [user])[0]

    # -- tokens -------------------------------------------------------------------------
    def create_token(
        self,
        name: str,
        *,
        user: str | None = None,
        expires_in_days: int | None = None,
    ) -> IssuedToken:
        owner = user or self.principal.name
        if owner != self.principal.name:
            require_admin(self.principal, "create tokens for another user")
        if not name or len(name) > 128:
            raise InvalidInput("a token needs a name of 1-128 characters")
        if expires_in_days is not None and expires_in_days < 1:
            raise InvalidInput("expires_in_days must be at least 1")
        expires: datetime | None = (
            utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        )
        secret = new_secret()
        with self.db.write() as session:
            row = q.find_user(session, owner)
            if row is None:
                raise NotFound(f"user {owner!r} does not exist", user=owner)
            token = q.add_token(session, row.id, name, secret[:12], hash_secret(secret), expires)
            AuditLog(session).append(
                actor=self.principal.name,
                action="token.created",
                subject=f"token:{token.id}",
                after={"user": owner, "name": name},
            )
            return IssuedToken(q.token_entity(token, owner), secret)

    def list_tokens(self, *, user: str | None = None) -> list[Token]:
        with self.db.read() as session:
            if self.principal.is_admin and user is None:
                return q.list_tokens(session, None)
            owner = user or self.principal.name
            if owner != self.principal.name:
                require_admin(self.principal, "list another user's tokens")
            row = q.find_user(session, owner)
            if row is None:
                raise NotFound(f"user {owner!r} does not exist", user=owner)
            return q.list_tokens(session, row.id)

    def revoke_token(self, token_id: int) -> Token:
        with self.db.write() as session:
            from modelyard.store.tables import TokenRow, UserRow

            token = session.get(TokenRow, token_id)
            owner = session.get(UserRow, token.user_id) if token is not None else None
            if token is None or owner is None:
                raise NotFound(f"token {token_id} does not exist", token=token_id)
            if owner.name != self.principal.name:
                require_admin(self.principal, "revoke another user's token")
            if token.revoked_at is None:
                token.revoked_at = utcnow()
                AuditLog(session).append(
                    actor=self.principal.name,
                    action="token.revoked",
                    subject=f"token:{token_id}",
                )
            session.flush()
            return q.token_entity(token, owner.name)
