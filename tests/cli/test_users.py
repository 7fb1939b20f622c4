"""``modelyard users`` and ``modelyard tokens`` on an embedded home (its local admin)."""

from __future__ import annotations

from collections.abc import Callable

from tests.cli.conftest import Result

Cli = Callable[..., Result]


def test_users_roles_and_tokens(cli: Cli) -> None:
    assert cli("users", "create", "dana").code == 0
    assert cli("users", "grant", "dana", "sandbox", "developer").code == 0
    assert cli("users", "grant", "dana", "production", "viewer").code == 0
    users = cli("users", "list", "--json").json()
    assert users[0]["roles"] == {"production": ["viewer"], "sandbox": ["developer"]}
    created = cli("tokens", "create", "ci", "--user", "dana")
    assert created.code == 0
    secret = created.out.strip().splitlines()[-1]
    assert secret.startswith("myd_")
    listed = cli("tokens", "list", "--json")
    assert secret not in listed.out
    token_id = listed.json()[0]["id"]
    assert cli("tokens", "revoke", str(token_id)).code == 0
    assert cli("tokens", "list", "--json").json()[0]["revoked_at"] is not None
    r = cli("users", "grant", "dana", "sandbox", "boss")
    assert r.code == 1 and r.err.startswith("error: unknown role 'boss'")
    r = cli("users", "create", "dana")
    assert r.code == 1 and r.err.strip() == "error: user 'dana' already exists"
    assert cli("users", "revoke", "dana", "production", "viewer").code == 0
