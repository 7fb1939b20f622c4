"""Health, readiness, audit, doctor and who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from modelyard.api.deps import PrincipalDep, ServicesDep
from modelyard.api.schemas import AuditEventOut, DoctorOut, Health, WhoAmI, errors
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


@router.get("/api/v1/whoami", response_model=WhoAmI, responses=errors(401))
def whoami(who: PrincipalDep) -> WhoAmI:
    return WhoAmI(
        name=who.name,
        is_admin=who.is_admin,
        roles={env: sorted(r.value for r in roles) for env, roles in who.roles.items()},
    )


@router.get("/api/v1/audit", response_model=list[AuditEventOut], responses=errors(401, 403, 422))
def audit(
    svc: ServicesDep,
    who: PrincipalDep,
    subject: Annotated[str | None, Query(max_length=400)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[AuditEventOut]:
    events = svc.audit_events(
        by=who, subject_prefix=subject, action=action, after_seq=after, limit=limit
    )
    return [AuditEventOut.from_entity(e) for e in events]


@router.post("/api/v1/doctor", response_model=DoctorOut, responses=errors(401, 403, 422))
def doctor(
    svc: ServicesDep,
    who: PrincipalDep,
    quick: bool = False,
    gc: bool = False,
) -> DoctorOut:
    return DoctorOut.from_entity(svc.doctor.check(by=who, deep=not quick, gc=gc))
