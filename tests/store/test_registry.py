"""The registry's repository: what it writes reads back whole, numbers come from the
database, and it answers with entities and ids (never rows)."""

from __future__ import annotations

import pytest

from modelyard.domain.entities import Model, ModelVersion
from modelyard.domain.errors import Conflict
from modelyard.domain.filters import parse_filter, parse_order_by
from modelyard.store.tables import utcnow
from modelyard.store.unit import Store, Tx

DIGEST = "sha256:" + "a" * 64


def version(tx: Tx, model_id: int, **tags: str) -> int:
    tx.packages.record(DIGEST, "flavor: sklearn\n", 10, 1)
    number = tx.registry.allocate_version(model_id)
    return tx.registry.insert_version(
        model_id=model_id,
        version=number,
        values={
            "package_digest": DIGEST,
            "flavor": "sklearn",
            "signature": {"inputs": [{"name": "a", "type": "double"}]},
            "requirements": ["scikit-learn==1.0"],
            "size_bytes": 10,
            "status": "ready",
            "description": "",
            "source": "/tmp/model",
            "git_commit": None,
            "promoted_from": None,
            "locked": False,
            "created_by": "alice",
            "created_at": utcnow(),
        },
        tags=dict(tags),
        metrics={"f1": 0.5},
        params={"c": "1"},
        datasets=[("sandbox/train:1", "training")],
    )


def test_environments_are_seeded(store: Store) -> None:
    with store.read() as tx:
        assert [e.name for e in tx.registry.list_environments()] == ["production", "sandbox"]
        assert tx.registry.environment_exists("sandbox")
        assert not tx.registry.environment_exists("staging")


def test_a_model_is_created_once(store: Store) -> None:
    with store.write() as tx:
        first, created = tx.registry.get_or_create_model("sandbox", "payments")
        again, created_again = tx.registry.get_or_create_model("sandbox", "payments")
    assert (created, created_again) == (True, False)
    assert first == again
    with store.read() as tx:
        assert tx.registry.model_id("sandbox", "payments") == first
        assert tx.registry.model_id("production", "payments") is None


def test_a_version_reads_back_whole(store: Store) -> None:
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        vid = version(tx, model_id, team="risk")
    with store.read() as tx:
        (found,) = tx.registry.version_entities([vid])
    assert isinstance(found, ModelVersion)
    assert (found.ref, found.tags, found.metrics, found.params) == (
        "sandbox/payments:1",
        {"team": "risk"},
        {"f1": 0.5},
        {"c": "1"},
    )
    assert found.lineage.datasets == ("sandbox/train:1",)
    assert found.signature == {"inputs": [{"name": "a", "type": "double"}]}
    assert found.requirements == ("scikit-learn==1.0",)


def test_version_numbers_count_from_one_without_gaps(store: Store) -> None:
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        ids = [version(tx, model_id) for _ in range(3)]
    # a rolled-back transaction gives its number back
    with pytest.raises(RuntimeError), store.write() as tx:
        version(tx, model_id)
        raise RuntimeError
    with store.write() as tx:
        ids.append(version(tx, model_id))
    with store.read() as tx:
        assert [v.version for v in tx.registry.version_entities(ids)] == [1, 2, 3, 4]
        assert tx.registry.latest_version_id(model_id) == ids[-1]
        assert tx.registry.version_id(model_id, 2) == ids[1]
        assert tx.registry.version_id(model_id, 9) is None


def test_aliases_remember_where_they_pointed(store: Store) -> None:
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        one, two = version(tx, model_id), version(tx, model_id)
        tx.registry.upsert_alias(model_id, "champion", one, None, "alice")
        tx.registry.upsert_alias(model_id, "champion", two, 1, "bob")
    with store.read() as tx:
        target = tx.registry.alias(model_id, "champion")
        assert target is not None
        assert (target.version_id, target.version, target.previous_version) == (two, 2, 1)
        assert tx.registry.alias(model_id, "nope") is None
        (model,) = tx.registry.models([model_id])
    assert isinstance(model, Model)
    assert (model.aliases, model.latest_version) == ({"champion": 2}, 2)


def test_tags_upsert_and_delete(store: Store) -> None:
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        vid = version(tx, model_id, a="1", b="2")
        tx.registry.set_version_tags(vid, {"a": "changed", "c": "3"})
        assert tx.registry.delete_version_tag(vid, "b")
        assert not tx.registry.delete_version_tag(vid, "b")
        tx.registry.set_model_tags(model_id, {"team": "risk"})
        tx.registry.set_model_description(model_id, "scores invoices")
    with store.read() as tx:
        assert tx.registry.version_entities([vid])[0].tags == {"a": "changed", "c": "3"}
        (model,) = tx.registry.models([model_id])
    assert (model.tags, model.description) == ({"team": "risk"}, "scores invoices")


def test_packages_are_pending_until_a_version_uses_them(store: Store) -> None:
    with store.write() as tx:
        tx.packages.record(DIGEST, "flavor: sklearn\n", 10, 1)
        tx.packages.record(DIGEST, "ignored: a second record\n", 10, 1)
    with store.read() as tx:
        (package,) = tx.packages.all()
        assert (package.state, package.manifest) == ("pending", "flavor: sklearn\n")
        assert tx.packages.manifest(DIGEST) == "flavor: sklearn\n"
        assert tx.packages.use_counts() == {}
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        version(tx, model_id)
        tx.packages.mark_ready(DIGEST)
    with store.read() as tx:
        assert tx.packages.all()[0].state == "ready"
        assert tx.packages.use_counts() == {DIGEST: 1}
        assert tx.registry.all_version_digests() == [("sandbox", "payments", 1, DIGEST)]


def test_a_package_recorded_ready_is_ready_also_when_it_was_pending(store: Store) -> None:
    other = "sha256:" + "b" * 64
    with store.write() as tx:
        tx.packages.record(DIGEST, "flavor: sklearn\n", 10, 1)  # a remote upload began
    with store.write() as tx:  # a registration in one transaction names both
        tx.packages.record(DIGEST, "ignored: recorded already\n", 10, 1, ready=True)
        tx.packages.record(other, "flavor: python\n", 20, 2, ready=True)
    with store.read() as tx:
        found = {p.digest: (p.state, p.manifest) for p in tx.packages.all()}
    assert found == {DIGEST: ("ready", "flavor: sklearn\n"), other: ("ready", "flavor: python\n")}


def test_deleting_a_model_takes_its_versions_and_aliases(store: Store) -> None:
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        vid = version(tx, model_id)
        tx.registry.upsert_alias(model_id, "champion", vid, None, "alice")
        tx.registry.delete_model(model_id)
    with store.read() as tx:
        assert tx.registry.model_id("sandbox", "payments") is None
        assert tx.registry.version_entities([vid]) == []
        assert tx.registry.list_models(None) == []


def test_search_pages_in_order(store: Store) -> None:
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        ids = [version(tx, model_id, team="risk") for _ in range(3)]
        for i, vid in enumerate(ids):
            tx.registry.set_version_metrics(vid, {"f1": i / 10})
    node, order = parse_filter("tags.team = 'risk'"), parse_order_by(["metrics.f1 DESC"])
    with store.read() as tx:
        first, more = tx.registry.search_version_ids(
            node=node, order=order, environments=["sandbox"], offset=0, limit=2
        )
        rest, done = tx.registry.search_version_ids(
            node=node, order=order, environments=["sandbox"], offset=2, limit=2
        )
        elsewhere, _ = tx.registry.search_version_ids(
            node=node, order=order, environments=["production"], offset=0, limit=10
        )
    assert (first, more, rest, done, elsewhere) == (ids[:0:-1], True, ids[:1], False, [])


def test_a_duplicate_version_number_is_a_conflict(store: Store) -> None:
    with pytest.raises(Conflict), store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        vid = version(tx, model_id)
        (row,) = tx.registry.version_entities([vid])
        tx.registry.insert_version(
            model_id=model_id,
            version=1,
            values={
                **{f: getattr(row, f) for f in ("package_digest", "flavor", "signature")},
                "requirements": [],
                "size_bytes": 1,
                "status": "ready",
                "description": "",
                "created_by": "bob",
                "created_at": utcnow(),
            },
            tags={},
            metrics={},
            params={},
            datasets=[],
        )
