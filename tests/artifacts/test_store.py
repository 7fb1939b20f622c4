"""The content-addressed artifact store, on a local folder and on S3 (moto)."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from modelyard.artifacts.digests import CHUNK, digest_bytes, digest_file
from modelyard.artifacts.store import ArtifactStore, open_store
from modelyard.domain.errors import IntegrityFailure, InvalidInput, NotFound

MiB = 1 << 20


def leftovers(store: ArtifactStore) -> list[str]:
    """Whatever sits in the store's ``tmp/`` area."""
    tmp = f"{store.root}/tmp"
    if not store.fs.exists(tmp):
        return []
    return [str(p) for p in store.fs.find(tmp)]


def tamper(store: ArtifactStore, digest: str, data: bytes) -> None:
    """Overwrite an object's bytes behind the store's back."""
    with store.fs.open(store.path(digest), "wb") as fh:
        fh.write(data)


class FailingStream(io.RawIOBase):
    """Yields ``chunks`` full chunks, then fails as a dropped upload source would."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.left == 0:
            raise ConnectionResetError("source went away")
        self.left -= 1
        return b"x" * (CHUNK if n < 0 else n)


# -- round trip --------------------------------------------------------------------------


def test_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    data = b"model weights\n" * 100_000  # 1.4 MB: more than one chunk
    src = tmp_path / "model.bin"
    src.write_bytes(data)

    info = store.put_file(src)

    assert info.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert info == digest_file(src)
    assert info.size == len(data)
    assert store.exists(info.digest)
    assert store.get_bytes(info.digest) == data
    dest = tmp_path / "out" / "model.bin"
    store.get_file(info.digest, dest)
    assert dest.read_bytes() == data
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin"]
    store.verify(info.digest)
    with store.open(info.digest) as reader:
        assert b"".join(reader) == data


def test_put_bytes_and_put_stream(store: ArtifactStore) -> None:
    small = store.put_bytes(b"hello")
    assert small.digest == digest_bytes(b"hello")
    assert small.size == 5
    streamed = store.put_stream(io.BytesIO(b"a stream"), expected=digest_bytes(b"a stream"))
    assert store.get_bytes(streamed.digest) == b"a stream"
    empty = store.put_bytes(b"")
    assert store.get_bytes(empty.digest) == b""
    assert sorted(store.iter_digests()) == sorted([small.digest, streamed.digest, empty.digest])


def test_read_in_small_pieces(store: ArtifactStore) -> None:
    data = bytes(range(256)) * 10
    digest = store.put_bytes(data).digest
    with store.open(digest) as reader:
        assert reader.read(0) == b""  # a zero-length read is not the end of the stream
        parts = []
        while part := reader.read(1000):
            parts.append(part)
    assert b"".join(parts) == data


def test_identical_content_is_stored_once(store: ArtifactStore, tmp_path: Path) -> None:
    data = b"same bytes" * 1000
    src = tmp_path / "a.bin"
    src.write_bytes(data)

    digests = {
        store.put_bytes(data).digest,
        store.put_file(src).digest,
        store.put_stream(io.BytesIO(data)).digest,
        store.put_file(src, expected=digest_bytes(data)).digest,
    }

    assert digests == {digest_bytes(data)}
    assert list(store.iter_digests()) == [digest_bytes(data)]
    assert store.fs.find(f"{store.root}/objects") == [store.path(digest_bytes(data))]
    assert leftovers(store) == []


def test_delete(store: ArtifactStore) -> None:
    keep = store.put_bytes(b"keep").digest
    gone = store.put_bytes(b"gone").digest
    store.delete(gone)
    store.delete(gone)  # deleting twice is not an error
    assert not store.exists(gone)
    assert list(store.iter_digests()) == [keep]
    with pytest.raises(NotFound):
        store.get_bytes(gone)


# -- integrity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "replacement",
    [
        pytest.param(lambda data: data[:-1] + bytes([data[-1] ^ 1]), id="flipped-bit"),
        pytest.param(lambda data: data[:10], id="truncated"),
        pytest.param(lambda data: b"", id="emptied"),
    ],
)
def test_tampered_object_is_detected(store: ArtifactStore, tmp_path: Path, replacement) -> None:
    data = b"trusted model" * 200_000  # 2.6 MB: the mismatch shows only after many chunks
    digest = store.put_bytes(data).digest
    tamper(store, digest, replacement(data))

    with pytest.raises(IntegrityFailure) as excinfo:
        store.get_bytes(digest)
    assert excinfo.value.details["digest"] == digest

    dest = tmp_path / "out" / "model.bin"
    with pytest.raises(IntegrityFailure):
        store.get_file(digest, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no partial download left behind

    with pytest.raises(IntegrityFailure):
        store.verify(digest)
    with pytest.raises(IntegrityFailure), store.open(digest) as reader:
        for _ in reader:
            pass


def test_get_file_keeps_an_existing_dest_when_the_object_is_corrupt(
    store: ArtifactStore, tmp_path: Path
) -> None:
    digest = store.put_bytes(b"good").digest
    tamper(store, digest, b"evil")
    dest = tmp_path / "model.bin"
    dest.write_bytes(b"previous")
    with pytest.raises(IntegrityFailure):
        store.get_file(digest, dest)
    assert dest.read_bytes() == b"previous"


def test_put_file_with_wrong_expected_digest_stores_nothing(
    store: ArtifactStore, tmp_path: Path
) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(b"what is really there")
    wrong = digest_bytes(b"what the caller believes is there")

    with pytest.raises(IntegrityFailure):
        store.put_file(src, expected=wrong)

    assert list(store.iter_digests()) == []
    assert not store.exists(wrong)
    assert not store.exists(digest_bytes(src.read_bytes()))
    assert leftovers(store) == []


# -- atomic writes -----------------------------------------------------------------------


def test_failing_source_leaves_nothing_behind(store: ArtifactStore) -> None:
    with pytest.raises(Exception, match="source went away"):
        store.put_stream(FailingStream(chunks=3))  # type: ignore[arg-type]

    assert list(store.iter_digests()) == []
    assert leftovers(store) == []
    if store.local:
        assert list(Path(store.root, "tmp").iterdir()) == []
        assert [p for p in Path(store.root, "objects").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("make", [ArtifactStore, open_store], ids=["fsspec", "local"])
def test_large_file_streams_in_bounded_memory(tmp_path: Path, make: Any) -> None:
    store = make(str(tmp_path / "artifacts"))
    src = tmp_path / "big.bin"
    with open(src, "wb") as fh:
        fh.truncate(64 * MiB)  # sparse: costs no disk, reads back as zeros
    dest = tmp_path / "copy.bin"

    tracemalloc.start()
    try:
        info = store.put_file(src)
        store.get_file(info.digest, dest)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 16 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
    assert info.size == 64 * MiB
    assert digest_file(dest) == info


# -- bad requests ------------------------------------------------------------------------


def test_missing_object_is_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    absent = digest_bytes(b"never stored")
    assert not store.exists(absent)
    with pytest.raises(NotFound):
        store.get_bytes(absent)
    with pytest.raises(NotFound):
        store.open(absent)
    with pytest.raises(NotFound):
        store.verify(absent)
    dest = tmp_path / "out.bin"
    with pytest.raises(NotFound):
        store.get_file(absent, dest)
    assert not dest.exists()
    store.delete(absent)  # nothing to delete is not an error


BAD_DIGESTS = [
    "",
    "deadbeef",
    "sha256:",
    "sha256:" + "a" * 63,
    "sha256:" + "a" * 65,
    "md5:" + "a" * 64,
    "sha256:" + "g" * 64,
    "sha256:" + "A" * 64,
    "sha256:" + "a_" * 32,
    "sha256:+" + "a" * 63,
    "sha256: " + "a" * 63,
    "sha256:../" + "a" * 61,
]


@pytest.mark.parametrize("digest", BAD_DIGESTS)
def test_invalid_digest_is_invalid_input(store: ArtifactStore, digest: str, tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"data")
    for call in (
        lambda: store.path(digest),
        lambda: store.exists(digest),
        lambda: store.get_bytes(digest),
        lambda: store.open(digest),
        lambda: store.verify(digest),
        lambda: store.get_file(digest, tmp_path / "out.bin"),
        lambda: store.delete(digest),
        lambda: store.put_file(src, expected=digest),
    ):
        with pytest.raises(InvalidInput):
            call()
    assert list(store.iter_digests()) == []
