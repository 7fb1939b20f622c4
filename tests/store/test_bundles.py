"""The bundles repository: trusted keys found by name or id and unique in both, imports
remembered by bundle digest, and the installation's id."""

from __future__ import annotations

import pytest

from modelyard.domain.bundles import TrustedKey
from modelyard.domain.errors import Conflict
from modelyard.store.bundles import BundleImport
from modelyard.store.unit import Store
from tests.store.test_registry import version

KEY = "A" * 43 + "="


def test_the_installation_has_an_id(store: Store) -> None:
    with store.read() as tx:
        found = tx.bundles.installation_id()
    assert found is not None and len(found) == 32
    int(found, 16)


def test_trusted_keys_are_found_by_name_or_id(store: Store) -> None:
    with store.write() as tx:
        trusted = tx.bundles.trust("partner", "0123456789abcdef", KEY, "alice")
        tx.bundles.trust("archive", "fedcba9876543210", KEY, "bob")
    assert trusted == TrustedKey("partner", "0123456789abcdef", KEY, "alice")
    with store.read() as tx:
        assert tx.bundles.find_key(name="partner") == trusted
        assert tx.bundles.find_key(key_id="0123456789abcdef") == trusted
        assert tx.bundles.find_key(name="nope", key_id="0123456789abcdef") == trusted
        assert tx.bundles.find_key(name="nope", key_id="nope") is None
        assert tx.bundles.find_key() is None
        assert [k.name for k in tx.bundles.trusted_keys()] == ["archive", "partner"]


@pytest.mark.parametrize(
    ("name", "key_id"), [("partner", "1111111111111111"), ("other", "0123456789abcdef")]
)
def test_a_key_name_and_id_are_trusted_once(store: Store, name: str, key_id: str) -> None:
    with store.write() as tx:
        tx.bundles.trust("partner", "0123456789abcdef", KEY, "alice")
    with pytest.raises(Conflict), store.write() as tx:
        tx.bundles.trust(name, key_id, KEY, "bob")
    with store.read() as tx:
        assert [k.created_by for k in tx.bundles.trusted_keys()] == ["alice"]


def test_an_import_is_remembered_by_bundle_digest(store: Store) -> None:
    digest = "sha256:" + "b" * 64
    with store.write() as tx:
        model_id, _ = tx.registry.get_or_create_model("sandbox", "payments")
        version_id = version(tx, model_id)
        assert tx.bundles.imported(digest) is None
        tx.bundles.record_import(
            digest,
            version_id=version_id,
            source="abc/sandbox/payments:4",
            key_id="0123456789abcdef",
            created_by="alice",
        )
    with store.read() as tx:
        assert tx.bundles.imported(digest) == BundleImport(
            version_id, "abc/sandbox/payments:4", "0123456789abcdef"
        )
        assert tx.bundles.imported("sha256:" + "c" * 64) is None
    with store.write() as tx:  # deleting the version forgets the import
        tx.registry.delete_version(version_id)
    with store.read() as tx:
        assert tx.bundles.imported(digest) is None
