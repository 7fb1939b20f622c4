"""Bad input: a one-line error from the one exception tree, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard import (
    Client,
    IntegrityFailure,
    InvalidFilter,
    InvalidInput,
    InvalidName,
    InvalidPackage,
    ModelyardError,
    NotFound,
)
from modelyard.artifacts.store import ArtifactStore
from modelyard.flavors.package import MANIFEST
from modelyard.services.container import Services


@pytest.fixture
def store(services: Services) -> ArtifactStore:
    """The artifact store the client writes to."""
    return services.artifacts


State = Callable[[], tuple[int, int, int]]


@pytest.fixture
def state(client: Client, store: ArtifactStore) -> State:
    """Audit events, stored objects and versions: what a refused input must not change."""

    def count() -> tuple[int, int, int]:
        events = len(client.audit(limit=10_000))
        objects = len(list(store.iter_digests()))
        versions = sum(len(client.list_versions(m.full_name)) for m in client.list_models())
        return events, objects, versions

    return count


@pytest.fixture
def seeded(client: Client, make_package: Callable[..., Path]) -> Client:
    client.register("payments", make_package())
    return client


def test_unknown_model_and_version(seeded: Client) -> None:
    with pytest.raises(NotFound, match="^model sandbox/nope does not exist$"):
        seeded.get_version("nope:1")
    with pytest.raises(NotFound, match="^version sandbox/payments:7 does not exist$"):
        seeded.get_version("payments:7")
    with pytest.raises(NotFound, match="alias 'gold' is not set"):
        seeded.get_version("payments@gold")


@pytest.mark.parametrize("name", ["", "-bad", "has space", "x" * 200, "a/b/c", "ünï"])
def test_invalid_names_write_nothing(
    seeded: Client, state: State, make_package: Callable[..., Path], name: str
) -> None:
    before = state()
    with pytest.raises(InvalidName) as info:
        seeded.register(name, make_package())
    assert "\n" not in str(info.value)
    assert state() == before


def test_malformed_filter_points_at_the_token(seeded: Client) -> None:
    with pytest.raises(InvalidFilter) as info:
        seeded.search_versions("metrics.f1 > 0.5 AND OR name = 'x'")
    assert info.value.details["position"] == 22
    assert info.value.details["token"] == "OR"
    assert "position 22 near 'OR'" in info.value.message


def test_corrupt_package_folder_is_refused(
    seeded: Client, state: State, make_package: Callable[..., Path]
) -> None:
    folder = make_package()
    (folder / "weights.bin").write_bytes(b"changed after the manifest was written")
    before = state()
    with pytest.raises(InvalidPackage, match="weights.bin' does not match its (size|digest)"):
        seeded.register("payments", folder)
    assert state() == before


def test_unreadable_manifest_is_refused(
    seeded: Client, state: State, make_package: Callable[..., Path]
) -> None:
    folder = make_package()
    (folder / MANIFEST).write_text("files: [unclosed")
    before = state()
    with pytest.raises(InvalidPackage, match="not valid YAML"):
        seeded.register("payments", folder)
    assert state() == before


def test_not_a_model_file_is_refused(seeded: Client, state: State, tmp_path: Path) -> None:
    junk = tmp_path / "model.pkl"
    junk.write_bytes(b"\x00\x01 not a pickle")
    (tmp_path / "x.csv").write_text("amount\n1.0\n")
    before = state()
    with pytest.raises(InvalidPackage, match="model.pkl"):
        seeded.register("payments", junk, input_example=tmp_path / "x.csv")
    assert state() == before


def test_bare_model_file_needs_an_input_example(
    seeded: Client, state: State, tmp_path: Path, trained_model: object
) -> None:
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump(trained_model, path)
    before = state()
    with pytest.raises(InvalidInput, match="--input-example"):
        seeded.register("payments", path)
    assert state() == before


def test_tampered_artifact_fails_on_load(
    client: Client, store: ArtifactStore, trained_model: object, payments_frame: object
) -> None:
    import pandas as pd

    frame = pd.DataFrame(payments_frame).drop(columns="label")
    v = client.log_model(trained_model, "payments", input_example=frame.head())
    for digest in store.iter_digests():
        with store.fs.open(store.path(digest), "rb") as fh:
            head = fh.read(200)
        if b"flavor" not in head:  # a model file, not the manifest
            with store.fs.open(store.path(digest), "wb") as fh:
                fh.write(b"tampered")
    with pytest.raises(IntegrityFailure, match="corrupt"):
        client.load_model(v.ref)
    report = client.doctor()
    assert not report.ok
    assert any(f.kind == "package_corrupt" for f in report.findings)


def test_errors_share_one_root() -> None:
    for cls in (NotFound, InvalidName, InvalidFilter, InvalidPackage, IntegrityFailure):
        assert issubclass(cls, ModelyardError)


def test_same_size_corruption_is_caught_while_copying(
    seeded: Client, state: State, store: ArtifactStore, make_package: Callable[..., Path]
) -> None:
    folder = make_package(4096)
    data = bytearray((folder / "weights.bin").read_bytes())
    data[100] ^= 0xFF  # one flipped byte: same size, different digest
    (folder / "weights.bin").write_bytes(bytes(data))
    before = state()
    with pytest.raises(InvalidPackage, match="weights.bin' does not match its digest"):
        seeded.register("payments", folder)
    assert state() == before
    assert store.fs.ls(f"{store.root}/tmp") == []  # no temporary object left behind


def test_a_registration_naming_a_missing_dataset_leaves_nothing(
    seeded: Client, state: State, store: ArtifactStore, make_package: Callable[..., Path]
) -> None:
    # its objects are written before the dataset is looked up, and discarded when it fails
    folder = make_package(4096)
    before = state()
    with pytest.raises(NotFound, match="no-such-table"):
        seeded.register("payments", folder, eval_datasets=["no-such-table:1"])
    assert state() == before
    assert store.fs.ls(f"{store.root}/tmp") == []
