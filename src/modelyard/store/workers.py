"""What each server worker serves (``serving_workers``): the worker's own report, and the
reports a waiting caller reads to know when every live worker serves a revision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.store.tables import ServingWorkerRow, core

_WORKERS = core(ServingWorkerRow)


class ServingWorkers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def report(self, worker: str, served: dict[str, Any], now: datetime) -> None:
        """Record what ``worker`` serves as of ``now`` (one row per worker)."""
        changed = self.session.execute(
            sa.update(_WORKERS)
            .where(_WORKERS.c.worker == worker)
            .values(served=served, seen_at=now)
        )
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            self.session.execute(
                sa.insert(_WORKERS).values(worker=worker, served=served, seen_at=now)
            )

    def forget(self, worker: str, *, before: datetime | None = None) -> None:
        """Delete ``worker``'s row, and those of workers not seen since ``before``."""
        condition = _WORKERS.c.worker == worker
        if before is not None:
            condition = sa.or_(condition, _WORKERS.c.seen_at < before)
        self.session.execute(sa.delete(_WORKERS).where(condition))

    def seen_since(self, since: datetime) -> dict[str, dict[str, Any]]:
        """Each worker seen at or after ``since`` and what it serves."""
        rows = self.session.execute(
            sa.select(_WORKERS.c.worker, _WORKERS.c.served)
            .where(_WORKERS.c.seen_at >= since)
            .order_by(_WORKERS.c.worker)
        )
        return {worker: dict(served) for worker, served in rows}
