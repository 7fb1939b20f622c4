"""Webhook subscriptions, the outbox and the delivery log: ``Webhooks`` reads and writes
them inside one transaction and answers with entities, ids and ``Due`` rows to send.

``enqueue`` runs inside every audited change (``AuditLog.append`` calls it): it writes one
outbox row per active subscription that wants the event, in the caller's transaction,
so an event is queued if and only if its change commits. With no subscriptions it costs
one SELECT on a tiny table.

The dispatcher takes only the oldest pending row of each subscription (events reach a
subscriber in order) and claims it with a guarded UPDATE of ``claimed_until``, so two
dispatchers never send the same row at the same time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.webhooks import (
    TEST_EVENT,
    UNROUTED_FAMILY,
    Delivery,
    Webhook,
    environment_of,
    routes,
)
from modelyard.store.tables import WebhookDeliveryRow, WebhookOutboxRow, WebhookRow, core

_HOOKS = core(WebhookRow)
_OUTBOX = core(WebhookOutboxRow)
_LOG = core(WebhookDeliveryRow)

_ACTIVE = sa.select(_HOOKS.c.id, _HOOKS.c.events, _HOOKS.c.environment).where(
    _HOOKS.c.active.is_(True)
)
_INSERT_OUTBOX = sa.insert(_OUTBOX)


def payload(
    *,
    webhook_id: int,
    seq: int,
    time: datetime,
    actor: str,
    action: str,
    subject: str,
    before: Any,
    after: Any,
) -> str:
    """The JSON body POSTed for one event (documented in docs/webhooks.md)."""
    return json.dumps(
        {
            "event_seq": seq,
            "type": action,
            "time": time.isoformat(),
            "actor": actor,
            "subject": subject,
            "environment": environment_of(subject),
            "before": before,
            "after": after,
            "webhook_id": webhook_id,
        },
        separators=(",", ":"),
        default=str,
    )


def _outbox_row(
    webhook_id: int, seq: int, event_type: str, time: datetime, body: str
) -> dict[str, Any]:
    """An outbox row for one subscription, due at once."""
    return {
        "webhook_id": webhook_id,
        "event_seq": seq,
        "event_type": event_type,
        "payload": body,
        "created_at": time,
        "next_attempt_at": time,
        "attempts": 0,
    }


def _webhook(row: WebhookRow) -> Webhook:
    return Webhook(
        id=row.id,
        url=row.url,
        events=tuple(row.events or ()),
        environment=row.environment,
        active=row.active,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed outbox row with what it takes to send it."""

    id: int
    webhook_id: int
    event_type: str
    payload: str
    attempts: int
    url: str
    secret: str
    claimed_until: datetime


def _pending() -> sa.ColumnElement[bool]:
    return sa.and_(_OUTBOX.c.delivered_at.is_(None), _OUTBOX.c.failed_at.is_(None))


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _pending(),
        _OUTBOX.c.next_attempt_at <= now,
        sa.or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until < now),
    )


class Webhooks:
    """Webhook subscriptions, their outbox and the delivery log, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- the outbox, written with each audited change ----------------------------------------
    def enqueue(
        self,
        *,
        seq: int,
        time: datetime,
        actor: str,
        action: str,
        subject: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> int:
        """Queue the audit event ``seq`` for every active subscription that wants it, in the
        caller's transaction. Returns how many outbox rows were written."""
        if action.split(".", 1)[0] == UNROUTED_FAMILY:
            return 0
        hooks = self.session.execute(_ACTIVE).all()
        if not hooks:
            return 0
        env = environment_of(subject)
        rows = [
            _outbox_row(
                h.id,
                seq,
                action,
                time,
                payload(
                    webhook_id=h.id,
                    seq=seq,
                    time=time,
                    actor=actor,
                    action=action,
                    subject=subject,
                    before=before,
                    after=after,
                ),
            )
            for h in hooks
            if routes(h.events or [], h.environment, action, env)
        ]
        if rows:
            self.session.execute(_INSERT_OUTBOX, rows)
        return len(rows)

    def enqueue_test(self, webhook: Webhook, *, seq: int, time: datetime, actor: str) -> int:
        """Queue a ``webhook.test`` event for one subscription; returns its outbox id."""
        body = payload(
            webhook_id=webhook.id,
            seq=seq,
            time=time,
            actor=actor,
            action=TEST_EVENT,
            subject=f"webhook:{webhook.id}",
            before=None,
            after={"message": "a test delivery from modelyard", "url": webhook.url},
        )
        row = _outbox_row(webhook.id, seq, TEST_EVENT, time, body)
        return int(
            self.session.execute(sa.insert(_OUTBOX).returning(_OUTBOX.c.id), row).scalar_one()
        )

    # -- subscriptions --------------------------------------------------------------------
    def add(
        self,
        *,
        url: str,
        secret: str,
        events: tuple[str, ...],
        environment: str | None,
        created_by: str,
        created_at: datetime,
    ) -> Webhook:
        row = WebhookRow(
            url=url,
            secret=secret,
            events=list(events),
            environment=environment,
            active=True,
            created_by=created_by,
            created_at=created_at,
        )
        self.session.add(row)
        self.session.flush()
        return _webhook(row)

    def get(self, webhook_id: int) -> Webhook | None:
        row = self.session.get(WebhookRow, webhook_id)
        return _webhook(row) if row is not None else None

    def subscriptions(self) -> list[Webhook]:
        return [
            _webhook(r) for r in self.session.scalars(sa.select(WebhookRow).order_by(WebhookRow.id))
        ]

    def delete(self, webhook_id: int) -> bool:
        """Delete a subscription with its outbox and delivery log."""
        self.session.execute(sa.delete(_LOG).where(_LOG.c.webhook_id == webhook_id))
        self.session.execute(sa.delete(_OUTBOX).where(_OUTBOX.c.webhook_id == webhook_id))
        result = self.session.execute(sa.delete(_HOOKS).where(_HOOKS.c.id == webhook_id))
        return bool(getattr(result, "rowcount", 0))

    def deliveries(self, webhook_id: int, limit: int) -> list[Delivery]:
        """The delivery log of one subscription, newest attempt first."""
        q = (
            sa.select(
                _LOG.c.id,
                _LOG.c.outbox_id,
                _LOG.c.attempt,
                _LOG.c.status_code,
                _LOG.c.error,
                _LOG.c.duration_ms,
                _LOG.c.created_at,
                _OUTBOX.c.event_seq,
                _OUTBOX.c.event_type,
            )
            .join(_OUTBOX, _OUTBOX.c.id == _LOG.c.outbox_id)
            .where(_LOG.c.webhook_id == webhook_id)
            .order_by(_LOG.c.id.desc())
            .limit(limit)
        )
        return [
            Delivery(
                id=r.id,
                webhook_id=webhook_id,
                delivery_id=r.outbox_id,
                event_seq=r.event_seq,
                event_type=r.event_type,
                attempt=r.attempt,
                status_code=r.status_code,
                error=r.error,
                duration_ms=r.duration_ms,
                created_at=r.created_at,
            )
            for r in self.session.execute(q)
        ]

    # -- the dispatcher's side ------------------------------------------------------------
    def due_ids(self, now: datetime, limit: int) -> list[int]:
        """Outbox rows to try now: the oldest pending row of each active subscription, if it
        is due and not claimed. Later rows wait for it, so a subscriber gets events in order."""
        heads = (
            sa.select(sa.func.min(_OUTBOX.c.id)).where(_pending()).group_by(_OUTBOX.c.webhook_id)
        ).scalar_subquery()
        q = (
            sa.select(_OUTBOX.c.id)
            .join(_HOOKS, _HOOKS.c.id == _OUTBOX.c.webhook_id)
            .where(_HOOKS.c.active.is_(True), _OUTBOX.c.id.in_(heads), _claimable(now))
            .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
            .limit(limit)
        )
        return [int(i) for i in self.session.scalars(q)]

    def claim(self, outbox_id: int, now: datetime, until: datetime) -> Due | None:
        """Claim one row until ``until``; None when another dispatcher has it or it is done."""
        result = self.session.execute(
            sa.update(_OUTBOX)
            .where(_OUTBOX.c.id == outbox_id, _claimable(now))
            .values(claimed_until=until)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        row = self.session.execute(
            sa.select(
                _OUTBOX.c.id,
                _OUTBOX.c.webhook_id,
                _OUTBOX.c.event_type,
                _OUTBOX.c.payload,
                _OUTBOX.c.attempts,
                _HOOKS.c.url,
                _HOOKS.c.secret,
            )
            .join(_HOOKS, _HOOKS.c.id == _OUTBOX.c.webhook_id)
            .where(_OUTBOX.c.id == outbox_id)
        ).one()
        return Due(
            id=row.id,
            webhook_id=row.webhook_id,
            event_type=row.event_type,
            payload=row.payload,
            attempts=row.attempts,
            url=row.url,
            secret=row.secret,
            claimed_until=until,
        )

    def record_attempt(
        self,
        due: Due,
        *,
        now: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        delivered: bool,
        retry_at: datetime | None,
    ) -> bool:
        """Log one attempt and move the row on: delivered, retried at ``retry_at``, or failed
        (``retry_at`` None). A row another dispatcher has meanwhile delivered stays so.
        False when the row is gone (its subscription was deleted during the attempt)."""
        attempt = due.attempts + 1
        values: dict[str, Any] = {"attempts": attempt, "claimed_until": None}
        if delivered:
            values.update(delivered_at=now, last_error=None)
        elif retry_at is not None:
            values.update(next_attempt_at=retry_at, last_error=error)
        else:
            values.update(failed_at=now, last_error=error)
        self.session.execute(
            sa.update(_OUTBOX)
            .where(_OUTBOX.c.id == due.id, _OUTBOX.c.delivered_at.is_(None))
            .values(**values)
        )
        if self.session.scalar(sa.select(_OUTBOX.c.id).where(_OUTBOX.c.id == due.id)) is None:
            return False  # the subscription was deleted meanwhile: nothing left to log
        self.session.execute(
            sa.insert(_LOG),
            {
                "webhook_id": due.webhook_id,
                "outbox_id": due.id,
                "attempt": attempt,
                "status_code": status_code,
                "error": error,
                "duration_ms": duration_ms,
                "created_at": now,
            },
        )
        return True

    def outbox_counts(self, webhook_id: int) -> dict[str, int]:
        """pending / delivered / failed rows of one subscription."""
        o = _OUTBOX.c
        state = sa.case(
            (o.delivered_at.is_not(None), "delivered"),
            (o.failed_at.is_not(None), "failed"),
            else_="pending",
        )
        counts = {"pending": 0, "delivered": 0, "failed": 0}
        for name, n in self.session.execute(
            sa.select(state, sa.func.count()).where(o.webhook_id == webhook_id).group_by(state)
        ):
            counts[str(name)] = int(n)
        return counts
