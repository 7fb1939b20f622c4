"""Evaluations, the gates of an environment, and promotion requests. Plain values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from typing_extensions import TypedDict

from modelyard.domain.errors import InvalidInput
from modelyard.domain.monitoring import OPERATORS, breaches
from modelyard.domain.reports import EvaluationDetails

_THRESHOLD = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(>=|<=|>|<)\s*(-?[0-9.]+(?:[eE]-?[0-9]+)?)\s*$")
STATES = ("pending", "blocked", "rejected", "promoted")


@dataclass(frozen=True, slots=True)
class Evaluation:
    id: int
    version: str  # env/name:ver
    dataset: str  # env/name:ver
    label: str
    kind: str  # classification | regression
    rows: int
    metrics: dict[str, float]
    details: EvaluationDetails
    created_by: str
    created_at: datetime


class Comparison(TypedDict):
    """Versions side by side on one dataset: each metric per version, and the evaluations
    compared (the latest of each version on that dataset)."""

    dataset: str
    versions: list[str]
    metrics: dict[str, dict[str, float | None]]  # metric -> version -> value
    evaluations: dict[str, Evaluation]


@dataclass(frozen=True, slots=True)
class Threshold:
    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"

    def passes(self, found: float) -> bool:
        return breaches(found, self.op, self.value)


def parse_threshold(text: str) -> Threshold:
    """``f1_macro >= 0.6``."""
    found = _THRESHOLD.match(str(text))
    if not found or found.group(2) not in OPERATORS:
        raise InvalidInput(f"invalid metric threshold {text!r}: use e.g. 'f1_macro >= 0.6'")
    return Threshold(found.group(1), found.group(2), float(found.group(3)))


#: Approvals a promotion needs where an admin has not said otherwise: one, by someone
#: other than the requester. Production is never open by default; 0 is a choice.
DEFAULT_APPROVALS = 1


@dataclass(frozen=True, slots=True)
class Gates:
    """What a version must pass to be promoted into an environment."""

    evaluation: str | None = None  # a dataset name (``[env/]name``) it must be evaluated on
    thresholds: tuple[Threshold, ...] = ()
    beat_champion: str | None = None  # a metric the champion's value must be beaten on
    approvals: int = DEFAULT_APPROVALS
    self_approval: bool = False  # may the requester approve their own request?

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluation": self.evaluation,
            "thresholds": [str(t) for t in self.thresholds],
            "beat_champion": self.beat_champion,
            "approvals": self.approvals,
            "self_approval": self.self_approval,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Gates:
        if not d:
            return cls()
        approvals = d.get("approvals", DEFAULT_APPROVALS)
        if (
            not isinstance(approvals, int)
            or isinstance(approvals, bool)
            or not 0 <= approvals <= 10
        ):
            raise InvalidInput(f"approvals must be a whole number from 0 to 10, got {approvals!r}")
        return cls(
            evaluation=d.get("evaluation") or None,
            thresholds=tuple(parse_threshold(t) for t in d.get("thresholds") or ()),
            beat_champion=d.get("beat_champion") or None,
            approvals=approvals,
            self_approval=bool(d.get("self_approval", False)),
        )


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: str  # evaluation | threshold | champion | approvals
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Approval:
    user: str
    comment: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    id: int
    source: str
    target_environment: str
    state: str
    note: str
    gates: tuple[GateResult, ...]
    approvals: tuple[Approval, ...]
    required_approvals: int
    requested_by: str
    decided_by: str | None
    decision_comment: str
    result: str | None  # the promoted version, env/name:ver
    created_at: datetime
    updated_at: datetime
