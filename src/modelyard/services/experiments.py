"""Experiment runs: what was tried (parameters), on which data (a fingerprint), with what
result (metrics). Recording a run needs register in the environment; runs never touch a
deployment or a version."""

from __future__ import annotations

import math
from typing import Any

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.errors import InvalidInput
from modelyard.domain.experiments import ExperimentRun
from modelyard.domain.names import check_name
from modelyard.services.auth import require
from modelyard.store.unit import Store


class ExperimentService:
    def __init__(self, store: Store, default_environment: str, principal: Principal) -> None:
        self.principal = principal
        self.store = store
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
        with self.store.write() as tx:
            if not tx.registry.environment_exists(env):
                raise InvalidInput(f"unknown environment {env!r}")
            return tx.experiments.add(
                environment=env,
                experiment=experiment,
                name=name,
                params=params,
                data_fingerprint=data_fingerprint,
                rows=int(rows),
                metrics=clean,
                created_by=self.principal.name,
            )

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
        with self.store.read() as tx:
            found = tx.experiments.runs(env, experiment)
        if rank_by is not None:
            lower = rank_by in ("log_loss", "mae", "rmse")
            found.sort(
                key=lambda r: (
                    rank_by not in r.metrics,
                    r.metrics.get(rank_by, 0.0) * (1 if lower else -1),
                )
            )
        return found
