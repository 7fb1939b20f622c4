"""Health, readiness, audit, doctor and who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from modelyard.api.deps import ScopeDep, ServicesDep
from modelyard.api.schemas import Health, errors
from modelyard.domain.auth import Principal
from modelyard.domain.entities import AuditEvent, DoctorReport
from modelyard.domain.errors import ModelyardError

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(svc: ServicesDep, request: Request) -> Health | JSONResponse:
    """The database and the artifact store answer, and every deployment's current revision
    is loaded and answering in this worker."""
    checks = {}
    for name, probe in (("database", svc.ping_database), ("artifacts", svc.artifacts.ping)):
        try:
            probe()
            checks[name] = "ok"
        except ModelyardError as e:
            checks[name] = e.message
    runtime = request.app.state.runtime
    if runtime.ready:
        checks["deployments"] = "ok"
    else:
        failed = "; ".join(f"{k}: {v}" for k, v in runtime.failures.items())
        checks["deployments"] = failed or "loading"
    if all(v == "ok" for v in checks.values()):
        return Health(status="ok", checks=checks)
    return JSONResponse(status_code=503, content={"status": "unavailable", "checks": checks})


@router.get("/api/v1/whoami", response_model=Principal, responses=errors(401))
def whoami(api: ScopeDep) -> Principal:
    return api.access.whoami()


@router.get("/api/v1/audit", response_model=list[AuditEvent], responses=errors(401, 403, 422))
def audit(
    api: ScopeDep,
    subject: Annotated[str | None, Query(max_length=400)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[
        int | None,
        Query(
            ge=0, le=2**62, description="Events after this sequence number; without it, the newest"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[AuditEvent]:
    return api.operations.audit(subject=subject, action=action, after=after, limit=limit)


@router.post("/api/v1/doctor", response_model=DoctorReport, responses=errors(401, 403, 422))
def doctor(api: ScopeDep, quick: bool = False, gc: bool = False) -> DoctorReport:
    return api.operations.doctor(deep=not quick, gc=gc)
