"""``/api/v1/evaluations``, ``/api/v1/environments/{env}/gates`` and
``/api/v1/promotions``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from modelyard.api.deps import PrincipalDep, ServicesDep
from modelyard.api.models import Env
from modelyard.api.schemas import Strict, errors
from modelyard.domain.promotions import Evaluation, Gates, PromotionRequest

router = APIRouter(prefix="/api/v1", responses=errors(400, 401, 403, 404, 422))
Id = Annotated[int, Path(ge=1, le=2**62)]
Ref = Annotated[str, Field(max_length=300)]


class EvaluateIn(Strict):
    version: Ref = Field(description="[env/]name:version or name@alias")
    dataset: Ref = Field(description="[env/]name[:version]")
    label: str | None = Field(None, max_length=250)


class EvaluationOut(BaseModel):
    id: int
    version: str
    dataset: str
    label: str
    kind: str
    rows: int
    metrics: dict[str, float]
    details: dict[str, Any]
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, e: Evaluation) -> EvaluationOut:
        return cls.model_validate(e.to_dict())


class CompareIn(Strict):
    versions: list[Ref] = Field(min_length=2, max_length=20)
    dataset: Ref | None = None


class GatesIn(Strict):
    evaluation: str | None = Field(
        None, max_length=300, description="dataset it must be evaluated on"
    )
    thresholds: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=50, description="e.g. 'f1_macro >= 0.6'"
    )
    beat_champion: str | None = Field(None, max_length=250, description="a metric")
    approvals: int = Field(0, ge=0, le=10)
    self_approval: bool = False


class GatesOut(BaseModel):
    evaluation: str | None
    thresholds: list[str]
    beat_champion: str | None
    approvals: int
    self_approval: bool

    @classmethod
    def of(cls, g: Gates) -> GatesOut:
        return cls.model_validate(g.to_dict())


class PromoteIn(Strict):
    version: Ref
    to: str = Field(max_length=128)
    note: str = Field("", max_length=10_000)


class DecisionIn(Strict):
    comment: str = Field("", max_length=10_000)


class GateOut(BaseModel):
    gate: str
    passed: bool
    detail: str


class PromotionOut(BaseModel):
    id: int
    source: str
    target_environment: str
    state: str
    note: str
    gates: list[GateOut]
    approvals: list[dict[str, Any]]
    required_approvals: int
    requested_by: str
    decided_by: str | None
    decision_comment: str
    result: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: PromotionRequest) -> PromotionOut:
        return cls.model_validate(p.to_dict())


@router.post("/evaluations", response_model=EvaluationOut, status_code=201, tags=["evaluations"])
async def evaluate(body: EvaluateIn, svc: ServicesDep, who: PrincipalDep) -> EvaluationOut:
    """Score a version on a dataset version and store the metrics with both."""
    found = await run_in_threadpool(
        svc.evaluations.evaluate, body.version, body.dataset, actor=who, label=body.label
    )
    return EvaluationOut.of(found)


@router.get("/evaluations", response_model=list[EvaluationOut], tags=["evaluations"])
def list_evaluations(
    svc: ServicesDep,
    who: PrincipalDep,
    version: Annotated[str | None, Query(max_length=300)] = None,
) -> list[EvaluationOut]:
    return [EvaluationOut.of(e) for e in svc.evaluations.list_evaluations(version, actor=who)]


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationOut, tags=["evaluations"])
def get_evaluation(evaluation_id: Id, svc: ServicesDep, who: PrincipalDep) -> EvaluationOut:
    return EvaluationOut.of(svc.evaluations.get(evaluation_id, actor=who))


@router.post("/evaluations/compare", response_model=dict[str, Any], tags=["evaluations"])
def compare(body: CompareIn, svc: ServicesDep, who: PrincipalDep) -> dict[str, Any]:
    """The versions' newest evaluations on one dataset, metrics side by side."""
    return svc.evaluations.compare(body.versions, actor=who, dataset=body.dataset)


@router.get("/environments/{env}/gates", response_model=GatesOut, tags=["promotions"])
def get_gates(env: Env, svc: ServicesDep, who: PrincipalDep) -> GatesOut:
    return GatesOut.of(svc.promotions.get_gates(env, actor=who))


@router.put("/environments/{env}/gates", response_model=GatesOut, tags=["promotions"])
def set_gates(env: Env, body: GatesIn, svc: ServicesDep, who: PrincipalDep) -> GatesOut:
    """Replace what a promotion into ``env`` must pass (an admin of ``env``)."""
    return GatesOut.of(svc.promotions.set_gates(env, body.model_dump(), actor=who))


@router.post(
    "/promotions",
    response_model=PromotionOut,
    status_code=201,
    tags=["promotions"],
    responses=errors(409),
)
async def promote(body: PromoteIn, svc: ServicesDep, who: PrincipalDep) -> PromotionOut:
    """Request a version's promotion: every gate is checked now and recorded."""
    found = await run_in_threadpool(
        svc.promotions.promote, body.version, to=body.to, actor=who, note=body.note
    )
    return PromotionOut.of(found)


@router.get("/promotions", response_model=list[PromotionOut], tags=["promotions"])
def list_promotions(
    svc: ServicesDep,
    who: PrincipalDep,
    state: Annotated[Literal["pending", "blocked", "rejected", "promoted"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[PromotionOut]:
    found = svc.promotions.list_requests(actor=who, state=state, limit=limit)
    return [PromotionOut.of(p) for p in found]


@router.get("/promotions/{request_id}", response_model=PromotionOut, tags=["promotions"])
def get_promotion(request_id: Id, svc: ServicesDep, who: PrincipalDep) -> PromotionOut:
    return PromotionOut.of(svc.promotions.get(request_id, actor=who))


@router.post(
    "/promotions/{request_id}/approve",
    response_model=PromotionOut,
    tags=["promotions"],
    responses=errors(409),
)
async def approve(
    request_id: Id, body: DecisionIn, svc: ServicesDep, who: PrincipalDep
) -> PromotionOut:
    """Approve; the last approval needed promotes the version."""
    found = await run_in_threadpool(
        svc.promotions.approve, request_id, actor=who, comment=body.comment
    )
    return PromotionOut.of(found)


@router.post(
    "/promotions/{request_id}/reject",
    response_model=PromotionOut,
    tags=["promotions"],
    responses=errors(409),
)
def reject(request_id: Id, body: DecisionIn, svc: ServicesDep, who: PrincipalDep) -> PromotionOut:
    return PromotionOut.of(svc.promotions.reject(request_id, actor=who, comment=body.comment))


class RunIn(Strict):
    name: str = Field(max_length=300)
    params: dict[str, Any] = Field(default_factory=dict)
    data_fingerprint: str = Field(max_length=80)
    rows: int = Field(ge=0)
    metrics: dict[Annotated[str, Field(max_length=250)], float] = Field(default_factory=dict)
    environment: str | None = Field(None, max_length=128)


@router.post(
    "/experiments/{experiment}/runs",
    response_model=dict[str, Any],
    status_code=201,
    tags=["experiments"],
)
def record_run(
    experiment: Annotated[str, Path(max_length=128)],
    body: RunIn,
    svc: ServicesDep,
    who: PrincipalDep,
) -> dict[str, Any]:
    """Record one run of an experiment (parameters, data fingerprint, metrics)."""
    run = svc.experiments.record(
        experiment,
        body.name,
        params=body.params,
        data_fingerprint=body.data_fingerprint,
        rows=body.rows,
        metrics=body.metrics,
        actor=who,
        environment=body.environment,
    )
    return run.to_dict()


@router.get(
    "/experiments/{experiment}/runs", response_model=list[dict[str, Any]], tags=["experiments"]
)
def list_runs(
    experiment: Annotated[str, Path(max_length=128)],
    svc: ServicesDep,
    who: PrincipalDep,
    environment: Annotated[str | None, Query(max_length=128)] = None,
    rank_by: Annotated[str | None, Query(max_length=250)] = None,
) -> list[dict[str, Any]]:
    """The runs, newest first, or best first by ``rank_by``."""
    found = svc.experiments.runs(experiment, actor=who, environment=environment, rank_by=rank_by)
    return [r.to_dict() for r in found]
