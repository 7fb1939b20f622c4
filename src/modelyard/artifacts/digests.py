"""Content digests, ``sha256:<64 hex digits>``: the name of an object in the artifact store
and of a file in a package's manifest.

Standard library only, so the HTTP client and the package code name and check content
without loading a storage backend (``store`` imports fsspec).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

CHUNK = 1 << 20
PREFIX = "sha256:"


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: str
    size: int


def digest_file(path: Path) -> BlobInfo:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return BlobInfo(PREFIX + h.hexdigest(), size)


def digest_bytes(data: bytes) -> str:
    return PREFIX + hashlib.sha256(data).hexdigest()


class Hashing:
    """A writable sink that hashes what passes through it."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha256 = hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        self.sha256.update(chunk)
        return self.out.write(chunk)


def receive(digest: str, dest: Path, write: Callable[[Any], object]) -> None:
    """Write an object to ``dest`` with ``write(sink)``, verified against ``digest``:
    ``dest`` appears only whole and correct (``IntegrityFailure`` otherwise)."""
    from modelyard.domain.errors import IntegrityFailure

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        with open(tmp, "wb") as out:
            hashing = Hashing(out)
            write(hashing)
        if PREFIX + hashing.sha256.hexdigest() != digest:
            raise IntegrityFailure(f"downloaded file does not match {digest}", digest=digest)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
