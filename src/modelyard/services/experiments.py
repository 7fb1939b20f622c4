"""Experiment runs: what was tried (parameters), on which data (a fingerprint), with what
result (metrics). Recording a run needs register in the environment; runs never touch a
deployment or a version."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.errors import InvalidInput
from modelyard.domain.experiments import ExperimentRun
from modelyard.domain.names import check_name
from modelyard.services.auth import require
from modelyard.store.database import Database
from modelyard.store.registry import Registry
from modelyard.store.tables import ExperimentRunRow


class ExperimentService:
    def __init__(self, db: Database, default_environment: str, principal: Principal) -> None:
        self.principal = principal
        self.db = db
        self.default_environment = default_environment

    def record_run(
        self,
        experiment: str,
        name: str,
        *,
        params: dict[str, Any],
        data_fingerprint: str,
        rows: int,
        metrics: dict[str, float],
        environment: str | None = None,
    ) -> ExperimentRun:
        env = environment or self.default_environment
        require(self.principal, Permission.REGISTER, env)
        check_name(experiment, "experiment name")
        if not name or len(name) > 300:
            raise InvalidInput("a run needs a name of 1 to 300 characters")
        clean: dict[str, float] = {}
        for key, value in metrics.items():
            number = float(value)
            if not math.isfinite(number):
                raise InvalidInput(f"metric {key!r} must be finite, got {value!r}")
            clean[str(key)] = number
        with self.db.write() as session:
            if not Registry(session).environment_exists(env):
                raise InvalidInput(f"unknown environment {env!r}")
            row = ExperimentRunRow(
                environment=env,
                experiment=experiment,
                name=name,
                params=params,
                data_fingerprint=data_fingerprint,
                rows=int(rows),
                metrics=clean,
                created_by=self.principal.name,
            )
            session.add(row)
            session.flush()
            return _entity(row)

    def list_experiment_runs(
        self,
        experiment: str,
        *,
        environment: str | None = None,
        rank_by: str | None = None,
    ) -> list[ExperimentRun]:
        """The experiment's runs, newest first, or best first by ``rank_by``."""
        env = environment or self.default_environment
        require(self.principal, Permission.READ, env)
        with self.db.read() as session:
            rows = session.scalars(
                sa.select(ExperimentRunRow)
                .where(
                    ExperimentRunRow.environment == env, ExperimentRunRow.experiment == experiment
                )
                .order_by(ExperimentRunRow.id.desc())
            )
            found = [_entity(r) for r in rows]
        if rank_by is not None:
            lower = rank_by in ("log_loss", "mae", "rmse")
            found.sort(
                key=lambda r: (
                    rank_by not in r.metrics,
                    r.metrics.get(rank_by, 0.0) * (1 if lower else -1),
                )
            )
        return found


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
