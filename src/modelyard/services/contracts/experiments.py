"""Experiment runs: one record per trained combination, ranked; they never touch a
version or a deployment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from modelyard.domain.experiments import ExperimentRun


class Experiments(Protocol):
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
        """Record one run of ``experiment``."""
        ...

    def list_experiment_runs(
        self, experiment: str, *, environment: str | None = None, rank_by: str | None = None
    ) -> list[ExperimentRun]:
        """The runs of an experiment, best first by ``rank_by`` (a metric), else oldest
        first."""
        ...
