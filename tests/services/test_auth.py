"""Users, tokens and roles per environment, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard import Client, PermissionDenied
from modelyard.domain.auth import Permission, Principal, Role
from modelyard.domain.errors import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from modelyard.services.auth import AuthService, hash_secret


@pytest.fixture
def auth(client: Client) -> AuthService:
    return client._services.auth


ADMIN = Principal("root", is_admin=True)


def test_bootstrap_creates_an_admin_once(auth: AuthService) -> None:
    secret = auth.bootstrap(None)
    assert secret is not None and secret.startswith("myd_")
    assert auth.bootstrap(None) is None  # users exist: nothing more
    assert auth.authenticate(secret).is_admin


def test_bootstrap_takes_the_token_from_the_environment(auth: AuthService) -> None:
    assert auth.bootstrap("myd_fixed-token-for-ci-0000000000000000000") is None
    assert auth.authenticate("myd_fixed-token-for-ci-0000000000000000000").name == "admin"
    assert auth.bootstrap("myd_fixed-token-for-ci-0000000000000000000") is None  # idempotent


def test_tokens_are_shown_once_and_stored_as_hashes(auth: AuthService, client: Client) -> None:
    auth.create_user("dana", by=ADMIN)
    issued = auth.create_token(by=ADMIN, user="dana", name="laptop")
    assert auth.authenticate(issued.secret).name == "dana"
    with client._services.db.read() as session:
        stored = [
            r[0]
            for r in session.execute(
                __import__("sqlalchemy").text("select secret_hash from tokens")
            )
        ]
    assert issued.secret not in stored and hash_secret(issued.secret) in stored
    listed = auth.list_tokens(by=ADMIN, user="dana")
    assert [t.name for t in listed] == ["laptop"]
    assert not any(issued.secret in repr(t) for t in listed)
    auth.revoke_token(issued.token.id, by=ADMIN)
    with pytest.raises(Unauthenticated, match="token revoked"):
        auth.authenticate(issued.secret)
    with pytest.raises(Unauthenticated, match="invalid token"):
        auth.authenticate("myd_nope")
    with pytest.raises(Unauthenticated, match="missing credentials"):
        auth.authenticate(None)


def test_roles_are_per_environment(
    auth: AuthService, client: Client, make_package: Callable[..., Path]
) -> None:
    auth.create_user("dev", by=ADMIN)
    auth.grant("dev", "sandbox", "developer", by=ADMIN)
    auth.grant("dev", "production", "viewer", by=ADMIN)
    issued = auth.create_token(by=ADMIN, user="dev", name="ci")
    dev = auth.authenticate(issued.secret)
    assert dev.roles == {"sandbox": {Role.DEVELOPER}, "production": {Role.VIEWER}}
    assert dev.can(Permission.REGISTER, "sandbox")
    assert not dev.can(Permission.REGISTER, "production")
    registry = client._services.registry
    v = registry.register("payments", make_package(), actor=dev)
    assert v.created_by == "dev"
    with pytest.raises(
        PermissionDenied,
        match=r"user 'dev' may not register in 'production' "
        r"\(roles there: viewer\)",
    ):
        registry.register("production/payments", make_package(), actor=dev)
    with pytest.raises(PermissionDenied, match="may not delete in 'sandbox'"):
        registry.delete_version("payments:1", actor=dev)
    assert registry.list_models(actor=dev)[0].name == "payments"
    nobody = Principal("nobody")
    assert registry.list_models(actor=nobody) == []
    assert registry.search_versions("", actor=nobody).items == []
    with pytest.raises(PermissionDenied):
        registry.get_version("payments:1", actor=nobody)


def test_user_management_needs_an_installation_admin(auth: AuthService) -> None:
    auth.create_user("eve", by=ADMIN)
    eve = Principal("eve", roles={"sandbox": frozenset({Role.ADMIN})})
    with pytest.raises(PermissionDenied, match="needs an installation admin"):
        auth.create_user("mallory", by=eve)
    with pytest.raises(PermissionDenied):
        auth.grant("eve", "production", "admin", by=eve)
    with pytest.raises(AlreadyExists):
        auth.create_user("eve", by=ADMIN)
    with pytest.raises(InvalidInput, match="unknown role 'boss'"):
        auth.grant("eve", "sandbox", "boss", by=ADMIN)
    with pytest.raises(NotFound, match="unknown environment 'staging'"):
        auth.grant("eve", "staging", "viewer", by=ADMIN)
    with pytest.raises(NotFound, match="has no role"):
        auth.revoke("eve", "sandbox", "viewer", by=ADMIN)
    # a user manages their own tokens
    own = auth.create_token(by=eve, name="mine")
    assert own.token.user == "eve"
    with pytest.raises(PermissionDenied):
        auth.create_token(by=eve, user="admin", name="theirs")
