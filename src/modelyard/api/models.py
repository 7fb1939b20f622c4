"""``/api/v1/models`` and ``/api/v1/versions``: translate, call the registry, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from modelyard.api.deps import ScopeDep
from modelyard.api.schemas import errors
from modelyard.domain.entities import AliasChange, Model, ModelVersion, Page
from modelyard.domain.names import ALIAS_PATTERN, NAME_PATTERN, ModelRef, check_name
from modelyard.domain.reports import Baseline
from modelyard.domain.runtimes import EnvironmentCheck
from modelyard.wire.registry import (
    AliasBody,
    ArchiveBody,
    CompileBody,
    EnsembleBody,
    MetricsBody,
    ModelDetail,
    ModelUpdateBody,
    SearchBody,
    TagsBody,
)

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=errors(400, 401, 403, 404, 422))

Env = Annotated[str, Path(pattern=NAME_PATTERN, description="Environment, e.g. sandbox.")]
Name = Annotated[str, Path(pattern=NAME_PATTERN, description="Model name.")]
Ver = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number.")]
Alias = Annotated[str, Path(pattern=ALIAS_PATTERN, description="Alias, e.g. champion.")]
MODEL = "/models/{environment}/{name}"
VERSION = MODEL + "/versions/{version}"


def ref(
    environment: str, name: str, version: int | None = None, alias: str | None = None
) -> ModelRef:
    check_name(environment, "environment name")
    check_name(name)
    return ModelRef(environment, name, version, alias)


@router.get("/models", response_model=list[Model])
def list_models(
    api: ScopeDep, environment: Annotated[str | None, Query(max_length=128)] = None
) -> list[Model]:
    return api.registry.list_models(environment=environment)


@router.get(MODEL, response_model=ModelDetail)
def get_model(environment: Env, name: Name, api: ScopeDep) -> ModelDetail:
    r = ref(environment, name)
    return ModelDetail(api.registry.get_model(r), api.registry.list_versions(r))


@router.patch(MODEL, response_model=Model, responses=errors(409))
def update_model(environment: Env, name: Name, body: ModelUpdateBody, api: ScopeDep) -> Model:
    return api.registry.set_model_tags(
        ref(environment, name), body.set, remove=body.remove, description=body.description
    )


@router.delete(MODEL, response_model=Model, responses=errors(409))
def delete_model(environment: Env, name: Name, api: ScopeDep) -> Model:
    return api.registry.delete_model(ref(environment, name))


@router.get(VERSION, response_model=ModelVersion)
def get_version(environment: Env, name: Name, version: Ver, api: ScopeDep) -> ModelVersion:
    return api.registry.get_version(ref(environment, name, version))


@router.get(VERSION + "/baseline", response_model=Baseline)
def get_baseline(environment: Env, name: Name, version: Ver, api: ScopeDep) -> Baseline:
    """The profile of the version's training data and of its predictions on that data."""
    return api.registry.get_baseline(ref(environment, name, version))


@router.post(
    MODEL + "/ensembles", response_model=ModelVersion, status_code=201, responses=errors(409)
)
def register_ensemble(
    environment: Env, name: Name, body: EnsembleBody, api: ScopeDep
) -> ModelVersion:
    """Register member versions as one version whose answers combine theirs."""
    return api.registry.register_ensemble(
        name,
        body.members,
        combine=body.combine,
        weights=body.weights,
        script=body.script,
        environment=environment,
        tags=body.tags,
        datasets=body.datasets,
        eval_datasets=body.eval_datasets,
        description=body.description,
    )


@router.post(VERSION + "/compile", response_model=ModelVersion, status_code=201)
def compile_version(
    environment: Env, name: Name, version: Ver, body: CompileBody, api: ScopeDep
) -> ModelVersion:
    """The version converted to ONNX, verified against it, registered as the next version."""
    return api.registry.compile_version(
        ref(environment, name, version), to=body.to, dataset=body.dataset
    )


@router.get(VERSION + "/environment", response_model=EnvironmentCheck)
def check_version(environment: Env, name: Name, version: Ver, api: ScopeDep) -> EnvironmentCheck:
    """Where the version's model runs on this server, what differs from the server's
    environment, and whether its own environment can be built."""
    return api.registry.check_version(ref(environment, name, version))


@router.get(MODEL + "/aliases/{alias}", response_model=ModelVersion)
def get_by_alias(environment: Env, name: Name, alias: Alias, api: ScopeDep) -> ModelVersion:
    """The version an alias points to (``latest``: the newest version)."""
    return api.registry.get_version(ref(environment, name, alias=alias))


@router.put(MODEL + "/aliases/{alias}", response_model=AliasChange)
def set_alias(
    environment: Env, name: Name, alias: Alias, body: AliasBody, api: ScopeDep
) -> AliasChange:
    return api.registry.set_alias(ref(environment, name), alias, body.version)


@router.delete(MODEL + "/aliases/{alias}", response_model=AliasChange)
def delete_alias(environment: Env, name: Name, alias: Alias, api: ScopeDep) -> AliasChange:
    return api.registry.delete_alias(ref(environment, name), alias)


@router.patch(VERSION + "/tags", response_model=ModelVersion)
def set_version_tags(
    environment: Env, name: Name, version: Ver, body: TagsBody, api: ScopeDep
) -> ModelVersion:
    r = ref(environment, name, version)
    return api.registry.set_version_tags(r, body.set, remove=body.remove)


@router.post(VERSION + "/metrics", response_model=ModelVersion)
def log_metrics(
    environment: Env, name: Name, version: Ver, body: MetricsBody, api: ScopeDep
) -> ModelVersion:
    return api.registry.log_metrics(ref(environment, name, version), body.metrics)


@router.post(VERSION + "/archive", response_model=ModelVersion, responses=errors(409))
def archive(
    environment: Env, name: Name, version: Ver, body: ArchiveBody, api: ScopeDep
) -> ModelVersion:
    return api.registry.archive(ref(environment, name, version), restore=body.restore)


@router.delete(VERSION, response_model=ModelVersion, responses=errors(409))
def delete_version(environment: Env, name: Name, version: Ver, api: ScopeDep) -> ModelVersion:
    return api.registry.delete_version(ref(environment, name, version))


@router.post("/versions/search", response_model=Page[ModelVersion])
def search_versions(body: SearchBody, api: ScopeDep) -> Page[ModelVersion]:
    return api.registry.search_versions(
        body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
        environment=body.environment,
    )
