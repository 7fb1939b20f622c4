"""The deployments repository: revisions numbered by the database, the current one read
back whole, the versions it pins answered to the registry, never a row."""

from __future__ import annotations

import threading

from modelyard.domain.deployments import Deployment, Role, ServingOptions, Variant
from modelyard.store.unit import Store, Tx
from tests.store.test_registry import DIGEST, version

KEYS = {"primary": ("a" * 64, "myk_aaaaaaaa"), "secondary": ("b" * 64, "myk_bbbbbbbb")}


def variant(number: int, weight: float = 100.0, role: Role = Role.LIVE) -> Variant:
    return Variant(f"payments:{number}", "sandbox", "payments", number, DIGEST, weight, role)


def deploy(tx: Tx, name: str, *variants: Variant, environment: str = "sandbox") -> int:
    found = tx.deployments.insert(
        name=name, environment=environment, description="fraud", keys=KEYS, actor="alice"
    )
    revise(tx, found, *variants, action="create")
    return found


def revise(
    tx: Tx, deployment_id: int, *variants: Variant, action: str = "update", **options: int
) -> int:
    return tx.deployments.add_revision(
        deployment_id,
        variants=variants or (variant(1),),
        options=ServingOptions.from_dict(options),
        action=action,
        rolled_back_to=1 if action == "rollback" else None,
        actor="bob",
    )


def versions(store: Store, count: int) -> None:
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        for _ in range(count):
            version(tx, model_id)


def test_a_deployment_reads_back_with_its_current_revision(store: Store) -> None:
    versions(store, 2)
    with store.write() as tx:
        found = deploy(tx, "pay", variant(1, 90), variant(2, 10))
    with store.read() as tx:
        assert tx.deployments.deployment_id("pay") == found
        assert tx.deployments.deployment_id("nope") is None
        deployment = tx.deployments.get(found)
    assert isinstance(deployment, Deployment)
    assert (deployment.name, deployment.environment, deployment.description) == (
        "pay",
        "sandbox",
        "fraud",
    )
    assert [(k.slot, k.prefix) for k in deployment.keys] == [
        ("primary", "myk_aaaaaaaa"),
        ("secondary", "myk_bbbbbbbb"),
    ]
    revision = deployment.revision
    assert (revision.deployment, revision.number, revision.action) == ("pay", 1, "create")
    assert revision.variants == (variant(1, 90), variant(2, 10))
    assert revision.options == ServingOptions()
    assert (revision.created_by, revision.rolled_back_to) == ("bob", None)


def test_revisions_count_from_one_and_the_last_is_current(store: Store) -> None:
    versions(store, 2)
    with store.write() as tx:
        found = deploy(tx, "pay")
        assert revise(tx, found, variant(2), max_batch_size=32) == 2
        assert revise(tx, found, action="rollback") == 3
    with store.read() as tx:
        current = tx.deployments.get(found).revision
        revisions = tx.deployments.revisions(found)
        second = tx.deployments.revision(found, 2)
        assert tx.deployments.revision(found, 4) is None
    assert (current.number, current.action, current.rolled_back_to) == (3, "rollback", 1)
    assert [(r.number, r.action) for r in revisions] == [
        (1, "create"),
        (2, "update"),
        (3, "rollback"),
    ]
    assert second is not None and second == revisions[1]
    assert second.variants == (variant(2),)
    assert second.options.max_batch_size == 32


def test_concurrent_revisions_get_distinct_numbers(store: Store) -> None:
    versions(store, 1)
    with store.write() as tx:
        found = deploy(tx, "pay")

    def writer() -> None:
        for _ in range(3):
            with store.write() as tx:
                locked = tx.deployments.deployment_id("pay", lock=True)
                assert locked == found
                revise(tx, found)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.read() as tx:
        assert [r.number for r in tx.deployments.revisions(found)] == list(range(1, 14))
        assert tx.deployments.get(found).revision.number == 13


def test_listing_filters_by_environment(store: Store) -> None:
    versions(store, 1)
    with store.write() as tx:
        deploy(tx, "b-pay")
        deploy(tx, "a-pay")
        deploy(tx, "live", environment="production")
    with store.read() as tx:
        assert [d.name for d in tx.deployments.list_deployments()] == ["a-pay", "b-pay", "live"]
        assert [d.name for d in tx.deployments.list_deployments("sandbox")] == ["a-pay", "b-pay"]
        assert tx.deployments.list_deployments("staging") == []


def test_only_the_current_revision_serves_its_versions(store: Store) -> None:
    versions(store, 3)
    with store.write() as tx:
        pay = deploy(tx, "pay", variant(1), variant(2, 20, Role.SHADOW))
        deploy(tx, "other", variant(1))
        # a variant naming no stored version is kept in the revision, pinned to nothing
        deploy(tx, "ghost", variant(9))
    with store.read() as tx:
        assert tx.deployments.serving_version("sandbox", "payments", 1) == ["other", "pay"]
        assert tx.deployments.serving_version("sandbox", "payments", 2) == ["pay"]
        assert tx.deployments.serving_version("sandbox", "payments", 9) == []
        assert tx.deployments.serving_version("production", "payments", 1) == []
    with store.write() as tx:
        revise(tx, pay, variant(3))
    with store.read() as tx:
        assert tx.deployments.serving_version("sandbox", "payments", 1) == ["other"]
        assert tx.deployments.serving_version("sandbox", "payments", 2) == []
        assert tx.deployments.serving_version("sandbox", "payments", 3) == ["pay"]


def test_a_new_key_replaces_one_slot(store: Store) -> None:
    versions(store, 1)
    with store.write() as tx:
        found = deploy(tx, "pay")
        before = tx.deployments.get(found)
        tx.deployments.set_key(found, "secondary", "c" * 64, "myk_cccccccc")
        after = tx.deployments.get(found)  # the same transaction sees the change
    assert [k.prefix for k in after.keys] == ["myk_aaaaaaaa", "myk_cccccccc"]
    assert after.keys[0] == before.keys[0]
    assert after.keys[1].created_at >= before.keys[1].created_at
    assert after.updated_at >= before.updated_at
    with store.read() as tx:
        (state,) = tx.deployments.serving_states()
    assert state.key_hashes == ("a" * 64, "c" * 64)


def test_serving_states_carry_the_current_revision(store: Store) -> None:
    versions(store, 2)
    with store.write() as tx:
        found = deploy(tx, "pay", variant(1))
        revise(tx, found, variant(2), max_batch_size=8)
        deploy(tx, "live", variant(1), environment="production")
    with store.read() as tx:
        live, pay = tx.deployments.serving_states()
    assert (pay.name, pay.environment, pay.revision) == ("pay", "sandbox", 2)
    assert pay.key_hashes == ("a" * 64, "b" * 64)
    assert pay.variants == [variant(2).to_dict()]
    assert pay.options == ServingOptions(max_batch_size=8).to_dict()
    assert (live.name, live.environment, live.revision) == ("live", "production", 1)


def test_deleting_takes_the_revisions(store: Store) -> None:
    versions(store, 1)
    with store.write() as tx:
        found = deploy(tx, "pay")
        revise(tx, found)
        kept = deploy(tx, "kept")
    with store.write() as tx:
        tx.deployments.delete(found)
    with store.read() as tx:
        assert tx.deployments.deployment_id("pay") is None
        assert tx.deployments.revisions(found) == []
        assert tx.deployments.serving_version("sandbox", "payments", 1) == ["kept"]
        assert [s.name for s in tx.deployments.serving_states()] == ["kept"]
        assert [r.number for r in tx.deployments.revisions(kept)] == [1]
