"""Users, API tokens and roles per environment; authentication and authorization.

Tokens are ``myd_`` + 43 random URL-safe characters, shown once; only their sha256 is
stored. Every permission check in modelyard goes through ``AuthService.require`` (or
``Principal.can``) so the rule lives in one place.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

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
from modelyard.services import lookup
from modelyard.store.unit import Store

TOKEN_PREFIX = "myd_"
TOUCH_EVERY = timedelta(minutes=1)
CACHE_SECONDS = 5.0  # how long a process remembers a token that authenticated
CACHE_SIZE = 10_000
BOOTSTRAP_ADMIN = "admin"

_T = TypeVar("_T")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def kind_of(secret: str) -> str:
    """What a token's listing shows of it: its kind (``myd_``), no part that identifies it."""
    return TOKEN_PREFIX if secret.startswith(TOKEN_PREFIX) else ""


#: What a token an operator chooses must have: generated ones have 47 characters.
MIN_TOKEN_CHARS = 32
MIN_TOKEN_DISTINCT = 10


def check_strength(secret: str, what: str) -> None:
    """Refuse a secret that can be guessed: too short, or too few different characters."""
    if len(secret) < MIN_TOKEN_CHARS or len(set(secret)) < MIN_TOKEN_DISTINCT:
        raise InvalidInput(
            f"{what} is too weak: use at least {MIN_TOKEN_CHARS} characters, "
            f"{MIN_TOKEN_DISTINCT} of them different (e.g. python -c "
            "\"import secrets; print('myd_' + secrets.token_urlsafe(32))\")"
        )


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
    """Who a token belongs to, and the first admin of a new server (no caller yet).

    A token that authenticated is remembered for ``CACHE_SECONDS`` by this process, so a
    request costs no query: revoking a token, disabling its user or changing their roles
    takes effect within that time on every server worker."""

    def __init__(self, store: Store, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._known: dict[str, tuple[Principal, float]] = {}  # by token hash

    # -- authentication -----------------------------------------------------------------
    def forget(self) -> None:
        """Forget every remembered token (this process: a role or token just changed)."""
        self._known.clear()

    def cached(self, secret: str) -> Principal | None:
        """The principal of a token that authenticated moments ago, without a query."""
        found = self._known.get(hash_secret(secret))
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]

    def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token>'")
        known = self.cached(secret)
        if known is not None:
            return known
        principal = self._lookup(secret)
        if len(self._known) >= CACHE_SIZE:
            self._known.clear()
        self._known[hash_secret(secret)] = (principal, time.monotonic() + self.cache_seconds)
        return principal

    def _lookup(self, secret: str) -> Principal:
        with self.store.read() as tx:
            found = tx.access.credential(hash_secret(secret))
        if found is None:
            raise Unauthenticated("invalid token")
        token, user = found.token, found.user
        now = utcnow()
        if token.revoked_at is not None:
            raise Unauthenticated("token revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthenticated("token expired")
        if user.disabled:
            raise Unauthenticated(f"user {user.name!r} is disabled")
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            with self.store.write() as tx:
                tx.access.touch_token(token.id)
        return Principal(
            name=user.name,
            is_admin=user.is_admin,
            roles={env: frozenset(Role(r) for r in rs) for env, rs in user.roles.items()},
        )

    def bootstrap(self, admin_token: str | None) -> str | None:
        """On a server's first start: create the admin. Returns a generated secret to print
        once, or None when ``admin_token`` was given or users already exist."""
        generated: str | None = None
        if admin_token:
            check_strength(admin_token, "MODELYARD_ADMIN_TOKEN")
        with self.store.write() as tx:
            if admin_token:
                if tx.access.credential(hash_secret(admin_token)) is not None:
                    return None
                secret = admin_token
                user_id = tx.access.user_id(BOOTSTRAP_ADMIN)
                if user_id is None:
                    user_id = tx.access.add_user(BOOTSTRAP_ADMIN, True)
            elif tx.access.count_users() > 0:
                return None
            else:
                secret = generated = new_secret()
                user_id = tx.access.add_user(BOOTSTRAP_ADMIN, True)
            tx.access.add_token(user_id, "bootstrap", kind_of(secret), hash_secret(secret), None)
            tx.audit.append(
                actor="system", action="user.bootstrapped", subject=f"user:{BOOTSTRAP_ADMIN}"
            )
            return generated


class AccessService:
    """Users, roles and tokens, as one caller manages them."""

    def __init__(
        self, store: Store, principal: Principal, forget: Callable[[], None] = lambda: None
    ) -> None:
        self.store = store
        self.principal = principal
        self.forget = forget  # drops what this process remembers of tokens

    def whoami(self) -> Principal:
        return self.principal

    # -- users --------------------------------------------------------------------------
    def create_user(self, name: str, *, is_admin: bool = False) -> User:
        require_admin(self.principal, "create users")
        check_name(name, "user name")
        with self.store.write() as tx:
            if tx.access.user_id(name) is not None:
                raise AlreadyExists(f"user {name!r} already exists", user=name)
            tx.access.add_user(name, is_admin)
            tx.audit.append(
                actor=self.principal.name,
                action="user.created",
                subject=f"user:{name}",
                after={"is_admin": is_admin},
            )
            return _user(tx.access.user(name), name)

    def list_users(self) -> list[User]:
        require_admin(self.principal, "list users")
        with self.store.read() as tx:
            return tx.access.users()

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
        with self.store.write() as tx:
            user_id = _user(tx.access.user_id(name), name)
            lookup.check_environment(tx, environment)
            change = tx.access.bind if grant else tx.access.unbind
            changed = change(user_id, environment, chosen.value)
            if not changed and not grant:
                raise NotFound(f"user {name!r} has no role {role!r} in {environment!r}")
            if changed:
                self.forget()
                tx.audit.append(
                    actor=self.principal.name,
                    action="role.granted" if grant else "role.revoked",
                    subject=f"user:{name}",
                    after={"environment": environment, "role": chosen.value},
                )
            return _user(tx.access.user(name), name)

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
        with self.store.write() as tx:
            user_id = tx.access.user_id(owner)
            if user_id is None and user is None:
                raise InvalidInput(
                    f"{owner!r} is not a registry user (the embedded client acts as the local"
                    " admin): say which user the token is for"
                )
            user_id = _user(user_id, owner)
            token = tx.access.add_token(
                user_id, name, kind_of(secret), hash_secret(secret), expires
            )
            tx.audit.append(
                actor=self.principal.name,
                action="token.created",
                subject=f"token:{token.id}",
                after={"user": owner, "name": name},
            )
            return IssuedToken(token, secret)

    def list_tokens(self, *, user: str | None = None) -> list[Token]:
        with self.store.read() as tx:
            if self.principal.is_admin and user is None:
                return tx.access.tokens()
            owner = user or self.principal.name
            if owner != self.principal.name:
                require_admin(self.principal, "list another user's tokens")
            return tx.access.tokens(_user(tx.access.user_id(owner), owner))

    def revoke_token(self, token_id: int) -> Token:
        with self.store.write() as tx:
            token = tx.access.token(token_id)
            if token is None:
                raise NotFound(f"token {token_id} does not exist", token=token_id)
            if token.user != self.principal.name:
                require_admin(self.principal, "revoke another user's token")
            if not tx.access.revoke_token(token_id):
                return token  # revoked already
            self.forget()
            tx.audit.append(
                actor=self.principal.name,
                action="token.revoked",
                subject=f"token:{token_id}",
            )
            revoked = tx.access.token(token_id)
            assert revoked is not None
            return revoked


def _user(found: _T | None, name: str) -> _T:
    """The user (or their id) that was looked up by ``name``, or NotFound."""
    if found is None:
        raise NotFound(f"user {name!r} does not exist", user=name)
    return found
