"""Signed bundles: one file that carries a version from one installation to another.

A bundle is a gzip-compressed tar with exactly these members, regular files only:

- ``bundle.json``: the version's metadata (tags, metrics, params, signature, lineage,
  description), its evaluations and baseline profile, the source installation, the
  package's manifest digest, and every object member with its sha256 and size;
- ``bundle.sig``: ``{"key_id", "algorithm": "ed25519", "signature"}`` over the exact
  bytes of ``bundle.json``;
- ``objects/sha256-<hex>``: the package's manifest and files, by content.

Import checks everything before it writes anything: member names (no ``..``, no absolute
path, nothing but the expected names), member types (no link, device, directory), sizes
(each member and the total, from the tar headers, before anything is decompressed past
them), the signature against this installation's trusted keys, and every object's
digest and size against ``bundle.json`` (a missing or extra member is refused). Only then
are the objects stored and, in one transaction, the version (locked), its evaluations,
baseline and the import record written. Importing the same bundle again reports the
version it made and writes nothing.

Private keys live in ``$MODELYARD_HOME/keys/NAME.key`` (PEM, mode 0600); their public
halves, and other installations', are the trusted keys (``trusted_keys``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from modelyard.artifacts.digests import digest_bytes
from modelyard.artifacts.store import ArtifactStore
from modelyard.domain.auth import Permission, Principal
from modelyard.domain.bundles import ImportResult, TrustedKey
from modelyard.domain.errors import AlreadyExists, InvalidInput, NotFound
from modelyard.domain.names import check_name
from modelyard.domain.reports import Baseline
from modelyard.flavors.package import Manifest
from modelyard.services import lookup
from modelyard.services.auth import require, require_admin
from modelyard.services.datasets import DatasetService
from modelyard.services.evaluations import EvaluationService
from modelyard.services.registry import RegistryService
from modelyard.services.versions import Imported
from modelyard.store.unit import Store, Tx
from modelyard.wire.codec import Codec

FORMAT = 1
METADATA = "bundle.json"
SIGNATURE = "bundle.sig"
OBJECT = re.compile(r"^objects/sha256-([0-9a-f]{64})$")
MAX_METADATA = 64 << 20
MAX_MEMBERS = 10_000
DEFAULT_MAX_BYTES = 16 << 30  # every member together, decompressed


def key_id_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def private_key(keys_dir: Path, name: str) -> Any:
    """The Ed25519 signing key ``name`` kept in ``keys_dir``."""
    from cryptography.hazmat.primitives import serialization

    path = keys_dir / f"{check_name(name, 'key name')}.key"
    if not path.is_file():
        raise NotFound(
            f"no signing key {name!r} in this home: create one with modelyard keys create"
        )
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def sign(private: Any, body: bytes) -> dict[str, str]:
    """``{"key_id", "algorithm", "public_key", "signature"}`` of ``body``."""
    from cryptography.hazmat.primitives import serialization

    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {
        "key_id": key_id_of(raw),
        "algorithm": "ed25519",
        "public_key": base64.b64encode(raw).decode(),
        "signature": base64.b64encode(private.sign(body)).decode(),
    }


class BundleService:
    def __init__(
        self,
        store: Store,
        registry: RegistryService,
        datasets: DatasetService,
        evaluations: EvaluationService,
        artifacts: ArtifactStore,
        home: Path,
        principal: Principal,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.principal = principal
        self.store = store
        self.registry = registry
        self.datasets = datasets
        self.evaluations = evaluations
        self.artifacts = artifacts
        self.home = home
        self.max_bytes = max_bytes

    # -- keys -----------------------------------------------------------------------------
    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    def create_key(self, name: str) -> TrustedKey:
        """A new Ed25519 signing key, kept in the home; its public half is trusted here."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        require_admin(self.principal, "create signing keys")
        check_name(name, "key name")
        path = self.keys_dir / f"{name}.key"
        if path.exists():
            raise AlreadyExists(f"key {name!r} already exists")
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        trusted = self.trust_key(name, base64.b64encode(raw).decode())
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return trusted

    def trust_key(self, name: str, public_key: str) -> TrustedKey:
        """Trust another installation's public key (base64 of its 32 raw bytes)."""
        require_admin(self.principal, "trust signing keys")
        check_name(name, "key name")
        try:
            raw = base64.b64decode(public_key.strip(), validate=True)
        except (ValueError, TypeError):
            raise InvalidInput("the public key is not base64") from None
        if len(raw) != 32:
            raise InvalidInput(f"an Ed25519 public key has 32 bytes, this one {len(raw)}")
        key_id = key_id_of(raw)
        with self.store.write() as tx:
            clash = tx.bundles.find_key(name=name, key_id=key_id)
            if clash is not None:
                raise AlreadyExists(
                    f"key {clash.name!r} ({clash.key_id}) is already trusted", key_id=key_id
                )
            trusted = tx.bundles.trust(
                name, key_id, base64.b64encode(raw).decode(), self.principal.name
            )
            tx.audit.append(
                actor=self.principal.name,
                action="key.trusted",
                subject=f"key:{name}",
                after={"key_id": key_id},
            )
        return trusted

    def list_keys(self) -> list[TrustedKey]:
        with self.store.read() as tx:
            return tx.bundles.trusted_keys()

    def _private_key(self, name: str) -> Any:
        return private_key(self.keys_dir, name)

    def installation(self) -> str:
        with self.store.read() as tx:
            return tx.bundles.installation_id() or "unknown"

    # -- export ---------------------------------------------------------------------------
    def write_bundle(self, ref: str, out: IO[bytes], *, key: str) -> dict[str, Any]:
        """Write the bundle of version ``ref`` to ``out``, signed with key ``key``."""
        from cryptography.hazmat.primitives import serialization

        version = self.registry.get_version(ref)
        require(self.principal, Permission.READ, version.environment)
        private = self._private_key(key)
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        manifest_bytes, manifest = self.registry.versions.package_manifest(version.package_digest)
        objects = {version.package_digest: len(manifest_bytes)}
        for info in manifest.files.values():
            objects[info.digest] = info.size
        try:
            baseline: Baseline | None = self.registry.get_baseline(version.ref)
        except NotFound:
            baseline = None
        evaluations = Codec().encode(self.evaluations.list_evaluations(version.ref))
        metadata = {
            "format": FORMAT,
            "installation": self.installation(),
            "source": version.ref,
            "version": {
                "name": version.name,
                "description": version.description,
                "tags": version.tags,
                "metrics": version.metrics,
                "params": version.params,
                "flavor": version.flavor,
                "signature": version.signature,
                "lineage": {
                    "datasets": list(version.lineage.datasets),
                    "source": version.lineage.source,
                    "git_commit": version.lineage.git_commit,
                    "promoted_from": version.lineage.promoted_from,
                },
            },
            "package": version.package_digest,
            "evaluations": evaluations,
            "baseline": baseline,
            "objects": {
                f"objects/sha256-{d.split(':', 1)[1]}": {"sha256": d, "size": size}
                for d, size in sorted(objects.items())
            },
        }
        body = json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode()
        signature = {
            "key_id": key_id_of(raw),
            "algorithm": "ed25519",
            "signature": base64.b64encode(private.sign(body)).decode(),
        }
        with tarfile.open(fileobj=out, mode="w:gz") as tar:
            _add(tar, METADATA, io.BytesIO(body), len(body))
            sig = json.dumps(signature).encode()
            _add(tar, SIGNATURE, io.BytesIO(sig), len(sig))
            for digest, size in sorted(objects.items()):
                with self.artifacts.open(digest) as reader:
                    _add(tar, f"objects/sha256-{digest.split(':', 1)[1]}", reader, size)  # type: ignore[arg-type]
        return {"source": version.ref, "key_id": signature["key_id"], "objects": len(objects)}

    # -- import ---------------------------------------------------------------------------
    def import_bundle(self, source: IO[bytes], *, environment: str | None = None) -> ImportResult:
        with self._staging() as staging:
            body, signature, staged = self._unpack(source, staging)
            metadata, key_id = self._verify(body, signature, staged)
            env = environment or str(metadata["source"]).split("/", 1)[0]
            require(self.principal, Permission.REGISTER, env)
            bundle_digest = digest_bytes(body)
            with self.store.read() as tx:
                lookup.check_environment(tx, env)
                done = tx.bundles.imported(bundle_digest)
                if done is not None:
                    version = tx.registry.version_entities([done.version_id])[0]
                    return ImportResult(version, False, done.source, done.key_id)
            for member, path in staged.items():
                if member.startswith("objects/"):
                    self.artifacts.put_file(path, metadata["objects"][member]["sha256"])
            package = str(metadata["package"])
            manifest_bytes = staged[f"objects/sha256-{package.split(':', 1)[1]}"].read_bytes()
            origin = f"{metadata['installation']}/{metadata['source']}"
            info = metadata["version"]
            lineage = info["lineage"]

            def record(tx: Tx, version_id: int) -> None:
                tx.bundles.record_import(
                    bundle_digest,
                    version_id=version_id,
                    source=origin[:400],
                    key_id=key_id,
                    created_by=self.principal.name,
                )
                for e in metadata.get("evaluations") or []:
                    tx.evaluations.add(
                        version_id,
                        dataset=str(e["dataset"])[:300],
                        label=str(e["label"])[:250],
                        kind=str(e["kind"])[:16],
                        rows=int(e["rows"]),
                        metrics=dict(e["metrics"]),
                        details=dict(e["details"]),
                        created_by=str(e["created_by"])[:200],
                    )
                tx.audit.append(
                    actor=self.principal.name,
                    action="bundle.imported",
                    subject=f"model_version:{env}/{info['name']}",
                    after={"source": origin, "key_id": key_id, "bundle": bundle_digest},
                )

            version = self.registry.versions.import_version(
                env,
                str(info["name"]),
                manifest_bytes,
                {
                    "tags": info.get("tags") or {},
                    "metrics": info.get("metrics") or {},
                    "params": info.get("params") or {},
                    "description": info.get("description") or "",
                    "source": lineage.get("source"),
                    "git_commit": lineage.get("git_commit"),
                    "promoted_from": origin,
                },
                metadata.get("baseline"),
                Imported([(str(d), "training") for d in lineage.get("datasets") or []], record),
            )
            return ImportResult(version, True, origin, key_id)

    @contextlib.contextmanager
    def _staging(self) -> Iterator[Path]:
        path = self.home / "tmp" / f"bundle-{uuid.uuid4().hex}"
        path.mkdir(parents=True)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _unpack(self, source: IO[bytes], staging: Path) -> tuple[bytes, bytes, dict[str, Path]]:
        """Every member checked by its header first (name, type, size), then copied into
        ``staging`` with a bounded read; nothing reaches the store from here."""
        staged: dict[str, Path] = {}
        total = 0
        try:
            with tarfile.open(fileobj=source, mode="r:*") as tar:
                for count, member in enumerate(tar, start=1):
                    name = member.name
                    if count > MAX_MEMBERS:
                        raise InvalidInput(f"the bundle has more than {MAX_MEMBERS} members")
                    if name.startswith("/") or "\\" in name or ".." in name.split("/"):
                        raise InvalidInput(f"the bundle holds an unsafe member path {name!r}")
                    if not member.isreg():
                        kind = (
                            "a symbolic link"
                            if member.issym()
                            else "a hard link"
                            if member.islnk()
                            else "a device"
                            if member.isdev()
                            else "a directory"
                            if member.isdir()
                            else "not a regular file"
                        )
                        raise InvalidInput(f"bundle member {name!r} is {kind}")
                    if name not in (METADATA, SIGNATURE) and not OBJECT.match(name):
                        raise InvalidInput(f"unexpected bundle member {name!r}")
                    if name in staged:
                        raise InvalidInput(f"bundle member {name!r} appears twice")
                    limit = MAX_METADATA if name in (METADATA, SIGNATURE) else self.max_bytes
                    total += member.size
                    if member.size > limit or total > self.max_bytes:
                        raise InvalidInput(
                            f"the bundle is too large: member {name!r} takes it past "
                            f"{min(limit, self.max_bytes):,} bytes"
                        )
                    handle = tar.extractfile(member)
                    assert handle is not None
                    path = staging / f"m{count}"
                    with open(path, "wb") as out:
                        copied = _copy_bounded(handle, out, member.size)
                    if copied != member.size:
                        raise InvalidInput(f"the bundle is truncated in member {name!r}")
                    staged[name] = path
                # read to the end, so a cut stream fails its checksum; refuse a long tail
                rest = tar.fileobj.read(1 << 20) if tar.fileobj is not None else b""
                if len(rest) > 10 * tarfile.RECORDSIZE:
                    raise InvalidInput("the bundle has data after its last member")
                if tar.fileobj is not None and tar.fileobj.read(1):
                    raise InvalidInput("the bundle has data after its last member")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise InvalidInput(
                f"not a readable bundle (truncated or corrupt): {type(e).__name__}"
            ) from None
        for required in (METADATA, SIGNATURE):
            if required not in staged:
                raise InvalidInput(f"the bundle has no {required}")
        return staged.pop(METADATA).read_bytes(), staged.pop(SIGNATURE).read_bytes(), staged

    def _verify(
        self, body: bytes, signature: bytes, staged: dict[str, Path]
    ) -> tuple[dict[str, Any], str]:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            sig = json.loads(signature)
            key_id, algorithm = str(sig["key_id"]), sig["algorithm"]
            raw_sig = base64.b64decode(sig["signature"], validate=True)
        except (ValueError, KeyError, TypeError):
            raise InvalidInput("the bundle's signature file is malformed") from None
        if algorithm != "ed25519":
            raise InvalidInput(f"unsupported signature algorithm {algorithm!r}")
        with self.store.read() as tx:
            trusted = tx.bundles.find_key(key_id=key_id)
        if trusted is None:
            raise InvalidInput(
                f"the bundle is signed by key {key_id}, which this installation does not "
                "trust (modelyard keys trust NAME PUBLIC_KEY)",
                key_id=key_id,
            )
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(trusted.public_key))
        try:
            public.verify(raw_sig, body)
        except InvalidSignature:
            raise InvalidInput(
                f"the bundle's signature does not verify with key {trusted.name!r}: it was "
                "altered after signing"
            ) from None
        try:
            metadata = json.loads(body)
            objects = dict(metadata["objects"])
            metadata["version"]["name"]
            package = str(metadata["package"])
        except (ValueError, KeyError, TypeError):
            raise InvalidInput("the bundle's metadata is malformed") from None
        if metadata.get("format") != FORMAT:
            raise InvalidInput(f"unsupported bundle format {metadata.get('format')!r}")
        missing = sorted(set(objects) - set(staged))
        if missing:
            raise InvalidInput(f"the bundle lacks member {missing[0]!r} that its manifest lists")
        extra = sorted(set(staged) - set(objects))
        if extra:
            raise InvalidInput(f"bundle member {extra[0]!r} is not in its manifest")
        for member, info in objects.items():
            path = staged[member]
            found = _file_digest(path)
            expected = "sha256:" + OBJECT.match(member).group(1)  # type: ignore[union-attr]
            if (
                found != expected
                or found != info.get("sha256")
                or path.stat().st_size != info.get("size")
            ):
                raise InvalidInput(f"bundle member {member!r} does not match its digest")
        if f"objects/sha256-{package.split(':', 1)[-1]}" not in objects:
            raise InvalidInput("the bundle does not hold its package's manifest")
        manifest = Manifest.from_bytes(
            staged[f"objects/sha256-{package.split(':', 1)[1]}"].read_bytes(), "bundle manifest"
        )
        for info in manifest.files.values():
            if f"objects/sha256-{info.digest.split(':', 1)[1]}" not in objects:
                raise InvalidInput(f"the bundle lacks package file {info.digest}")
        return metadata, key_id


def _copy_bounded(handle: IO[bytes], out: IO[bytes], size: int) -> int:
    copied = 0
    while copied < size:
        chunk = handle.read(min(1 << 20, size - copied))
        if not chunk:
            break
        out.write(chunk)
        copied += len(chunk)
    return copied


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _add(tar: tarfile.TarFile, name: str, stream: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    tar.addfile(info, stream)
