"""Queries behind users, tokens and role bindings."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.auth import Token, User
from modelyard.store.tables import RoleBindingRow, TokenRow, UserRow, utcnow


def find_user(session: Session, name: str) -> UserRow | None:
    return session.scalars(sa.select(UserRow).where(UserRow.name == name)).one_or_none()


def count_users(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(UserRow)) or 0)


def add_user(session: Session, name: str, is_admin: bool) -> UserRow:
    row = UserRow(name=name, is_admin=is_admin, disabled=False, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def roles_of(session: Session, user_ids: list[int]) -> dict[int, dict[str, tuple[str, ...]]]:
    out: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for uid, env, role in session.execute(
        sa.select(RoleBindingRow.user_id, RoleBindingRow.environment, RoleBindingRow.role)
        .where(RoleBindingRow.user_id.in_(user_ids))
        .order_by(RoleBindingRow.environment, RoleBindingRow.role)
    ):
        out[uid][env].append(role)
    return {uid: {env: tuple(r) for env, r in envs.items()} for uid, envs in out.items()}


def user_entities(session: Session, rows: list[UserRow]) -> list[User]:
    roles = roles_of(session, [r.id for r in rows])
    return [User(r.name, r.is_admin, r.disabled, roles.get(r.id, {}), r.created_at) for r in rows]


def list_users(session: Session) -> list[UserRow]:
    return list(session.scalars(sa.select(UserRow).order_by(UserRow.name)))


def bind(session: Session, user_id: int, environment: str, role: str) -> bool:
    exists = session.get(RoleBindingRow, (user_id, environment, role))
    if exists is not None:
        return False
    session.add(RoleBindingRow(user_id=user_id, environment=environment, role=role))
    session.flush()
    return True


def unbind(session: Session, user_id: int, environment: str, role: str) -> bool:
    result = session.execute(
        sa.delete(RoleBindingRow).where(
            RoleBindingRow.user_id == user_id,
            RoleBindingRow.environment == environment,
            RoleBindingRow.role == role,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def add_token(
    session: Session,
    user_id: int,
    name: str,
    prefix: str,
    secret_hash: str,
    expires_at: datetime | None,
) -> TokenRow:
    row = TokenRow(
        user_id=user_id,
        name=name,
        prefix=prefix,
        secret_hash=secret_hash,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def token_by_hash(session: Session, secret_hash: str) -> tuple[TokenRow, UserRow] | None:
    row = session.execute(
        sa.select(TokenRow, UserRow)
        .join(UserRow, UserRow.id == TokenRow.user_id)
        .where(TokenRow.secret_hash == secret_hash)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def token_entity(row: TokenRow, user: str) -> Token:
    return Token(
        row.id,
        user,
        row.name,
        row.prefix,
        row.created_at,
        row.expires_at,
        row.last_used_at,
        row.revoked_at,
    )


def list_tokens(session: Session, user_id: int | None) -> list[Token]:
    q = sa.select(TokenRow, UserRow.name).join(UserRow, UserRow.id == TokenRow.user_id)
    if user_id is not None:
        q = q.where(TokenRow.user_id == user_id)
    return [token_entity(t, name) for t, name in session.execute(q.order_by(TokenRow.id))]


def touch_token(session: Session, token_id: int) -> None:
    session.execute(
        sa.update(TokenRow).where(TokenRow.id == token_id).values(last_used_at=utcnow())
    )
