"""``modelyard users ...`` and ``modelyard tokens ...``."""

from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client

if TYPE_CHECKING:
    from modelyard.domain.auth import User


users_app = typer.Typer(help="Users and their roles per environment.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (shown once, stored as hashes).", no_args_is_help=True)


def _user_rows(users: "list[User]") -> list[list[object]]:
    return [
        [
            u.name,
            "yes" if u.is_admin else "",
            "; ".join(f"{env}: {', '.join(r)}" for env, r in u.roles.items()),
        ]
        for u in users
    ]


@users_app.command("create")
def create_user(
    name: str,
    admin: Annotated[bool, typer.Option("--admin", help="An installation admin.")] = False,
    json: JsonOpt = False,
) -> None:
    """Create a user."""
    with client() as c:
        user = c.create_user(name, is_admin=admin)
    output.emit_json(user) if json else output.console.print(f"created user {user.name}")


@users_app.command("list")
def list_users(json: JsonOpt = False) -> None:
    """List users and their roles."""
    with client() as c:
        users = c.list_users()
    if json:
        output.emit_json(users)
    else:
        output.table(None, ["user", "admin", "roles"], _user_rows(list(users)))


@users_app.command("grant")
def grant(
    name: str,
    env: Annotated[str, typer.Argument(help="Environment, e.g. sandbox.")],
    role: Annotated[
        str, typer.Argument(help="viewer, developer, deployer, approver, scorer, admin")
    ],
    json: JsonOpt = False,
) -> None:
    """Give a user a role in an environment."""
    with client() as c:
        user = c.grant(name, env, role)
    output.emit_json(user) if json else output.console.print(f"{name} is {role} in {env}")


@users_app.command("revoke")
def revoke(
    name: str,
    env: Annotated[str, typer.Argument(help="Environment.")],
    role: Annotated[str, typer.Argument(help="Role to take away.")],
    json: JsonOpt = False,
) -> None:
    """Take a role away."""
    with client() as c:
        user = c.revoke(name, env, role)
    output.emit_json(user) if json else output.console.print(f"{name} is no longer {role} in {env}")


@tokens_app.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. ci.")],
    user: Annotated[str | None, typer.Option("--user", help="Owner (admins only).")] = None,
    expires_in_days: Annotated[int | None, typer.Option("--expires-in-days")] = None,
    json: JsonOpt = False,
) -> None:
    """Create a token. It is printed once: store it now."""
    with client() as c:
        issued = c.create_token(name, user=user, expires_in_days=expires_in_days)
    if json:
        output.emit_json(issued)
    else:
        output.console.print(
            f"token {issued.token.id} for {issued.token.user} (shown once, store it now):"
        )
        print(issued.secret)


@tokens_app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option("--user")] = None, json: JsonOpt = False
) -> None:
    """List tokens (never their secrets)."""
    with client() as c:
        tokens = c.list_tokens(user=user)
    if json:
        output.emit_json(tokens)
        return
    output.table(
        None,
        ["id", "user", "name", "created", "last used", "revoked"],
        [
            [
                t.id,
                t.user,
                t.name,
                output.when(t.created_at),
                output.when(t.last_used_at) if t.last_used_at else "",
                output.when(t.revoked_at) if t.revoked_at else "",
            ]
            for t in tokens
        ],
    )


@tokens_app.command("revoke")
def revoke_token(token_id: int, json: JsonOpt = False) -> None:
    """Revoke a token at once."""
    with client() as c:
        token = c.revoke_token(token_id)
    output.emit_json(token) if json else output.console.print(f"revoked token {token.id}")
