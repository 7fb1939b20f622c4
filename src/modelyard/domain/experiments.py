"""An experiment run: what was tried (parameters), on which data (a fingerprint), with what
result (metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ExperimentRun:
    id: int
    environment: str
    experiment: str
    name: str
    params: dict[str, Any]
    data_fingerprint: str
    rows: int
    metrics: dict[str, float]
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "environment": self.environment,
            "experiment": self.experiment,
            "name": self.name,
            "params": self.params,
            "data_fingerprint": self.data_fingerprint,
            "rows": self.rows,
            "metrics": self.metrics,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentRun:
        return cls(**{**d, "created_at": datetime.fromisoformat(d["created_at"])})
