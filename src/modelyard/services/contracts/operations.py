"""Keeping an installation healthy: the doctor and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from modelyard.domain.entities import AuditEvent, DoctorReport


class Operations(Protocol):
    def doctor(self, *, deep: bool = True, gc: bool = False) -> DoctorReport:
        """Verify every package against its digest (``deep``: hash every object), the
        audit chain and the rows against the objects; ``gc`` removes what nothing uses."""
        ...

    def audit(
        self,
        *,
        subject: str | None = None,
        action: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """Audit events whose subject starts with ``subject`` and whose action is
        ``action``, oldest first: those after sequence ``after`` (``0``: from the first),
        or without ``after`` the newest ``limit``."""
        ...
