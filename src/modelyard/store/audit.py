"""The audit log: an append-only, hash-chained sequence of events.

An event is appended in the caller's transaction, so it commits or rolls back with the
change it describes. The single ``audit_head`` row is updated with every append; that
row lock orders all writers, giving gap-free sequence numbers and a consistent chain on
PostgreSQL as on SQLite.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.entities import AuditEvent
from modelyard.store.tables import AuditEventRow, AuditHeadRow, core, utcnow
from modelyard.store.webhooks import Webhooks

GENESIS = "0" * 64


def event_hash(
    prev_hash: str,
    seq: int,
    time: datetime,
    actor: str,
    action: str,
    subject: str,
    before: Any,
    after: Any,
) -> str:
    body = json.dumps(
        [prev_hash, seq, time.isoformat(), actor, action, subject, before, after],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


_HEAD = core(AuditHeadRow)
_NEXT_SEQ = (
    sa.update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + 1)
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_SET_HEAD_HASH = sa.update(_HEAD).where(_HEAD.c.id == 1).values(hash=sa.bindparam("b_hash"))
_INSERT_EVENT = sa.insert(core(AuditEventRow))


def _entity(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        time=row.time,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        before=row.before,
        after=row.after,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AuditLog:
    """The hash-chained audit log, appended to in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._outbox = Webhooks(session)

    def append(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> int:
        head = self.session.execute(_NEXT_SEQ).one()
        seq, prev_hash = int(head.seq), str(head.hash)
        now = utcnow()
        digest = event_hash(prev_hash, seq, now, actor, action, subject, before, after)
        self.session.execute(
            _INSERT_EVENT,
            {
                "seq": seq,
                "time": now,
                "actor": actor,
                "action": action,
                "subject": subject,
                "before": before,
                "after": after,
                "prev_hash": prev_hash,
                "hash": digest,
            },
        )
        self.session.execute(_SET_HEAD_HASH, {"b_hash": digest})
        # queued for webhook subscribers in this same transaction: it commits with the change
        self._outbox.enqueue(
            seq=seq,
            time=now,
            actor=actor,
            action=action,
            subject=subject,
            before=before,
            after=after,
        )
        return seq

    def list_events(
        self,
        *,
        subject_prefix: str | None = None,
        action: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """Oldest first: the events after ``after_seq``, or without it the newest
        ``limit``."""
        q = sa.select(AuditEventRow)
        if after_seq is not None:
            q = q.where(AuditEventRow.seq > after_seq)
        if subject_prefix:
            q = q.where(AuditEventRow.subject.startswith(subject_prefix, autoescape=True))
        if action:
            q = q.where(AuditEventRow.action == action)
        if after_seq is not None:
            rows = self.session.scalars(q.order_by(AuditEventRow.seq).limit(limit))
            return [_entity(r) for r in rows]
        newest = self.session.scalars(q.order_by(AuditEventRow.seq.desc()).limit(limit))
        return [_entity(r) for r in reversed(list(newest))]

    def verify_chain(self) -> tuple[int, int | None]:
        """Recompute the chain; return (events checked, first bad seq or None)."""
        prev = GENESIS
        expected_seq = 1
        count = 0
        for row in self.session.scalars(sa.select(AuditEventRow).order_by(AuditEventRow.seq)):
            digest = event_hash(
                prev, row.seq, row.time, row.actor, row.action, row.subject, row.before, row.after
            )
            if row.seq != expected_seq or row.prev_hash != prev or row.hash != digest:
                return count, row.seq
            prev = row.hash
            expected_seq += 1
            count += 1
        return count, None
