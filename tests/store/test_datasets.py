"""The datasets repository: versions numbered by the database, entities out, baselines
kept per model version."""

from __future__ import annotations

import json

from modelyard.store.tables import utcnow
from modelyard.store.unit import Store, Tx


def add(tx: Tx, name: str, rows: int) -> int:
    dataset_id, _ = tx.datasets.get_or_create("sandbox", name, "alice")
    number = tx.datasets.allocate_version(dataset_id)
    tx.datasets.insert_version(
        dataset_id,
        number,
        {
            "digest": "sha256:" + f"{number:064x}",
            "format": "csv",
            "size_bytes": 100,
            "rows": rows,
            "columns": [["amount", "double"], ["region", "string"]],
            "profile": json.dumps({"rows": rows, "features": {}}),
            "source": "/tmp/x.csv",
            "description": "",
            "created_by": "alice",
            "created_at": utcnow(),
        },
    )
    return dataset_id


def test_versions_read_back_as_entities(store: Store) -> None:
    with store.write() as tx:
        first = add(tx, "invoices", 10)
        again = add(tx, "invoices", 20)
        add(tx, "customers", 5)
    assert first == again
    with store.read() as tx:
        latest = tx.datasets.version(first, None)
        one = tx.datasets.version(first, 1)
        assert tx.datasets.version(first, 3) is None
        versions = tx.datasets.versions(first)
        newest = tx.datasets.latest("sandbox")
        assert tx.datasets.latest("production") == []
        assert tx.datasets.dataset_id("sandbox", "nope") is None
    assert latest is not None and one is not None
    assert (latest.ref, latest.rows, one.rows) == ("sandbox/invoices:2", 20, 10)
    assert [c.name for c in one.columns] == ["amount", "region"]
    assert one.profile == {"rows": 10, "features": {}}
    assert [v.version for v in versions] == [1, 2]
    assert [v.ref for v in newest] == ["sandbox/customers:1", "sandbox/invoices:2"]


def test_digests_and_users(store: Store) -> None:
    with store.write() as tx:
        add(tx, "invoices", 10)
    with store.read() as tx:
        assert tx.datasets.all_digests() == {"sha256:" + f"{1:064x}"}
        assert tx.datasets.used_by(["sandbox/invoices:1"]) == {"sandbox/invoices:1": []}
        assert tx.datasets.used_by([]) == {}
