"""``/api/v1/evaluations``, ``/api/v1/environments/{environment}/gates``,
``/api/v1/promotions`` and ``/api/v1/experiments``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from modelyard.api.deps import ScopeDep
from modelyard.api.models import Env
from modelyard.api.schemas import errors
from modelyard.domain.experiments import ExperimentRun
from modelyard.domain.promotions import Comparison, Evaluation, Gates, PromotionRequest
from modelyard.wire.promotions import (
    CompareBody,
    DecisionBody,
    EvaluateBody,
    GatesBody,
    PromoteBody,
    RunBody,
)

router = APIRouter(prefix="/api/v1", responses=errors(400, 401, 403, 404, 422))
Id = Annotated[int, Path(ge=1, le=2**62)]
Experiment = Annotated[str, Path(max_length=128)]


@router.post("/evaluations", response_model=Evaluation, status_code=201, tags=["evaluations"])
async def evaluate(body: EvaluateBody, api: ScopeDep) -> Evaluation:
    """Score a version on a dataset version and store the metrics with both."""
    return await run_in_threadpool(
        api.evaluations.evaluate,
        body.version,
        body.dataset,
        label=body.label,
        environment=body.environment,
    )


@router.get("/evaluations", response_model=list[Evaluation], tags=["evaluations"])
def list_evaluations(
    api: ScopeDep,
    version: Annotated[str | None, Query(max_length=300)] = None,
    environment: Annotated[str | None, Query(max_length=128)] = None,
) -> list[Evaluation]:
    return api.evaluations.list_evaluations(version, environment=environment)


@router.get("/evaluations/{evaluation_id}", response_model=Evaluation, tags=["evaluations"])
def get_evaluation(evaluation_id: Id, api: ScopeDep) -> Evaluation:
    return api.evaluations.get_evaluation(evaluation_id)


@router.post("/evaluations/compare", response_model=Comparison, tags=["evaluations"])
def compare_versions(body: CompareBody, api: ScopeDep) -> Comparison:
    """The versions' newest evaluations on one dataset, metrics side by side."""
    return api.evaluations.compare_versions(body.versions, dataset=body.dataset)


@router.get("/environments/{environment}/gates", response_model=Gates, tags=["promotions"])
def get_gates(environment: Env, api: ScopeDep) -> Gates:
    return api.promotions.get_gates(environment)


@router.put("/environments/{environment}/gates", response_model=Gates, tags=["promotions"])
def set_gates(environment: Env, body: GatesBody, api: ScopeDep) -> Gates:
    """Replace what a promotion into ``environment`` must pass (an admin of it)."""
    return api.promotions.set_gates(
        environment,
        evaluation=body.evaluation,
        thresholds=body.thresholds,
        beat_champion=body.beat_champion,
        approvals=body.approvals,
        self_approval=body.self_approval,
    )


@router.post(
    "/promotions",
    response_model=PromotionRequest,
    status_code=201,
    tags=["promotions"],
    responses=errors(409),
)
async def promote(body: PromoteBody, api: ScopeDep) -> PromotionRequest:
    """Request a version's promotion: every gate is checked now and recorded."""
    return await run_in_threadpool(api.promotions.promote, body.version, to=body.to, note=body.note)


@router.get("/promotions", response_model=list[PromotionRequest], tags=["promotions"])
def list_promotion_requests(
    api: ScopeDep,
    state: Annotated[Literal["pending", "blocked", "rejected", "promoted"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[PromotionRequest]:
    return api.promotions.list_promotion_requests(state=state, limit=limit)


@router.get("/promotions/{request_id}", response_model=PromotionRequest, tags=["promotions"])
def get_promotion_request(request_id: Id, api: ScopeDep) -> PromotionRequest:
    return api.promotions.get_promotion_request(request_id)


@router.post(
    "/promotions/{request_id}/approve",
    response_model=PromotionRequest,
    tags=["promotions"],
    responses=errors(409),
)
async def approve(request_id: Id, body: DecisionBody, api: ScopeDep) -> PromotionRequest:
    """Approve; the last approval needed promotes the version."""
    return await run_in_threadpool(api.promotions.approve, request_id, comment=body.comment)


@router.post(
    "/promotions/{request_id}/reject",
    response_model=PromotionRequest,
    tags=["promotions"],
    responses=errors(409),
)
def reject(request_id: Id, body: DecisionBody, api: ScopeDep) -> PromotionRequest:
    return api.promotions.reject(request_id, comment=body.comment)


@router.post(
    "/experiments/{experiment}/runs",
    response_model=ExperimentRun,
    status_code=201,
    tags=["experiments"],
)
def record_run(experiment: Experiment, body: RunBody, api: ScopeDep) -> ExperimentRun:
    """Record one run of an experiment (parameters, data fingerprint, metrics)."""
    return api.experiments.record_run(
        experiment,
        body.name,
        params=body.params,
        data_fingerprint=body.data_fingerprint,
        rows=body.rows,
        metrics=body.metrics,
        environment=body.environment,
    )


@router.get(
    "/experiments/{experiment}/runs", response_model=list[ExperimentRun], tags=["experiments"]
)
def list_experiment_runs(
    experiment: Experiment,
    api: ScopeDep,
    environment: Annotated[str | None, Query(max_length=128)] = None,
    rank_by: Annotated[str | None, Query(max_length=250)] = None,
) -> list[ExperimentRun]:
    """The runs, newest first, or best first by ``rank_by``."""
    return api.experiments.list_experiment_runs(
        experiment, environment=environment, rank_by=rank_by
    )
