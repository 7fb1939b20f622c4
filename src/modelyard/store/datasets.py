"""Queries behind datasets, their versions, and model versions' baselines."""

from __future__ import annotations

import json
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.datasets import Column, DatasetVersion
from modelyard.domain.reports import Baseline
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


def _entity(dataset: DatasetRow, row: DatasetVersionRow) -> DatasetVersion:
    return DatasetVersion(
        environment=dataset.environment,
        name=dataset.name,
        version=row.version,
        digest=row.digest,
        format=row.format,
        size_bytes=row.size_bytes,
        rows=row.rows,
        columns=tuple(Column(c[0], c[1]) for c in row.columns),
        profile=json.loads(row.profile),
        source=row.source,
        description=row.description,
        created_by=row.created_by,
        created_at=row.created_at,
    )


# -- baselines ------------------------------------------------------------------------------


class Datasets:
    """Datasets, their versions and the baselines versions keep, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def dataset_id(self, environment: str, name: str) -> int | None:
        return self.session.scalar(
            sa.select(DatasetRow.id).where(
                DatasetRow.environment == environment, DatasetRow.name == name
            )
        )

    def get_or_create(self, environment: str, name: str, actor: str) -> tuple[int, bool]:
        found = self.dataset_id(environment, name)
        if found is not None:
            return found, False
        inserted = self.session.scalar(
            _insert(self.session, _DATASETS)
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
        again = self.dataset_id(environment, name)
        assert again is not None
        return again, False

    def allocate_version(self, dataset_id: int) -> int:
        return int(self.session.execute(_ALLOCATE, {"b_id": dataset_id}).scalar_one())

    def insert_version(self, dataset_id: int, version: int, values: dict[str, Any]) -> None:
        self.session.add(DatasetVersionRow(dataset_id=dataset_id, version=version, **values))
        self.session.flush()

    def version(self, dataset_id: int, version: int | None) -> DatasetVersion | None:
        """One version (``None``: the latest), its ``profile`` as stored."""
        q = (
            sa.select(DatasetRow, DatasetVersionRow)
            .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
            .where(DatasetRow.id == dataset_id)
        )
        if version is None:
            q = q.order_by(DatasetVersionRow.version.desc()).limit(1)
        else:
            q = q.where(DatasetVersionRow.version == version)
        found = self.session.execute(q).one_or_none()
        return None if found is None else _entity(*found)

    def versions(self, dataset_id: int) -> list[DatasetVersion]:
        """A dataset's versions, oldest first, their ``profile`` as stored."""
        rows = self.session.execute(
            sa.select(DatasetRow, DatasetVersionRow)
            .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
            .where(DatasetRow.id == dataset_id)
            .order_by(DatasetVersionRow.version)
        )
        return [_entity(d, v) for d, v in rows]

    def latest(self, environment: str | None) -> list[DatasetVersion]:
        """Every dataset's newest version, their ``profile`` as stored."""
        q = (
            sa.select(DatasetRow, DatasetVersionRow)
            .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
            .where(DatasetVersionRow.version == DatasetRow.last_version)
            .order_by(DatasetRow.environment, DatasetRow.name)
        )
        if environment is not None:
            q = q.where(DatasetRow.environment == environment)
        return [_entity(d, v) for d, v in self.session.execute(q)]

    def all_digests(self) -> set[str]:
        return set(self.session.scalars(sa.select(DatasetVersionRow.digest)))

    def used_by(self, refs: list[str]) -> dict[str, list[str]]:
        """Model versions whose lineage names each dataset reference."""
        out: dict[str, list[str]] = {r: [] for r in refs}
        if not refs:
            return out
        rows = self.session.execute(
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

    def insert_baseline(self, version_id: int, dataset: str, rows: int, profile: Baseline) -> None:
        self.session.add(
            VersionBaselineRow(
                version_id=version_id, dataset=dataset, rows=rows, profile=json.dumps(profile)
            )
        )
        self.session.flush()

    def baseline(self, version_id: int) -> Baseline | None:
        """A model version's baseline profile, if it has one."""
        found = self.session.get(VersionBaselineRow, version_id)
        return None if found is None else cast(Baseline, json.loads(found.profile))
