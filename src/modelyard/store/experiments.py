"""Experiment runs: parameters, a data fingerprint and metrics per run. ``Experiments``
answers with ``ExperimentRun`` entities."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.experiments import ExperimentRun
from modelyard.store.tables import ExperimentRunRow


def _entity(row: ExperimentRunRow) -> ExperimentRun:
    return ExperimentRun(
        id=row.id,
        environment=row.environment,
        experiment=row.experiment,
        name=row.name,
        params=dict(row.params),
        data_fingerprint=row.data_fingerprint,
        rows=row.rows,
        metrics=dict(row.metrics),
        created_by=row.created_by,
        created_at=row.created_at,
    )


class Experiments:
    """Experiment runs, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        environment: str,
        experiment: str,
        name: str,
        params: dict[str, Any],
        data_fingerprint: str,
        rows: int,
        metrics: dict[str, float],
        created_by: str,
    ) -> ExperimentRun:
        row = ExperimentRunRow(
            environment=environment,
            experiment=experiment,
            name=name,
            params=params,
            data_fingerprint=data_fingerprint,
            rows=rows,
            metrics=metrics,
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        return _entity(row)

    def runs(self, environment: str, experiment: str) -> list[ExperimentRun]:
        """An experiment's runs, newest first."""
        rows = self.session.scalars(
            sa.select(ExperimentRunRow)
            .where(
                ExperimentRunRow.environment == environment,
                ExperimentRunRow.experiment == experiment,
            )
            .order_by(ExperimentRunRow.id.desc())
        )
        return [_entity(r) for r in rows]
