"""The audit log: numbered without gaps, hash-chained, and a changed event is found."""

from __future__ import annotations

import sqlalchemy as sa

from modelyard.store.tables import AuditEventRow
from modelyard.store.unit import Store


def test_events_are_numbered_and_chained(store: Store) -> None:
    with store.write() as tx:
        first = tx.audit.append(actor="alice", action="model.created", subject="model:s/a")
        second = tx.audit.append(
            actor="bob", action="alias.set", subject="alias:s/a@c", after={"version": 1}
        )
    assert second == first + 1
    with store.read() as tx:
        events = tx.audit.list_events()
        only = tx.audit.list_events(action="alias.set")
        prefixed = tx.audit.list_events(subject_prefix="model:")
        assert tx.audit.verify_chain() == (len(events), None)
    assert [e.seq for e in events][-2:] == [first, second]
    assert events[-1].prev_hash == events[-2].hash
    assert [e.actor for e in only] == ["bob"]
    assert [e.subject for e in prefixed] == ["model:s/a"]


def test_a_changed_event_breaks_the_chain(store: Store) -> None:
    with store.write() as tx:
        seq = tx.audit.append(actor="alice", action="model.created", subject="model:s/a")
        tx.audit.append(actor="alice", action="model.updated", subject="model:s/a")
    with store.db.write() as session:  # an attacker with database access
        session.execute(
            sa.update(AuditEventRow).where(AuditEventRow.seq == seq).values(actor="mallory")
        )
    with store.read() as tx:
        _, bad = tx.audit.verify_chain()
    assert bad == seq
