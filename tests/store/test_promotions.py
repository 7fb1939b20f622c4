"""The promotions repository: gates kept per environment, requests that read back whole
and change state, each change stamped with the time."""

from __future__ import annotations

from modelyard.domain.promotions import GateResult, Gates, PromotionRequest, parse_threshold
from modelyard.store.unit import Store, Tx
from tests.store.test_registry import version

PASSED = GateResult("threshold", True, "f1 >= 0.5: f1 = 0.6")
WAITING = GateResult("approvals", False, "0 of 2 approvals")


def request(tx: Tx, *, state: str = "pending", note: str = "") -> int:
    model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
    version_id = version(tx, model_id)
    number = tx.registry.version_entities([version_id])[0].version
    return tx.promotions.add(
        source=f"sandbox/payments:{number}",
        source_version_id=version_id,
        target_environment="production",
        state=state,
        note=note,
        gates=[PASSED, WAITING],
        required_approvals=2,
        requested_by="dev",
    )


def read(store: Store, request_id: int) -> PromotionRequest:
    with store.read() as tx:
        found = tx.promotions.get(request_id)
    assert found is not None
    return found


def test_gates_are_kept_per_environment(store: Store) -> None:
    gates = Gates(
        evaluation="holdout",
        thresholds=(parse_threshold("f1_macro >= 0.6"),),
        beat_champion="f1_macro",
        approvals=2,
        self_approval=True,
    )
    with store.read() as tx:
        assert tx.promotions.gates("production") == Gates()
        assert tx.promotions.gates("staging") is None
    with store.write() as tx:
        tx.promotions.set_gates("production", gates)
    with store.read() as tx:
        assert tx.promotions.gates("production") == gates
        assert tx.promotions.gates("sandbox") == Gates()


def test_a_request_reads_back_whole(store: Store) -> None:
    with store.write() as tx:
        request_id = request(tx, note="quarterly retrain")
    found = read(store, request_id)
    assert (found.id, found.source, found.target_environment, found.state, found.note) == (
        request_id,
        "sandbox/payments:1",
        "production",
        "pending",
        "quarterly retrain",
    )
    assert found.gates == (PASSED, WAITING)
    assert (found.approvals, found.required_approvals, found.requested_by) == ((), 2, "dev")
    assert (found.decided_by, found.decision_comment, found.result) == (None, "", None)
    with store.write() as tx:  # a lock taken in a write transaction reads the same
        assert tx.promotions.get(request_id, lock=True) == found
        assert tx.promotions.get(request_id + 1, lock=True) is None


def test_requests_are_listed_newest_first(store: Store) -> None:
    with store.write() as tx:
        first = request(tx)
        blocked = request(tx, state="blocked")
        last = request(tx)
    with store.read() as tx:
        assert [r.id for r in tx.promotions.list_requests()] == [last, blocked, first]
        assert [r.id for r in tx.promotions.list_requests(state="pending")] == [last, first]
        assert [r.id for r in tx.promotions.list_requests(state="blocked")] == [blocked]
        assert [r.id for r in tx.promotions.list_requests(limit=1)] == [last]
        assert tx.promotions.list_requests(state="promoted") == []


def test_approvals_accumulate(store: Store) -> None:
    with store.write() as tx:
        request_id = request(tx)
    created = read(store, request_id)
    with store.write() as tx:
        assert tx.promotions.add_approval(request_id, "ann", "looks good") == 1
    with store.write() as tx:
        assert tx.promotions.add_approval(request_id, "bob", "") == 2
    found = read(store, request_id)
    assert [(a.user, a.comment) for a in found.approvals] == [
        ("ann", "looks good"),
        ("bob", ""),
    ]
    assert all(a.at >= created.created_at for a in found.approvals)
    assert found.state == "pending"
    assert found.updated_at >= created.updated_at


def test_a_request_is_rejected(store: Store) -> None:
    with store.write() as tx:
        request_id = request(tx)
        tx.promotions.reject(request_id, by="ann", comment="not this quarter")
    found = read(store, request_id)
    assert (found.state, found.decided_by, found.decision_comment, found.result) == (
        "rejected",
        "ann",
        "not this quarter",
        None,
    )


def test_a_request_is_blocked_with_the_gates_checked_again(store: Store) -> None:
    failed = GateResult("threshold", False, "f1 >= 0.5: f1 = 0.4")
    with store.write() as tx:
        request_id = request(tx)
        tx.promotions.block(request_id, [failed])
    found = read(store, request_id)
    assert (found.state, found.gates, found.decided_by) == ("blocked", (failed,), None)


def test_a_request_is_completed_with_its_result(store: Store) -> None:
    done = GateResult("approvals", True, "2 of 2 approvals")
    with store.write() as tx:
        request_id = request(tx)
        tx.promotions.complete(
            request_id, by="bob", result="production/payments:1", gates=[PASSED, done]
        )
    found = read(store, request_id)
    assert (found.state, found.decided_by, found.result) == (
        "promoted",
        "bob",
        "production/payments:1",
    )
    assert found.gates == (PASSED, done)
