"""A small package as one request body: an uncompressed tar holding ``metadata.json`` (the
version's metadata), ``modelyard.yaml`` (the manifest, byte for byte) and each file as
``files/sha256-<hex>``. The HTTP SDK writes it; the server reads it from memory (it is
small by definition), checks every member and stores each file once, hashed as it goes.

Larger packages take three requests instead (manifest, then only the files the server
lacks, streamed, then the commit), so identical content is never sent twice.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.domain.errors import InvalidPackage, PayloadTooLarge

MEDIA_TYPE = "application/x-tar"
METADATA = "metadata.json"
MANIFEST = "modelyard.yaml"
FILE = re.compile(r"^files/sha256-([0-9a-f]{64})$")
#: Packages up to this size travel in one request.
MAX_BYTES = 8 << 20


@dataclass(frozen=True, slots=True)
class Archive:
    metadata: dict[str, Any]
    manifest: bytes
    files: dict[str, bytes]  # by digest


def write(metadata: dict[str, Any], manifest: bytes, files: Iterable[tuple[str, Path]]) -> bytes:
    """The body: ``files`` are (digest, path) pairs; each digest once. Built as one join of
    ``tarfile``'s headers and the contents (``TarFile.addfile`` copies every member in
    small writes into a growing buffer, which cost more than the rest of packaging)."""
    parts: list[bytes] = []
    _add(parts, METADATA, json.dumps(metadata).encode())
    _add(parts, MANIFEST, manifest)
    for digest, path in dict(files).items():
        _add(parts, f"files/sha256-{digest.removeprefix('sha256:')}", path.read_bytes())
    size = sum(map(len, parts)) + 2 * tarfile.BLOCKSIZE  # two zero blocks end an archive
    parts.append(bytes(2 * tarfile.BLOCKSIZE + (-size % tarfile.RECORDSIZE)))
    return b"".join(parts)


def _add(parts: list[bytes], name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    parts.append(info.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "surrogateescape"))
    parts.append(data)
    parts.append(bytes(-len(data) % tarfile.BLOCKSIZE))


def read(body: bytes) -> Archive:
    """The members of a body, each checked: regular files with the expected names only."""
    if len(body) > MAX_BYTES + (1 << 20):
        raise PayloadTooLarge(f"a one-request package is at most {MAX_BYTES} bytes")
    metadata: dict[str, Any] | None = None
    manifest: bytes | None = None
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
            for member in tar:
                if not member.isreg():
                    raise InvalidPackage(f"package member {member.name!r} is not a regular file")
                handle = tar.extractfile(member)
                assert handle is not None  # a regular file
                data = handle.read()
                if member.name == METADATA:
                    metadata = _metadata(data)
                elif member.name == MANIFEST:
                    manifest = data
                elif found := FILE.match(member.name):
                    files["sha256:" + found.group(1)] = data
                else:
                    raise InvalidPackage(f"unexpected package member {member.name!r}")
    except tarfile.TarError as e:
        raise InvalidPackage(f"the body is not a package archive: {e}") from None
    if metadata is None or manifest is None:
        raise InvalidPackage(f"a package archive needs {METADATA} and {MANIFEST}")
    return Archive(metadata, manifest, files)


def _metadata(data: bytes) -> dict[str, Any]:
    try:
        found = json.loads(data)
    except ValueError:
        raise InvalidPackage(f"{METADATA} is not JSON") from None
    if not isinstance(found, dict):
        raise InvalidPackage(f"{METADATA} must be an object")
    return found
