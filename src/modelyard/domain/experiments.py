"""An experiment run: what was tried (parameters), on which data (a fingerprint), with what
result (metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from modelyard.domain.reports import Json


@dataclass(frozen=True, slots=True)
class ExperimentRun:
    id: int
    environment: str
    experiment: str
    name: str
    params: dict[str, Json]
    data_fingerprint: str
    rows: int
    metrics: dict[str, float]
    created_by: str
    created_at: datetime
