"""The edge export: a folder that serves one deployment with no server and no database.

::

    modelyard-export.json    the deployment as a scoring worker sees it (revision, variants,
                             options, scoring key hashes), where it came from, and when
    packages/<hex>/...       each served package: its files and its exact modelyard.yaml
    wheels/*.whl             every distribution the environment needs, modelyard's own too
    requirements.txt         that environment, pinned exactly (the lock)
    serve.sh                 the start script: ``modelyard serve`` on this folder
    FILES.json               every file above with its sha256 and size
    SIGNATURE.json           Ed25519 over the exact bytes of FILES.json: key id, public key

At start ``modelyard serve DIR`` verifies the signature, then every listed file's digest
and size, and refuses a file that is not listed: a tampered export does not start. Only
``collected/`` (the rows scored on the device) and ``.sync/`` (what ``edge sync`` has
uploaded) are written next to them. The public key in ``SIGNATURE.json`` detects changes;
``--trust KEY`` (or ``MODELYARD_TRUSTED_KEYS``) pins which signer a device accepts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from modelyard.domain.errors import IntegrityFailure, InvalidInput

FORMAT = 1
EXPORT = "modelyard-export.json"
FILES = "FILES.json"
SIGNATURE = "SIGNATURE.json"
REQUIREMENTS = "requirements.txt"
START = "serve.sh"
COLLECTED = "collected"
LEDGER = ".sync"
#: The names a signed file may have (relative, POSIX).
SIGNED = re.compile(
    r"^(?:modelyard-export\.json|requirements\.txt|serve\.sh"
    r"|wheels/[A-Za-z0-9._+!-]+\.whl"
    r"|packages/[0-9a-f]{64}/[^\x00\\]+)$"
)
START_SCRIPT = """#!/bin/sh
# Serve this export offline. Install it once first (Python 3.{minor}, this platform):
#   python -m venv .venv && .venv/bin/pip install --no-index --find-links wheels -r requirements.txt
set -e
here=$(cd "$(dirname "$0")" && pwd)
exec modelyard serve "$here" "$@"
"""


def safe_name(name: str) -> bool:
    """A member an export may hold: a signed file's name, without ``..`` or ``.`` parts."""
    parts = name.split("/")
    return bool(SIGNED.match(name)) and all(p not in ("", ".", "..") for p in parts)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_export(folder: Path, trusted: tuple[str, ...] = ()) -> dict[str, Any]:
    """The export's ``modelyard-export.json``, once every check has passed; raises
    ``IntegrityFailure`` naming the first thing that is wrong."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    where = f"the export in {folder}"
    if not folder.is_dir():
        raise InvalidInput(f"no such folder: {folder}")
    try:
        listing = (folder / FILES).read_bytes()
        signature = json.loads((folder / SIGNATURE).read_bytes())
        public = base64.b64decode(signature["public_key"], validate=True)
        signed = base64.b64decode(signature["signature"], validate=True)
    except FileNotFoundError as e:
        raise IntegrityFailure(
            f"{where} is not a modelyard export: {Path(str(e.filename)).name} is missing"
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise IntegrityFailure(f"{where}: {SIGNATURE} does not read") from None
    if trusted and signature["public_key"] not in trusted:
        raise IntegrityFailure(
            f"{where} is signed by key {signature.get('key_id')}, which this device does not trust"
        )
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signed, listing)
    except (InvalidSignature, ValueError):
        raise IntegrityFailure(f"{where} was changed: its signature does not match") from None
    files: dict[str, dict[str, Any]] = json.loads(listing)
    for name, info in sorted(files.items()):
        path = folder / name
        if not safe_name(name) or not path.is_file() or path.is_symlink():
            raise IntegrityFailure(f"{where} was changed: {name} is missing")
        if path.stat().st_size != info["size"] or sha256_file(path) != info["sha256"]:
            raise IntegrityFailure(f"{where} was changed: {name} does not match its signature")
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if name.split("/")[0] in (COLLECTED, LEDGER, FILES, SIGNATURE) or path.is_dir():
            continue
        if name not in files:
            raise IntegrityFailure(f"{where} was changed: {name} is not part of it")
    found: dict[str, Any] = json.loads((folder / EXPORT).read_bytes())
    if found.get("format") != FORMAT:
        raise IntegrityFailure(
            f"{where} has format {found.get('format')}; this modelyard reads format {FORMAT}"
        )
    return found
