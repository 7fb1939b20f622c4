"""Content digests, ``sha256:<64 hex digits>``: the name of an object in the artifact store
and of a file in a package's manifest.

Standard library only, so the HTTP client and the package code name and check content
without loading a storage backend (``store`` imports fsspec).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

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
