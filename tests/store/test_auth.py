"""The access repository: users with their roles, role bindings and tokens read back as
written, and a token is found by the hash of its secret with its owner."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelyard.domain.auth import Token, User
from modelyard.domain.clock import utcnow
from modelyard.domain.errors import Conflict
from modelyard.store.unit import Store

HASH = "f" * 64


def test_users_read_back_with_their_roles(store: Store) -> None:
    with store.write() as tx:
        assert tx.access.count_users() == 0
        dana = tx.access.add_user("dana", False)
        root = tx.access.add_user("root", True)
        assert tx.access.bind(dana, "sandbox", "viewer")
        assert tx.access.bind(dana, "sandbox", "developer")
        assert tx.access.bind(dana, "production", "viewer")
        assert not tx.access.bind(dana, "sandbox", "viewer")  # held already
    with store.read() as tx:
        assert tx.access.count_users() == 2
        assert (tx.access.user_id("dana"), tx.access.user_id("root")) == (dana, root)
        assert tx.access.user_id("nobody") is None
        assert tx.access.user("nobody") is None
        found = tx.access.user("dana")
        users = tx.access.users()
    assert isinstance(found, User)
    assert (found.name, found.is_admin, found.disabled) == ("dana", False, False)
    assert found.roles == {"production": ("viewer",), "sandbox": ("developer", "viewer")}
    assert [(u.name, u.is_admin, u.roles) for u in users] == [
        ("dana", False, found.roles),
        ("root", True, {}),
    ]


def test_a_user_name_is_taken_once(store: Store) -> None:
    with store.write() as tx:
        tx.access.add_user("dana", False)
    with pytest.raises(Conflict), store.write() as tx:
        tx.access.add_user("dana", True)


def test_unbinding_takes_one_role_away(store: Store) -> None:
    with store.write() as tx:
        dana = tx.access.add_user("dana", False)
        tx.access.bind(dana, "sandbox", "viewer")
        tx.access.bind(dana, "sandbox", "deployer")
    with store.write() as tx:
        assert tx.access.unbind(dana, "sandbox", "viewer")
        assert not tx.access.unbind(dana, "sandbox", "viewer")
        assert not tx.access.unbind(dana, "production", "deployer")
    with store.read() as tx:
        found = tx.access.user("dana")
    assert found is not None and found.roles == {"sandbox": ("deployer",)}


def test_tokens_read_back_per_user(store: Store) -> None:
    expires = utcnow() + timedelta(days=3)
    with store.write() as tx:
        dana, root = tx.access.add_user("dana", False), tx.access.add_user("root", True)
        first = tx.access.add_token(dana, "laptop", "myd_abcdefgh", "1" * 64, expires)
        second = tx.access.add_token(root, "ci", "myd_ijklmnop", "2" * 64, None)
    assert isinstance(first, Token)
    assert (first.user, first.name, first.prefix) == ("dana", "laptop", "myd_abcdefgh")
    assert (first.last_used_at, first.revoked_at) == (None, None)
    with store.read() as tx:
        assert tx.access.token(first.id) == first
        assert tx.access.token(second.id + 1) is None
        assert tx.access.tokens() == [first, second]
        assert tx.access.tokens(dana) == [first]
        assert tx.access.tokens(root) == [second]
    assert first.expires_at == expires  # timezone-aware UTC, to the microsecond


def test_a_credential_is_the_token_and_its_owner(store: Store) -> None:
    with store.write() as tx:
        dana = tx.access.add_user("dana", False)
        tx.access.bind(dana, "sandbox", "deployer")
        token = tx.access.add_token(dana, "laptop", "myd_abcdefgh", HASH, None)
    with store.read() as tx:
        found = tx.access.credential(HASH)
        assert tx.access.credential("0" * 64) is None
    assert found is not None
    assert found.token == token
    assert (found.user.name, found.user.roles) == ("dana", {"sandbox": ("deployer",)})


def test_touching_and_revoking_a_token(store: Store) -> None:
    with store.write() as tx:
        token = tx.access.add_token(tx.access.add_user("dana", False), "t", "p", HASH, None)
    before = utcnow()
    with store.write() as tx:
        tx.access.touch_token(token.id)
        assert tx.access.revoke_token(token.id)
        assert not tx.access.revoke_token(token.id)  # revoked already
        assert not tx.access.revoke_token(token.id + 1)
    with store.read() as tx:
        found = tx.access.token(token.id)
    assert found is not None and found.last_used_at is not None and found.revoked_at is not None
    assert found.last_used_at >= before and found.revoked_at >= before
    assert found.created_at == token.created_at
