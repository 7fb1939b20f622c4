"""Users, tokens and roles per environment, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from modelyard import PermissionDenied
from modelyard.domain.auth import Permission, Principal, Role
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from modelyard.services.auth import AccessService, Authenticator, hash_secret
from modelyard.services.container import Services
from modelyard.services.registry import RegistryService

ADMIN = Principal("root", is_admin=True)


@pytest.fixture
def auth(services: Services) -> Authenticator:
    return services.authenticator


@pytest.fixture
def access(services: Services) -> AccessService:
    """Users, roles and tokens as an installation admin manages them."""
    return services.bind(ADMIN).access


def register(
    services: Services, registry: RegistryService, name: str, folder: Path
) -> ModelVersion:
    """What ``Client.register`` does, as the principal ``registry`` is bound to."""
    with services.packager.stage(folder) as staged:
        return registry.register_package(name, staged)


def test_bootstrap_creates_an_admin_once(auth: Authenticator) -> None:
    secret = auth.bootstrap(None)
    assert secret is not None and secret.startswith("myd_")
    assert auth.bootstrap(None) is None  # users exist: nothing more
    assert auth.authenticate(secret).is_admin


def test_the_local_admin_must_say_whose_token(access: AccessService) -> None:
    with pytest.raises(InvalidInput, match="not a registry user.*say which user"):
        access.create_token("laptop")  # "root" is a principal, not a user row
    access.create_user("dana")
    assert access.create_token("laptop", user="dana").token.user == "dana"
    with pytest.raises(NotFound, match="user 'erin' does not exist"):
        access.create_token("laptop", user="erin")


def test_bootstrap_takes_the_token_from_the_environment(auth: Authenticator) -> None:
    assert auth.bootstrap("myd_fixed-token-for-ci-0000000000000000000") is None
    assert auth.authenticate("myd_fixed-token-for-ci-0000000000000000000").name == "admin"
    assert auth.bootstrap("myd_fixed-token-for-ci-0000000000000000000") is None  # idempotent


def test_tokens_are_shown_once_and_stored_as_hashes(
    auth: Authenticator, access: AccessService, services: Services
) -> None:
    access.create_user("dana")
    issued = access.create_token("laptop", user="dana")
    assert auth.authenticate(issued.secret).name == "dana"
    with services.db.read() as session:
        stored = [r[0] for r in session.execute(sa.text("select secret_hash from tokens"))]
    assert issued.secret not in stored and hash_secret(issued.secret) in stored
    listed = access.list_tokens(user="dana")
    assert [t.name for t in listed] == ["laptop"]
    assert not any(issued.secret in repr(t) for t in listed)
    access.revoke_token(issued.token.id)
    with pytest.raises(Unauthenticated, match="token revoked"):
        auth.authenticate(issued.secret)
    with pytest.raises(Unauthenticated, match="invalid token"):
        auth.authenticate("myd_nope")
    with pytest.raises(Unauthenticated, match="missing credentials"):
        auth.authenticate(None)


def test_roles_are_per_environment(
    auth: Authenticator,
    access: AccessService,
    services: Services,
    make_package: Callable[..., Path],
) -> None:
    access.create_user("dev")
    access.grant("dev", "sandbox", "developer")
    access.grant("dev", "production", "viewer")
    issued = access.create_token("ci", user="dev")
    dev = auth.authenticate(issued.secret)
    assert dev.roles == {"sandbox": {Role.DEVELOPER}, "production": {Role.VIEWER}}
    assert dev.can(Permission.REGISTER, "sandbox")
    assert not dev.can(Permission.REGISTER, "production")
    registry = services.bind(dev).registry
    v = register(services, registry, "payments", make_package())
    assert v.created_by == "dev"
    with pytest.raises(
        PermissionDenied,
        match=r"user 'dev' may not register in 'production' "
        r"\(roles there: viewer\)",
    ):
        register(services, registry, "production/payments", make_package())
    with pytest.raises(PermissionDenied, match="may not delete in 'sandbox'"):
        registry.delete_version("payments:1")
    assert registry.list_models()[0].name == "payments"
    nobody = services.bind(Principal("nobody")).registry
    assert nobody.list_models() == []
    assert nobody.search_versions("", environment="*").items == []
    with pytest.raises(PermissionDenied):
        nobody.search_versions("")
    with pytest.raises(PermissionDenied):
        nobody.get_version("payments:1")


def test_user_management_needs_an_installation_admin(
    access: AccessService, services: Services
) -> None:
    access.create_user("eve")
    eve = services.bind(Principal("eve", roles={"sandbox": frozenset({Role.ADMIN})})).access
    with pytest.raises(PermissionDenied, match="needs an installation admin"):
        eve.create_user("mallory")
    with pytest.raises(PermissionDenied):
        eve.grant("eve", "production", "admin")
    with pytest.raises(AlreadyExists):
        access.create_user("eve")
    with pytest.raises(InvalidInput, match="unknown role 'boss'"):
        access.grant("eve", "sandbox", "boss")
    with pytest.raises(NotFound, match="unknown environment 'staging'"):
        access.grant("eve", "staging", "viewer")
    with pytest.raises(NotFound, match="has no role"):
        access.revoke("eve", "sandbox", "viewer")
    # a user manages their own tokens
    own = eve.create_token("mine")
    assert own.token.user == "eve"
    with pytest.raises(PermissionDenied):
        eve.create_token("theirs", user="admin")


def test_a_known_token_costs_no_query_and_a_revocation_here_is_at_once(
    services: Services, auth: Authenticator, access: AccessService
) -> None:
    access.create_user("dana")
    issued = access.create_token("laptop", user="dana")
    assert auth.authenticate(issued.secret).name == "dana"
    # another worker revokes it straight in the database: this process still knows it...
    with services.db.write() as session:
        session.execute(
            sa.text("UPDATE tokens SET revoked_at = CURRENT_TIMESTAMP WHERE id = :id"),
            {"id": issued.token.id},
        )
    assert auth.cached(issued.secret) is not None
    assert auth.authenticate(issued.secret).name == "dana"
    # ...for at most CACHE_SECONDS; then (or after forget) the database decides
    auth.forget()
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.authenticate(issued.secret)
    # a revocation through this process takes effect at once
    second = access.create_token("phone", user="dana")
    assert auth.authenticate(second.secret).name == "dana"
    access.revoke_token(second.token.id)
    assert auth.cached(second.secret) is None
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.authenticate(second.secret)


def test_a_remembered_token_expires(services: Services, access: AccessService) -> None:
    auth = Authenticator(services.store, cache_seconds=0.0)
    access.create_user("erin")
    issued = access.create_token("t", user="erin")
    assert auth.authenticate(issued.secret).name == "erin"
    assert auth.cached(issued.secret) is None


@pytest.mark.parametrize(
    "weak", ["abc", "myd_short", "myd_" + "a" * 40, "myd_choose-a-long-secret"]
)
def test_a_weak_admin_token_is_refused(services: Services, weak: str) -> None:
    with pytest.raises(InvalidInput, match="MODELYARD_ADMIN_TOKEN is too weak: use at least 32"):
        services.authenticator.bootstrap(weak)
    with services.store.read() as tx:
        assert tx.access.count_users() == 0  # nothing was created


def test_the_server_refuses_a_weak_admin_token_in_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "modelyard"
    env = {**os.environ, "MODELYARD_HOME": str(tmp_path / "home"), "MODELYARD_ADMIN_TOKEN": "abc"}
    done = subprocess.run(
        [str(exe), "server", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: MODELYARD_ADMIN_TOKEN is too weak")
    assert len(done.stderr.strip().splitlines()) == 1
