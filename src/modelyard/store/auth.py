"""Users, their API tokens and their roles per environment: ``Access`` reads and writes them
inside one transaction and answers with ``User`` and ``Token`` entities and ids."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.auth import Token, User
from modelyard.domain.clock import utcnow
from modelyard.store.tables import RoleBindingRow, TokenRow, UserRow


@dataclass(frozen=True, slots=True)
class Credential:
    """A token found by the hash of its secret, with its owner: what authentication checks."""

    token: Token
    user: User


def _token(row: TokenRow, user: str) -> Token:
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


def _user(row: UserRow, roles: dict[int, dict[str, tuple[str, ...]]]) -> User:
    return User(row.name, row.is_admin, row.disabled, roles.get(row.id, {}), row.created_at)


_TOKENS = sa.select(TokenRow, UserRow.name).join(UserRow, UserRow.id == TokenRow.user_id)


class Access:
    """Users, tokens and role bindings, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- users ----------------------------------------------------------------------------
    def user_id(self, name: str) -> int | None:
        return self.session.scalar(sa.select(UserRow.id).where(UserRow.name == name))

    def count_users(self) -> int:
        return int(self.session.scalar(sa.select(sa.func.count()).select_from(UserRow)) or 0)

    def add_user(self, name: str, is_admin: bool) -> int:
        row = UserRow(name=name, is_admin=is_admin, disabled=False, created_at=utcnow())
        self.session.add(row)
        self.session.flush()
        return row.id

    def user(self, name: str) -> User | None:
        """One user with their roles."""
        found = self._users(sa.select(UserRow).where(UserRow.name == name))
        return found[0] if found else None

    def users(self) -> list[User]:
        """Every user with their roles, by name."""
        return self._users(sa.select(UserRow).order_by(UserRow.name))

    def _users(self, query: sa.Select[UserRow]) -> list[User]:
        rows = list(self.session.scalars(query))
        roles = self._roles([r.id for r in rows])
        return [_user(r, roles) for r in rows]

    def _roles(self, user_ids: Sequence[int]) -> dict[int, dict[str, tuple[str, ...]]]:
        out: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for uid, env, role in self.session.execute(
            sa.select(RoleBindingRow.user_id, RoleBindingRow.environment, RoleBindingRow.role)
            .where(RoleBindingRow.user_id.in_(user_ids))
            .order_by(RoleBindingRow.environment, RoleBindingRow.role)
        ):
            out[uid][env].append(role)
        return {uid: {env: tuple(r) for env, r in envs.items()} for uid, envs in out.items()}

    # -- role bindings --------------------------------------------------------------------
    def bind(self, user_id: int, environment: str, role: str) -> bool:
        """Give ``user_id`` ``role`` in ``environment``; False when they already had it."""
        if self.session.get(RoleBindingRow, (user_id, environment, role)) is not None:
            return False
        self.session.add(RoleBindingRow(user_id=user_id, environment=environment, role=role))
        self.session.flush()
        return True

    def unbind(self, user_id: int, environment: str, role: str) -> bool:
        """Take ``role`` in ``environment`` away; False when the user did not have it."""
        result = self.session.execute(
            sa.delete(RoleBindingRow).where(
                RoleBindingRow.user_id == user_id,
                RoleBindingRow.environment == environment,
                RoleBindingRow.role == role,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    # -- tokens ---------------------------------------------------------------------------
    def add_token(
        self,
        user_id: int,
        name: str,
        prefix: str,
        secret_hash: str,
        expires_at: datetime | None,
    ) -> Token:
        row = TokenRow(
            user_id=user_id,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        self.session.add(row)
        self.session.flush()
        owner = self.session.get_one(UserRow, user_id)
        return _token(row, owner.name)

    def token(self, token_id: int) -> Token | None:
        found = self.session.execute(_TOKENS.where(TokenRow.id == token_id)).one_or_none()
        return None if found is None else _token(*found)

    def tokens(self, user_id: int | None = None) -> list[Token]:
        """Every token (of one user), oldest first."""
        q = _TOKENS if user_id is None else _TOKENS.where(TokenRow.user_id == user_id)
        return [_token(t, name) for t, name in self.session.execute(q.order_by(TokenRow.id))]

    def credential(self, secret_hash: str) -> Credential | None:
        """The token whose secret hashes to ``secret_hash``, and its owner with their roles."""
        found = self.session.execute(
            sa.select(TokenRow, UserRow)
            .join(UserRow, UserRow.id == TokenRow.user_id)
            .where(TokenRow.secret_hash == secret_hash)
        ).one_or_none()
        if found is None:
            return None
        token, user = found
        return Credential(_token(token, user.name), _user(user, self._roles([user.id])))

    def touch_token(self, token_id: int) -> None:
        """Record that the token was used now."""
        self.session.execute(
            sa.update(TokenRow).where(TokenRow.id == token_id).values(last_used_at=utcnow())
        )

    def revoke_token(self, token_id: int) -> bool:
        """Revoke the token now; False when it was already revoked (or does not exist)."""
        result = self.session.execute(
            sa.update(TokenRow)
            .where(TokenRow.id == token_id, TokenRow.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return bool(getattr(result, "rowcount", 0))
