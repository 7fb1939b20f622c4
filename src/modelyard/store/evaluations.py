"""Evaluations: a model version scored on a dataset version, kept with both. ``Evaluations``
answers with ``Evaluation`` entities, each naming its version as ``env/name:version``."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.promotions import Evaluation
from modelyard.domain.reports import EvaluationDetails
from modelyard.store.registry import _insert
from modelyard.store.tables import (
    EvaluationRow,
    ModelRow,
    ModelVersionRow,
    VersionDatasetRow,
)

_SELECT = (
    sa.select(EvaluationRow, ModelRow.environment, ModelRow.name, ModelVersionRow.version)
    .join(ModelVersionRow, ModelVersionRow.id == EvaluationRow.version_id)
    .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
)


def _entity(row: EvaluationRow, environment: str, name: str, version: int) -> Evaluation:
    return Evaluation(
        id=row.id,
        version=f"{environment}/{name}:{version}",
        dataset=row.dataset,
        label=row.label,
        kind=row.kind,
        rows=row.rows,
        metrics=dict(row.metrics),
        details=cast(EvaluationDetails, row.details),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Evaluations:
    """Evaluations of model versions, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        version_id: int,
        *,
        dataset: str,
        label: str,
        kind: str,
        rows: int,
        metrics: dict[str, float],
        details: dict[str, Any],
        created_by: str,
    ) -> int:
        """Record an evaluation of a version; its id."""
        row = EvaluationRow(
            version_id=version_id,
            dataset=dataset,
            label=label,
            kind=kind,
            rows=rows,
            metrics=metrics,
            details=details,
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def add_to_lineage(self, version_id: int, dataset: str) -> bool:
        """Name ``dataset`` in the version's lineage with role ``evaluation``, unless the
        lineage names it already (its role is kept); whether it was added."""
        added = self.session.scalar(
            _insert(self.session, VersionDatasetRow)
            .values(version_id=version_id, dataset=dataset, role="evaluation")
            .on_conflict_do_nothing(index_elements=["version_id", "dataset"])
            .returning(VersionDatasetRow.version_id)
        )
        return added is not None

    def get(self, evaluation_id: int) -> Evaluation | None:
        found = self.session.execute(_SELECT.where(EvaluationRow.id == evaluation_id)).first()
        return None if found is None else _entity(*found)

    def list_evaluations(self, version_id: int | None = None) -> list[Evaluation]:
        """Every evaluation (of one version, when given), oldest first."""
        q = _SELECT if version_id is None else _SELECT.where(EvaluationRow.version_id == version_id)
        return [_entity(*found) for found in self.session.execute(q.order_by(EvaluationRow.id))]

    def latest(self, version_id: int, dataset: str) -> Evaluation | None:
        """The newest evaluation of a version on any version of dataset ``[env/]name``
        (a ``:version`` suffix is ignored)."""
        name = dataset.split(":", 1)[0]
        match = (
            EvaluationRow.dataset.startswith(f"{name}:", autoescape=True)
            if "/" in name
            else EvaluationRow.dataset.like(f"%/{_escape(name)}:%", escape="\\")
        )
        found = self.session.execute(
            _SELECT.where(EvaluationRow.version_id == version_id, match)
            .order_by(EvaluationRow.id.desc())
            .limit(1)
        ).first()
        return None if found is None else _entity(*found)
