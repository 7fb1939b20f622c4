"""Health, readiness, audit, doctor and who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from modelyard.api.deps import ScopeDep, ServicesDep
from modelyard.api.schemas import Health, errors
from modelyard.domain.auth import Principal
from modelyard.domain.entities import AuditEvent, DoctorReport

router = APIRouter(tags=["system"])


# Health and readiness are ``async`` and touch neither the database nor the thread pool:
# they answer at once however busy or hung the database is.
@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(svc: ServicesDep, request: Request) -> Health | JSONResponse:
    """Ready means this worker can score: every deployment's current revision is loaded
    and answering here; it is public, so it names nothing (no deployment, no database
    address). ``checks.database`` reports whether the database answered the
    worker's last call; an outage does not make a worker that serves unready."""
    runtime = request.app.state.runtime
    if runtime.ready:
        deployments = "ok"
    else:
        # public: counts, not names (the landing page and `deployments wait` name them)
        failed = len(runtime.failures)
        deployments = f"{failed} failed to load" if failed else "loading"
    database = "ok" if svc.db.outage.since is None else "unreachable"
    checks = {"deployments": deployments, "database": database}
    if deployments == "ok":
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
