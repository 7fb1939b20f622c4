"""Queries behind the registry. Functions take a session and return domain entities."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from modelyard.domain.entities import Environment, Lineage, Model, ModelVersion
from modelyard.store.tables import (
    AliasRow,
    EnvironmentRow,
    ModelRow,
    ModelTagRow,
    ModelVersionRow,
    PackageRow,
    VersionDatasetRow,
    VersionMetricRow,
    VersionParamRow,
    VersionTagRow,
    core,
    utcnow,
)


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


# -- environments -------------------------------------------------------------------------


def list_environments(session: Session) -> list[Environment]:
    rows = session.scalars(sa.select(EnvironmentRow).order_by(EnvironmentRow.name))
    return [Environment(r.name, r.description, r.created_at) for r in rows]


_ENVIRONMENT = sa.select(core(EnvironmentRow).c.name).where(
    core(EnvironmentRow).c.name == sa.bindparam("b_name")
)


def environment_exists(session: Session, name: str) -> bool:
    return session.scalar(_ENVIRONMENT, {"b_name": name}) is not None


# -- models -------------------------------------------------------------------------------


def find_model(session: Session, environment: str, name: str) -> ModelRow | None:
    return session.scalars(
        sa.select(ModelRow).where(ModelRow.environment == environment, ModelRow.name == name)
    ).one_or_none()


_MODEL_ID = sa.select(core(ModelRow).c.id).where(
    core(ModelRow).c.environment == sa.bindparam("b_env"),
    core(ModelRow).c.name == sa.bindparam("b_name"),
)


def get_or_create_model(session: Session, environment: str, name: str) -> tuple[int, bool]:
    """The model's id, inserting it if missing (race-free: ON CONFLICT DO NOTHING)."""
    found = session.scalar(_MODEL_ID, {"b_env": environment, "b_name": name})
    if found is not None:
        return int(found), False
    now = utcnow()
    inserted = session.scalar(
        _insert(session, core(ModelRow))
        .values(
            environment=environment,
            name=name,
            description="",
            last_version=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["environment", "name"])
        .returning(core(ModelRow).c.id)
    )
    if inserted is not None:
        return int(inserted), True
    row = find_model(session, environment, name)  # another writer created it meanwhile
    assert row is not None
    return row.id, False


_ALLOCATE = (
    sa.update(core(ModelRow))
    .where(core(ModelRow).c.id == sa.bindparam("b_id"))
    .values(last_version=core(ModelRow).c.last_version + 1, updated_at=sa.bindparam("b_now"))
    .returning(core(ModelRow).c.last_version)
)


def allocate_version(session: Session, model_id: int) -> int:
    """Hand out the next version number in the caller's transaction (gap-free)."""
    return int(session.execute(_ALLOCATE, {"b_id": model_id, "b_now": utcnow()}).scalar_one())


def model_entities(session: Session, rows: Sequence[ModelRow]) -> list[Model]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    for t in session.scalars(sa.select(ModelTagRow).where(ModelTagRow.model_id.in_(ids))):
        tags[t.model_id][t.key] = t.value
    aliases: dict[int, dict[str, int]] = defaultdict(dict)
    for model_id, alias, version in session.execute(
        sa.select(AliasRow.model_id, AliasRow.alias, ModelVersionRow.version)
        .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
        .where(AliasRow.model_id.in_(ids))
    ):
        aliases[model_id][alias] = version
    latest = dict(
        session.execute(
            sa.select(ModelVersionRow.model_id, sa.func.max(ModelVersionRow.version))
            .where(ModelVersionRow.model_id.in_(ids))
            .group_by(ModelVersionRow.model_id)
        ).all()
    )
    return [
        Model(
            environment=r.environment,
            name=r.name,
            description=r.description,
            tags=tags.get(r.id, {}),
            aliases=aliases.get(r.id, {}),
            latest_version=latest.get(r.id),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def list_models(session: Session, environment: str | None) -> list[ModelRow]:
    q = sa.select(ModelRow).order_by(ModelRow.environment, ModelRow.name)
    if environment:
        q = q.where(ModelRow.environment == environment)
    return list(session.scalars(q))


def _upsert_pairs(
    session: Session, table: Any, owner: str, owner_id: int, pairs: dict[str, Any]
) -> None:
    """Insert or overwrite key/value rows (tags, metrics) belonging to one owner row."""
    for key, value in pairs.items():
        session.execute(
            _insert(session, table)
            .values({owner: owner_id, "key": key, "value": value})
            .on_conflict_do_update(index_elements=[owner, "key"], set_={"value": value})
        )


def set_model_tags(session: Session, model_id: int, tags: dict[str, str]) -> None:
    _upsert_pairs(session, ModelTagRow, "model_id", model_id, tags)


def delete_model_tag(session: Session, model_id: int, key: str) -> bool:
    result = session.execute(
        sa.delete(ModelTagRow).where(ModelTagRow.model_id == model_id, ModelTagRow.key == key)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- packages -----------------------------------------------------------------------------


def record_package(
    session: Session, digest: str, manifest: str, size_bytes: int, file_count: int
) -> None:
    session.execute(
        _insert(session, PackageRow)
        .values(
            digest=digest,
            manifest=manifest,
            size_bytes=size_bytes,
            file_count=file_count,
            state="pending",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["digest"])
    )


_PACKAGE_READY = (
    sa.update(core(PackageRow))
    .where(core(PackageRow).c.digest == sa.bindparam("b_digest"))
    .values(state="ready")
)


def mark_package_ready(session: Session, digest: str) -> None:
    session.execute(_PACKAGE_READY, {"b_digest": digest})


def get_package_manifest(session: Session, digest: str) -> str | None:
    return session.scalar(sa.select(PackageRow.manifest).where(PackageRow.digest == digest))


def all_packages(session: Session) -> list[PackageRow]:
    return list(session.scalars(sa.select(PackageRow)))


def package_use_counts(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            sa.select(ModelVersionRow.package_digest, sa.func.count()).group_by(
                ModelVersionRow.package_digest
            )
        ).all()
    )


def delete_package_row(session: Session, digest: str) -> None:
    session.execute(sa.delete(PackageRow).where(PackageRow.digest == digest))


# -- versions -----------------------------------------------------------------------------


_INSERT_VERSION = sa.insert(core(ModelVersionRow)).returning(core(ModelVersionRow).c.id)
_INSERT_TAGS = sa.insert(core(VersionTagRow))
_INSERT_METRICS = sa.insert(core(VersionMetricRow))
_INSERT_PARAMS = sa.insert(core(VersionParamRow))
_INSERT_DATASETS = sa.insert(core(VersionDatasetRow))


def insert_version(
    session: Session,
    *,
    model_id: int,
    version: int,
    values: dict[str, Any],
    tags: dict[str, str],
    metrics: dict[str, float],
    params: dict[str, str],
    datasets: Iterable[tuple[str, str]],
) -> int:
    row = {"model_id": model_id, "version": version, **values}
    version_id = int(session.execute(_INSERT_VERSION, row).scalar_one())
    for statement, pairs in (
        (_INSERT_TAGS, tags),
        (_INSERT_METRICS, metrics),
        (_INSERT_PARAMS, params),
    ):
        if pairs:
            session.execute(
                statement,
                [{"version_id": version_id, "key": k, "value": v} for k, v in pairs.items()],
            )
    ds = [{"version_id": version_id, "dataset": d, "role": role} for d, role in datasets]
    if ds:
        session.execute(_INSERT_DATASETS, ds)
    return version_id


def version_row(session: Session, model_id: int, version: int) -> ModelVersionRow | None:
    return session.scalars(
        sa.select(ModelVersionRow).where(
            ModelVersionRow.model_id == model_id, ModelVersionRow.version == version
        )
    ).one_or_none()


def alias_row(session: Session, model_id: int, alias: str) -> AliasRow | None:
    return session.get(AliasRow, (model_id, alias))


def latest_version_row(session: Session, model_id: int) -> ModelVersionRow | None:
    return session.scalars(
        sa.select(ModelVersionRow)
        .where(ModelVersionRow.model_id == model_id)
        .order_by(ModelVersionRow.version.desc())
        .limit(1)
    ).one_or_none()


def version_ids_of_model(session: Session, model_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(ModelVersionRow.id)
            .where(ModelVersionRow.model_id == model_id)
            .order_by(ModelVersionRow.version)
        )
    )


def _pairs(session: Session, row_type: Any, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    table = core(row_type)
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for vid, key, value in session.execute(
        sa.select(table.c.version_id, table.c.key, table.c.value).where(table.c.version_id.in_(ids))
    ):
        out[vid][key] = value
    return out


def _lists(session: Session, column: Any, owner: Any, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for vid, value in session.execute(
        sa.select(owner, column).where(owner.in_(ids)).order_by(column)
    ):
        out[vid].append(value)
    return out


def version_entities(session: Session, ids: Sequence[int]) -> list[ModelVersion]:
    """Load versions with their tags, metrics, params, datasets and aliases, keeping order.
    Plain column selects (no ORM identity map): a search page of 100 stays cheap."""
    if not ids:
        return []
    versions, models = core(ModelVersionRow), core(ModelRow)
    rows = session.execute(
        sa.select(versions, models.c.environment, models.c.name.label("model_name"))
        .join(models, models.c.id == versions.c.model_id)
        .where(versions.c.id.in_(ids))
    ).all()
    tags = _pairs(session, VersionTagRow, ids)
    metrics = _pairs(session, VersionMetricRow, ids)
    params = _pairs(session, VersionParamRow, ids)
    datasets = _lists(session, VersionDatasetRow.dataset, VersionDatasetRow.version_id, ids)
    aliases = _lists(session, AliasRow.alias, AliasRow.version_id, ids)
    by_id = {
        row.id: ModelVersion(
            environment=row.environment,
            name=row.model_name,
            version=row.version,
            package_digest=row.package_digest,
            flavor=row.flavor,
            signature=row.signature,
            requirements=tuple(row.requirements or ()),
            size_bytes=row.size_bytes,
            status=row.status,
            description=row.description,
            tags=tags.get(row.id, {}),
            metrics=metrics.get(row.id, {}),
            params=params.get(row.id, {}),
            aliases=tuple(aliases.get(row.id, ())),
            lineage=Lineage(
                datasets=tuple(datasets.get(row.id, ())),
                source=row.source,
                git_commit=row.git_commit,
                promoted_from=row.promoted_from,
            ),
            created_by=row.created_by,
            created_at=row.created_at,
            locked=bool(row.locked),
        )
        for row in rows
    }
    return [by_id[i] for i in ids if i in by_id]


def set_version_tags(session: Session, version_id: int, tags: dict[str, str]) -> None:
    _upsert_pairs(session, VersionTagRow, "version_id", version_id, tags)


def delete_version_tag(session: Session, version_id: int, key: str) -> bool:
    result = session.execute(
        sa.delete(VersionTagRow).where(
            VersionTagRow.version_id == version_id, VersionTagRow.key == key
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_version_metrics(session: Session, version_id: int, metrics: dict[str, float]) -> None:
    _upsert_pairs(session, VersionMetricRow, "version_id", version_id, metrics)


def set_status(session: Session, version_id: int, status: str) -> None:
    session.execute(
        sa.update(ModelVersionRow).where(ModelVersionRow.id == version_id).values(status=status)
    )


def aliases_of_version(session: Session, version_id: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(AliasRow.alias)
            .where(AliasRow.version_id == version_id)
            .order_by(AliasRow.alias)
        )
    )


def upsert_alias(
    session: Session, model_id: int, alias: str, version_id: int, previous: int | None, actor: str
) -> None:
    values = {
        "version_id": version_id,
        "previous_version": previous,
        "updated_at": utcnow(),
        "updated_by": actor,
    }
    session.execute(
        _insert(session, AliasRow)
        .values(model_id=model_id, alias=alias, **values)
        .on_conflict_do_update(index_elements=["model_id", "alias"], set_=values)
    )


def delete_alias(session: Session, model_id: int, alias: str) -> None:
    session.execute(
        sa.delete(AliasRow).where(AliasRow.model_id == model_id, AliasRow.alias == alias)
    )


def delete_version(session: Session, version_id: int) -> None:
    session.execute(sa.delete(ModelVersionRow).where(ModelVersionRow.id == version_id))


def delete_model(session: Session, model_id: int) -> None:
    session.execute(sa.delete(AliasRow).where(AliasRow.model_id == model_id))
    session.execute(sa.delete(ModelVersionRow).where(ModelVersionRow.model_id == model_id))
    session.execute(sa.delete(ModelRow).where(ModelRow.id == model_id))


def all_version_digests(session: Session) -> list[tuple[str, str, int, str]]:
    return [
        (env, name, ver, digest)
        for env, name, ver, digest in session.execute(
            sa.select(
                ModelRow.environment,
                ModelRow.name,
                ModelVersionRow.version,
                ModelVersionRow.package_digest,
            )
            .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
            .order_by(ModelRow.environment, ModelRow.name, ModelVersionRow.version)
        ).all()
    ]
