"""Compile a parsed search filter (``domain.filters``) into SQL over model versions."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import Session

from modelyard.domain.errors import InvalidFilter
from modelyard.domain.filters import And, Compare, Field, Node, Not, Or, OrderKey
from modelyard.store.tables import (
    AliasRow,
    ModelRow,
    ModelVersionRow,
    VersionMetricRow,
    VersionParamRow,
    VersionTagRow,
)

_COLUMNS: dict[str, Any] = {
    "name": ModelRow.name,
    "environment": ModelRow.environment,
    "version": ModelVersionRow.version,
    "status": ModelVersionRow.status,
    "flavor": ModelVersionRow.flavor,
    "created_at": ModelVersionRow.created_at,
    "created_by": ModelVersionRow.created_by,
    "description": ModelVersionRow.description,
    "source": ModelVersionRow.source,
    "git_commit": ModelVersionRow.git_commit,
}
_KV: dict[str, Any] = {"tag": VersionTagRow, "metric": VersionMetricRow, "param": VersionParamRow}


def _apply(column: Any, op: str, value: Any) -> Any:
    match op:
        case "=":
            return column == value
        case "!=":
            return column != value
        case "<":
            return column < value
        case "<=":
            return column <= value
        case ">":
            return column > value
        case ">=":
            return column >= value
        case "like":
            return column.like(value)
        case "not like":
            return ~column.like(value)
        case "ilike":
            return sa.func.lower(column).like(sa.func.lower(value))
        case "not ilike":
            return ~sa.func.lower(column).like(sa.func.lower(value))
        case "in":
            return column.in_(value)
        case "not in":
            return column.not_in(value)
        case "is null":
            return column.is_(None)
        case "is not null":
            return column.is_not(None)
    raise InvalidFilter(f"unsupported operator {op!r}")


def _compare(node: Compare) -> Any:
    """One comparison. Tag, metric, param and alias conditions become an uncorrelated
    ``id IN (SELECT version_id ... WHERE key = ? AND value <op> ?)``, which both databases
    answer from the (key, value) index instead of probing every version."""
    field = node.field
    if field.kind == "attr" and field.key != "alias":
        return _apply(_COLUMNS[field.key], node.op, node.value)
    if field.kind == "attr":  # alias: a version matches if one of its aliases does
        owners = sa.select(AliasRow.version_id)
        if node.op == "is null":
            return ModelVersionRow.id.not_in(owners)
        if node.op == "is not null":
            return ModelVersionRow.id.in_(owners)
        return ModelVersionRow.id.in_(owners.where(_apply(AliasRow.alias, node.op, node.value)))
    table = _KV[field.kind]
    owners = sa.select(table.version_id).where(table.key == field.key)
    if node.op == "is null":
        return ModelVersionRow.id.not_in(owners)
    if node.op == "is not null":
        return ModelVersionRow.id.in_(owners)
    return ModelVersionRow.id.in_(owners.where(_apply(table.value, node.op, node.value)))


def compile_filter(node: Node | None) -> Any:
    if node is None:
        return sa.true()
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, And):
        return sa.and_(*(compile_filter(n) for n in node.items))
    if isinstance(node, Or):
        return sa.or_(*(compile_filter(n) for n in node.items))
    if isinstance(node, Not):
        return sa.not_(compile_filter(node.item))
    raise InvalidFilter(f"unsupported filter node {node!r}")


def _order_column(query: Any, field: Field) -> tuple[Any, Any]:
    """The column to sort on, joining the key/value table it lives in when needed."""
    if field.kind == "attr":
        return query, _COLUMNS[field.key]
    table = sa.orm.aliased(_KV[field.kind])
    query = query.outerjoin(
        table, sa.and_(table.version_id == ModelVersionRow.id, table.key == field.key)
    )
    return query, table.value


def _fingerprint(text: str, order: list[str], environment: str | None) -> str:
    raw = json.dumps([text, order, environment]).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def encode_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, fingerprint: str) -> int:
    if not token:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, fp = int(raw["o"]), str(raw["f"])
    except (ValueError, KeyError, TypeError):
        raise InvalidFilter("invalid page token", token=token) from None
    if fp != fingerprint or offset < 0:
        raise InvalidFilter(
            "page token belongs to a different search (filter, order or environment changed)",
            token=token,
        )
    return offset


def search_version_ids(
    session: Session,
    *,
    node: Node | None,
    order: list[OrderKey],
    environments: list[str] | None,
    offset: int,
    limit: int,
    include_archived: bool = True,
) -> tuple[list[int], bool]:
    """Return one page of matching version ids and whether more follow."""
    q = (
        sa.select(ModelVersionRow.id)
        .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
        .where(compile_filter(node))
    )
    if environments is not None:
        q = q.where(ModelRow.environment.in_(environments))
    if not include_archived:
        q = q.where(ModelVersionRow.status != "archived")
    clauses: list[Any] = []
    for key in order:
        q, col = _order_column(q, key.field)
        clauses.append(col.desc().nulls_last() if key.descending else col.asc().nulls_last())
    if not order:
        clauses.append(ModelVersionRow.created_at.desc())
    clauses.append(ModelVersionRow.id.desc())
    ids = list(session.scalars(q.order_by(*clauses).offset(offset).limit(limit + 1)))
    return ids[:limit], len(ids) > limit


def fingerprint(text: str, order: list[str], environment: str | None) -> str:
    return _fingerprint(text, order, environment)
