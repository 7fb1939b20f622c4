"""Promotion: the gates an environment keeps (a JSON column on ``environments``) and the
requests to copy a version into it. ``Promotions`` answers with ``Gates`` and
``PromotionRequest`` entities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.promotions import Approval, GateResult, Gates, PromotionRequest
from modelyard.store.tables import EnvironmentRow, PromotionRequestRow, utcnow


def _entity(row: PromotionRequestRow) -> PromotionRequest:
    return PromotionRequest(
        id=row.id,
        source=row.source,
        target_environment=row.target_environment,
        state=row.state,
        note=row.note,
        gates=tuple(GateResult(**g) for g in row.gates),
        approvals=tuple(
            Approval(a["user"], a["comment"], datetime.fromisoformat(a["at"]))
            for a in row.approvals
        ),
        required_approvals=row.required_approvals,
        requested_by=row.requested_by,
        decided_by=row.decided_by,
        decision_comment=row.decision_comment,
        result=row.result,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _results(gates: Sequence[GateResult]) -> list[dict[str, Any]]:
    return [asdict(g) for g in gates]


class Promotions:
    """Environments' gates and promotion requests, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- gates ------------------------------------------------------------------------------
    def gates(self, environment: str) -> Gates | None:
        """An environment's gates (none set: no gate); ``None`` if there is no such
        environment."""
        found = self.session.execute(
            sa.select(EnvironmentRow.gates).where(EnvironmentRow.name == environment)
        ).one_or_none()
        return None if found is None else Gates.from_dict(found.gates)

    def set_gates(self, environment: str, gates: Gates) -> None:
        self.session.execute(
            sa.update(EnvironmentRow)
            .where(EnvironmentRow.name == environment)
            .values(gates=gates.to_dict())
        )

    # -- requests ---------------------------------------------------------------------------
    def add(
        self,
        *,
        source: str,
        source_version_id: int,
        target_environment: str,
        state: str,
        note: str,
        gates: Sequence[GateResult],
        required_approvals: int,
        requested_by: str,
    ) -> int:
        """Record a request (no approvals yet); its id."""
        row = PromotionRequestRow(
            source=source,
            source_version_id=source_version_id,
            target_environment=target_environment,
            state=state,
            note=note,
            gates=_results(gates),
            approvals=[],
            required_approvals=required_approvals,
            requested_by=requested_by,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def get(self, request_id: int, *, lock: bool = False) -> PromotionRequest | None:
        """A request; ``lock``: held until the transaction ends (``FOR UPDATE``)."""
        q = sa.select(PromotionRequestRow).where(PromotionRequestRow.id == request_id)
        row = self.session.scalar(q.with_for_update() if lock else q)
        return None if row is None else _entity(row)

    def list_requests(
        self, *, state: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        """Requests, newest first (in one state, when given)."""
        q = sa.select(PromotionRequestRow)
        if state is not None:
            q = q.where(PromotionRequestRow.state == state)
        rows = self.session.scalars(q.order_by(PromotionRequestRow.id.desc()).limit(limit))
        return [_entity(r) for r in rows]

    def add_approval(self, request_id: int, user: str, comment: str) -> int:
        """Append ``user``'s approval (with the time); how many approvals it now has."""
        approvals = self.session.scalar(
            sa.select(PromotionRequestRow.approvals).where(PromotionRequestRow.id == request_id)
        )
        updated = [
            *(approvals or ()),
            {"user": user, "comment": comment, "at": utcnow().isoformat()},
        ]
        self._update(request_id, approvals=updated)
        return len(updated)

    def reject(self, request_id: int, *, by: str, comment: str) -> None:
        self._update(request_id, state="rejected", decided_by=by, decision_comment=comment)

    def block(self, request_id: int, gates: Sequence[GateResult]) -> None:
        """The gates failed when they were checked again: the request is ``blocked``."""
        self._update(request_id, state="blocked", gates=_results(gates))

    def complete(
        self, request_id: int, *, by: str, result: str, gates: Sequence[GateResult]
    ) -> None:
        """The version was copied as ``result``: the request is ``promoted``."""
        self._update(
            request_id, state="promoted", decided_by=by, result=result, gates=_results(gates)
        )

    def _update(self, request_id: int, **values: Any) -> None:
        self.session.execute(
            sa.update(PromotionRequestRow)
            .where(PromotionRequestRow.id == request_id)
            .values(updated_at=utcnow(), **values)
        )
