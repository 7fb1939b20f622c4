"""Experiment runs over HTTP."""

from __future__ import annotations

from typing import Any

from modelyard.domain.experiments import ExperimentRun
from modelyard.sdk.http.transport import Http


class HttpExperiments:
    def __init__(self, http: Http) -> None:
        self.http = http

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
        body = {
            "name": name,
            "params": params,
            "data_fingerprint": data_fingerprint,
            "rows": rows,
            "metrics": metrics,
            "environment": environment,
        }
        return self.http.post(f"/api/v1/experiments/{experiment}/runs", ExperimentRun, body)

    def list_experiment_runs(
        self, experiment: str, *, environment: str | None = None, rank_by: str | None = None
    ) -> list[ExperimentRun]:
        path = f"/api/v1/experiments/{experiment}/runs"
        return self.http.get(path, list[ExperimentRun], environment=environment, rank_by=rank_by)
