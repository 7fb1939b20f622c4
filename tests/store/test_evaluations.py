"""The evaluations repository: an evaluation reads back whole, naming its version; the
newest one on a dataset is found by name; the lineage keeps a dataset's first role."""

from __future__ import annotations

from modelyard.domain.promotions import Evaluation
from modelyard.store.unit import Store, Tx
from tests.store.test_registry import version


def evaluate(tx: Tx, version_id: int, dataset: str, accuracy: float = 0.5) -> int:
    return tx.evaluations.add(
        version_id,
        dataset=dataset,
        label="label",
        kind="classification",
        rows=100,
        metrics={"accuracy": accuracy},
        details={"confusion": [[1, 0], [0, 1]]},
        created_by="alice",
    )


def two_versions(store: Store) -> tuple[int, int]:
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        return version(tx, model_id), version(tx, model_id)


def test_an_evaluation_reads_back_naming_its_version(store: Store) -> None:
    one, two = two_versions(store)
    with store.write() as tx:
        first = evaluate(tx, one, "sandbox/holdout:1", 0.7)
        second = evaluate(tx, two, "sandbox/holdout:1", 0.8)
    with store.read() as tx:
        found = tx.evaluations.get(first)
        assert tx.evaluations.get(second + 1) is None
        every = tx.evaluations.list_evaluations()
        of_two = tx.evaluations.list_evaluations(two)
    assert isinstance(found, Evaluation)
    assert (found.id, found.version, found.dataset, found.label, found.kind, found.rows) == (
        first,
        "sandbox/payments:1",
        "sandbox/holdout:1",
        "label",
        "classification",
        100,
    )
    assert (found.metrics, found.details, found.created_by) == (
        {"accuracy": 0.7},
        {"confusion": [[1, 0], [0, 1]]},
        "alice",
    )
    assert found.created_at is not None
    assert [e.id for e in every] == [first, second]
    assert [(e.id, e.version) for e in of_two] == [(second, "sandbox/payments:2")]


def test_the_newest_evaluation_on_a_dataset_is_found_by_name(store: Store) -> None:
    one, two = two_versions(store)
    with store.write() as tx:
        evaluate(tx, one, "sandbox/holdout:1")
        newest = evaluate(tx, one, "sandbox/holdout:2")
        other_env = evaluate(tx, one, "production/holdout:1")
        evaluate(tx, one, "sandbox/holdout_x:1")
        evaluate(tx, one, "sandbox/holdoutz:1")
    with store.read() as tx:
        by_name = tx.evaluations.latest(one, "holdout")  # any environment
        by_env = tx.evaluations.latest(one, "sandbox/holdout")
        suffix_ignored = tx.evaluations.latest(one, "sandbox/holdout:1")
        underscore = tx.evaluations.latest(one, "hold_ut")  # not a LIKE wildcard
        wrong_version = tx.evaluations.latest(two, "holdout")
    assert by_name is not None and by_name.id == other_env
    assert by_env is not None and by_env.id == newest
    assert suffix_ignored is not None and suffix_ignored.id == newest
    assert underscore is None
    assert wrong_version is None


def test_the_lineage_keeps_a_datasets_first_role(store: Store) -> None:
    one, _ = two_versions(store)  # trained on sandbox/train:1
    with store.write() as tx:
        assert tx.evaluations.add_to_lineage(one, "sandbox/holdout:1")
        assert not tx.evaluations.add_to_lineage(one, "sandbox/holdout:1")
        assert not tx.evaluations.add_to_lineage(one, "sandbox/train:1")
    with store.read() as tx:
        assert tx.registry.lineage_roles(one) == {
            "sandbox/train:1": "training",
            "sandbox/holdout:1": "evaluation",
        }


def test_evaluations_go_with_their_version(store: Store) -> None:
    one, two = two_versions(store)
    with store.write() as tx:
        gone = evaluate(tx, one, "sandbox/holdout:1")
        kept = evaluate(tx, two, "sandbox/holdout:1")
        tx.registry.delete_version(one)
    with store.read() as tx:
        assert tx.evaluations.get(gone) is None
        assert [e.id for e in tx.evaluations.list_evaluations()] == [kept]
