"""The doctor and the audit log over HTTP."""

from __future__ import annotations

from modelyard.domain.entities import AuditEvent, DoctorReport
from modelyard.sdk.http.transport import Http


class HttpOperations:
    def __init__(self, http: Http) -> None:
        self.http = http

    def doctor(self, *, deep: bool = True, gc: bool = False) -> DoctorReport:
        return self.http.post("/api/v1/doctor", DoctorReport, quick=not deep, gc=gc)

    def audit(
        self,
        *,
        subject: str | None = None,
        action: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        return self.http.get(
            "/api/v1/audit",
            list[AuditEvent],
            subject=subject,
            action=action,
            after=after,
            limit=limit,
        )
