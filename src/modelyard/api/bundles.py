"""``/api/v1/keys`` (signing and trusted keys) and ``/api/v1/bundles`` (export, import)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelyard.api.deps import ScopeDep, services, spooled_answer, spooled_body, streamed
from modelyard.api.limits import UNBOUNDED
from modelyard.api.schemas import BINARY_BODY, errors
from modelyard.domain.bundles import ImportResult, TrustedKey
from modelyard.wire.bundles import KeyBody, TrustBody

router = APIRouter(prefix="/api/v1", tags=["bundles"], responses=errors(400, 401, 403, 404, 422))


@router.post("/keys", response_model=TrustedKey, status_code=201, responses=errors(409))
def create_key(body: KeyBody, api: ScopeDep) -> TrustedKey:
    """A new signing key kept by the server (installation admin); its public half is
    returned and trusted here."""
    return api.bundles.create_key(body.name)


@router.get("/keys", response_model=list[TrustedKey])
def list_keys(api: ScopeDep) -> list[TrustedKey]:
    return api.bundles.list_keys()


@router.post("/keys/trusted", response_model=TrustedKey, status_code=201, responses=errors(409))
def trust_key(body: TrustBody, api: ScopeDep) -> TrustedKey:
    """Trust another installation's public key: bundles it signed can be imported here."""
    return api.bundles.trust_key(body.name, body.public_key)


@router.get(
    "/bundles/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def write_bundle(
    request: Request,
    api: ScopeDep,
    version: Annotated[str, Query(max_length=300)],
    key: Annotated[str, Query(max_length=128)],
) -> StreamingResponse:
    """The signed bundle of a version (``[environment/]name:version``)."""
    home = services(request).settings.resolved_home
    spool, info = await spooled_answer(home, api.bundles.write_bundle, version, key=key)
    headers = {"Modelyard-Bundle-Source": info["source"], "Modelyard-Key-Id": info["key_id"]}
    return streamed(spool, "application/octet-stream", headers)


@router.post(
    "/bundles",
    response_model=ImportResult,
    status_code=201,
    openapi_extra=BINARY_BODY,
    max_body_size=UNBOUNDED,  # spooled to disk, up to MODELYARD_BUNDLE_MAX_BYTES
)
async def import_bundle(
    request: Request,
    response: Response,
    api: ScopeDep,
    environment: Annotated[str | None, Query(max_length=128)] = None,
) -> ImportResult:
    """Verify and import a bundle (201), or report the version an earlier import of the
    same bundle made (200)."""
    svc = services(request)
    async with spooled_body(request, svc, svc.settings.bundle_max_bytes) as spool:
        found = await run_in_threadpool(api.bundles.import_bundle, spool, environment=environment)
    if not found.created:
        response.status_code = 200
    return found
