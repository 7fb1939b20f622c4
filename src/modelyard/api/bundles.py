"""``/api/v1/keys`` (signing and trusted keys) and ``/api/v1/bundles`` (export, import)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from modelyard.api.deps import PrincipalDep, ServicesDep, spooled_body
from modelyard.api.schemas import BINARY_BODY, Strict, VersionOut, errors
from modelyard.services.bundles import TrustedKey

router = APIRouter(prefix="/api/v1", tags=["bundles"], responses=errors(400, 401, 403, 404, 422))


class KeyIn(Strict):
    name: str = Field(max_length=128)


class TrustIn(Strict):
    name: str = Field(max_length=128)
    public_key: str = Field(max_length=128, description="base64 of the 32 raw Ed25519 bytes")


class KeyOut(BaseModel):
    name: str
    key_id: str
    public_key: str
    created_by: str

    @classmethod
    def of(cls, k: TrustedKey) -> KeyOut:
        return cls.model_validate(k.to_dict())


class ImportOut(BaseModel):
    version: VersionOut
    created: bool
    source: str
    key_id: str


@router.post("/keys", response_model=KeyOut, status_code=201, responses=errors(409))
def create_key(body: KeyIn, svc: ServicesDep, who: PrincipalDep) -> KeyOut:
    """A new signing key kept by the server (installation admin); its public half is
    returned and trusted here."""
    return KeyOut.of(svc.bundles.create_key(body.name, actor=who))


@router.get("/keys", response_model=list[KeyOut])
def list_keys(svc: ServicesDep, who: PrincipalDep) -> list[KeyOut]:
    return [KeyOut.of(k) for k in svc.bundles.list_keys(actor=who)]


@router.post("/keys/trusted", response_model=KeyOut, status_code=201, responses=errors(409))
def trust(body: TrustIn, svc: ServicesDep, who: PrincipalDep) -> KeyOut:
    """Trust another installation's public key: bundles it signed can be imported here."""
    return KeyOut.of(svc.bundles.trust(body.name, body.public_key, actor=who))


@router.get(
    "/bundles/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def export(
    svc: ServicesDep,
    who: PrincipalDep,
    version: Annotated[str, Query(max_length=300)],
    key: Annotated[str, Query(max_length=128)],
) -> StreamingResponse:
    """The signed bundle of a version (``[env/]name:version``)."""
    spool = tempfile.TemporaryFile(dir=str(svc.settings.resolved_home))  # noqa: SIM115 (closed by the stream)
    try:
        info = await run_in_threadpool(svc.bundles.export, version, spool, key=key, actor=who)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1 << 20):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={"Modelyard-Bundle-Source": info["source"], "Modelyard-Key-Id": info["key_id"]},
    )


@router.post(
    "/bundles",
    response_model=ImportOut,
    status_code=201,
    openapi_extra=BINARY_BODY,
)
async def import_bundle(
    request: Request,
    svc: ServicesDep,
    who: PrincipalDep,
    environment: Annotated[str | None, Query(max_length=128)] = None,
) -> Any:
    """Verify and import a bundle (201), or report the version an earlier import of the
    same bundle made (200)."""
    async with spooled_body(request, svc) as spool:
        found = await run_in_threadpool(
            svc.bundles.import_bundle, spool, actor=who, environment=environment
        )
    body = ImportOut(
        version=VersionOut.from_entity(found.version),
        created=found.created,
        source=found.source,
        key_id=found.key_id,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if found.created else 200)
