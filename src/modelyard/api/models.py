"""``/api/v1/models`` and ``/api/v1/versions``: translate, call the registry, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from modelyard.api.deps import PrincipalDep, ServicesDep
from modelyard.api.schemas import (
    AliasChangeOut,
    AliasIn,
    ArchiveIn,
    MetricsIn,
    ModelDetailOut,
    ModelOut,
    ModelUpdateIn,
    SearchIn,
    TagsIn,
    VersionOut,
    VersionPage,
    errors,
)
from modelyard.domain.names import ALIAS_PATTERN, NAME_PATTERN, ModelRef

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=errors(400, 401, 403, 404, 422))

Env = Annotated[str, Path(pattern=NAME_PATTERN, description="Environment, e.g. sandbox.")]
Name = Annotated[str, Path(pattern=NAME_PATTERN, description="Model name.")]
Ver = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number.")]
Alias = Annotated[str, Path(pattern=ALIAS_PATTERN, description="Alias, e.g. champion.")]


def _ref(env: str, name: str, version: int | None = None, alias: str | None = None) -> ModelRef:
    from modelyard.domain.names import check_name

    check_name(env, "environment name")
    check_name(name)
    return ModelRef(env, name, version, alias)


@router.get("/models", response_model=list[ModelOut])
def list_models(
    svc: ServicesDep,
    who: PrincipalDep,
    environment: Annotated[str | None, Query(max_length=128)] = None,
) -> list[ModelOut]:
    return [
        ModelOut.from_entity(m)
        for m in svc.registry.list_models(actor=who, environment=environment)
    ]


@router.get("/models/{env}/{name}", response_model=ModelDetailOut)
def get_model(env: Env, name: Name, svc: ServicesDep, who: PrincipalDep) -> ModelDetailOut:
    ref = _ref(env, name)
    model = svc.registry.get_model(ref, actor=who)
    versions = svc.registry.list_versions(ref, actor=who)
    return ModelDetailOut(
        model=ModelOut.from_entity(model), versions=[VersionOut.from_entity(v) for v in versions]
    )


@router.patch("/models/{env}/{name}", response_model=ModelOut, responses=errors(409))
def update_model(
    env: Env, name: Name, body: ModelUpdateIn, svc: ServicesDep, who: PrincipalDep
) -> ModelOut:
    model = svc.registry.set_model_tags(
        _ref(env, name), body.set, actor=who, remove=body.remove, description=body.description
    )
    return ModelOut.from_entity(model)


@router.delete("/models/{env}/{name}", response_model=ModelOut, responses=errors(409))
def delete_model(env: Env, name: Name, svc: ServicesDep, who: PrincipalDep) -> ModelOut:
    return ModelOut.from_entity(svc.registry.delete_model(_ref(env, name), actor=who))


@router.get("/models/{env}/{name}/versions/{version}", response_model=VersionOut)
def get_version(
    env: Env, name: Name, version: Ver, svc: ServicesDep, who: PrincipalDep
) -> VersionOut:
    return VersionOut.from_entity(svc.registry.get_version(_ref(env, name, version), actor=who))


@router.get("/models/{env}/{name}/versions/{version}/baseline", response_model=dict[str, Any])
def get_baseline(
    env: Env, name: Name, version: Ver, svc: ServicesDep, who: PrincipalDep
) -> dict[str, Any]:
    """The profile of the version's training data and of its predictions on that data."""
    return svc.registry.baseline(_ref(env, name, version), actor=who)


@router.get("/models/{env}/{name}/aliases/{alias}", response_model=VersionOut)
def get_by_alias(
    env: Env, name: Name, alias: Alias, svc: ServicesDep, who: PrincipalDep
) -> VersionOut:
    ref = _ref(env, name, alias=alias)
    return VersionOut.from_entity(svc.registry.get_version(ref, actor=who))


@router.put("/models/{env}/{name}/aliases/{alias}", response_model=AliasChangeOut)
def set_alias(
    env: Env, name: Name, alias: Alias, body: AliasIn, svc: ServicesDep, who: PrincipalDep
) -> AliasChangeOut:
    change = svc.registry.set_alias(_ref(env, name), alias, body.version, actor=who)
    return AliasChangeOut.from_entity(change)


@router.delete("/models/{env}/{name}/aliases/{alias}", response_model=AliasChangeOut)
def delete_alias(
    env: Env, name: Name, alias: Alias, svc: ServicesDep, who: PrincipalDep
) -> AliasChangeOut:
    return AliasChangeOut.from_entity(svc.registry.delete_alias(_ref(env, name), alias, actor=who))


@router.patch("/models/{env}/{name}/versions/{version}/tags", response_model=VersionOut)
def set_tags(
    env: Env, name: Name, version: Ver, body: TagsIn, svc: ServicesDep, who: PrincipalDep
) -> VersionOut:
    v = svc.registry.set_version_tags(
        _ref(env, name, version), body.set, actor=who, remove=body.remove
    )
    return VersionOut.from_entity(v)


@router.post("/models/{env}/{name}/versions/{version}/metrics", response_model=VersionOut)
def log_metrics(
    env: Env, name: Name, version: Ver, body: MetricsIn, svc: ServicesDep, who: PrincipalDep
) -> VersionOut:
    v = svc.registry.set_version_metrics(_ref(env, name, version), body.metrics, actor=who)
    return VersionOut.from_entity(v)


@router.post(
    "/models/{env}/{name}/versions/{version}/archive",
    response_model=VersionOut,
    responses=errors(409),
)
def archive(
    env: Env, name: Name, version: Ver, body: ArchiveIn, svc: ServicesDep, who: PrincipalDep
) -> VersionOut:
    v = svc.registry.archive(_ref(env, name, version), actor=who, restore=body.restore)
    return VersionOut.from_entity(v)


@router.delete(
    "/models/{env}/{name}/versions/{version}", response_model=VersionOut, responses=errors(409)
)
def delete_version(
    env: Env, name: Name, version: Ver, svc: ServicesDep, who: PrincipalDep
) -> VersionOut:
    return VersionOut.from_entity(svc.registry.delete_version(_ref(env, name, version), actor=who))


@router.post("/versions/search", response_model=VersionPage)
def search(body: SearchIn, svc: ServicesDep, who: PrincipalDep) -> VersionPage:
    page = svc.registry.search_versions(
        body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
        environment=body.environment,
        actor=who,
    )
    return VersionPage(
        items=[VersionOut.from_entity(v) for v in page.items], next_page_token=page.next_page_token
    )
