"""Queries behind datasets, their versions, and model versions' baselines."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.datasets import Column, DatasetVersion
from modelyard.store.registry import _insert
from modelyard.store.tables import (
    DatasetRow,
    DatasetVersionRow,
    ModelRow,
    ModelVersionRow,
    VersionBaselineRow,
    VersionDatasetRow,
    core,
    utcnow,
)

_DATASETS = core(DatasetRow)
_ALLOCATE = (
    sa.update(_DATASETS)
    .where(_DATASETS.c.id == sa.bindparam("b_id"))
    .values(last_version=_DATASETS.c.last_version + 1)
    .returning(_DATASETS.c.last_version)
)


def find(session: Session, environment: str, name: str) -> DatasetRow | None:
    return session.scalar(
        sa.select(DatasetRow).where(DatasetRow.environment == environment, DatasetRow.name == name)
    )


def get_or_create(session: Session, environment: str, name: str, actor: str) -> tuple[int, bool]:
    found = find(session, environment, name)
    if found is not None:
        return found.id, False
    inserted = session.scalar(
        _insert(session, _DATASETS)
        .values(
            environment=environment,
            name=name,
            last_version=0,
            created_by=actor,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["environment", "name"])
        .returning(_DATASETS.c.id)
    )
    if inserted is not None:
        return int(inserted), True
    row = find(session, environment, name)
    assert row is not None
    return row.id, False


def allocate_version(session: Session, dataset_id: int) -> int:
    return int(session.execute(_ALLOCATE, {"b_id": dataset_id}).scalar_one())


def insert_version(session: Session, dataset_id: int, version: int, values: dict[str, Any]) -> None:
    session.add(DatasetVersionRow(dataset_id=dataset_id, version=version, **values))
    session.flush()


def version_row(session: Session, dataset_id: int, version: int | None) -> DatasetVersionRow | None:
    q = sa.select(DatasetVersionRow).where(DatasetVersionRow.dataset_id == dataset_id)
    if version is None:
        q = q.order_by(DatasetVersionRow.version.desc()).limit(1)
    else:
        q = q.where(DatasetVersionRow.version == version)
    return session.scalar(q)


def version_rows(session: Session, dataset_id: int) -> list[DatasetVersionRow]:
    return list(
        session.scalars(
            sa.select(DatasetVersionRow)
            .where(DatasetVersionRow.dataset_id == dataset_id)
            .order_by(DatasetVersionRow.version)
        )
    )


def latest_rows(
    session: Session, environment: str | None
) -> list[tuple[DatasetRow, DatasetVersionRow]]:
    q = (
        sa.select(DatasetRow, DatasetVersionRow)
        .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
        .where(DatasetVersionRow.version == DatasetRow.last_version)
        .order_by(DatasetRow.environment, DatasetRow.name)
    )
    if environment is not None:
        q = q.where(DatasetRow.environment == environment)
    return [(d, v) for d, v in session.execute(q)]


def all_digests(session: Session) -> set[str]:
    return set(session.scalars(sa.select(DatasetVersionRow.digest)))


def used_by(session: Session, refs: list[str]) -> dict[str, list[str]]:
    """Model versions whose lineage names each dataset reference."""
    out: dict[str, list[str]] = {r: [] for r in refs}
    if not refs:
        return out
    rows = session.execute(
        sa.select(
            VersionDatasetRow.dataset,
            ModelRow.environment,
            ModelRow.name,
            ModelVersionRow.version,
            VersionDatasetRow.role,
        )
        .join(ModelVersionRow, ModelVersionRow.id == VersionDatasetRow.version_id)
        .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
        .where(VersionDatasetRow.dataset.in_(refs))
        .order_by(ModelRow.name, ModelVersionRow.version)
    )
    for ref, env, name, version, role in rows:
        out[ref].append(f"{env}/{name}:{version} ({role})")
    return out


def entity(
    dataset: DatasetRow, row: DatasetVersionRow, summary: dict[str, Any], used: list[str]
) -> DatasetVersion:
    return DatasetVersion(
        environment=dataset.environment,
        name=dataset.name,
        version=row.version,
        digest=row.digest,
        format=row.format,
        size_bytes=row.size_bytes,
        rows=row.rows,
        columns=tuple(Column(c[0], c[1]) for c in row.columns),
        profile=summary,
        source=row.source,
        description=row.description,
        created_by=row.created_by,
        created_at=row.created_at,
        used_by=tuple(used),
    )


# -- baselines ------------------------------------------------------------------------------
def insert_baseline(
    session: Session, version_id: int, dataset: str, rows: int, profile: dict[str, Any]
) -> None:
    session.add(
        VersionBaselineRow(
            version_id=version_id, dataset=dataset, rows=rows, profile=json.dumps(profile)
        )
    )
    session.flush()


def baseline(session: Session, version_id: int) -> VersionBaselineRow | None:
    return session.get(VersionBaselineRow, version_id)
