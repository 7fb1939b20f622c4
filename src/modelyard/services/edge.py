"""What a scoring service running elsewhere needs of the server (``modelyard serve``):

- following: the current revisions of the deployments a caller may score, and their
  packages by digest (only packages those revisions serve), for a scoring-only credential
  (role ``scorer``: the ``score`` permission and nothing else);
- the edge export of a deployment (``services/exports.py`` describes the folder), written
  as one tar stream, signed with one of the installation's bundle keys;
- the rows a device scored, uploaded back (``edge sync``): each file is stored under its
  content digest, so sending it again adds nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from modelyard import __version__
from modelyard.artifacts.store import ArtifactStore
from modelyard.domain.auth import Permission, Principal
from modelyard.domain.deployments import ServingState
from modelyard.domain.errors import InvalidInput, NotFound, PayloadTooLarge, PermissionDenied
from modelyard.flavors.package import Manifest
from modelyard.monitoring.collector import BASE_COLUMNS
from modelyard.monitoring.lake import Lake
from modelyard.runtimes.environments import Indexes, plan
from modelyard.services import exports, kubernetes, wheels
from modelyard.services.auth import require
from modelyard.services.bundles import private_key, sign
from modelyard.services.deployments import deployment_id
from modelyard.store.unit import Store

#: One uploaded file of collected rows (the device's collector writes far smaller ones).
MAX_COLLECTED_BYTES = 64 << 20


class EdgeService:
    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        home: Path,
        collected: Lake,
        wheel_cache: Path,
        indexes: Indexes,
        principal: Principal,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.home = home
        self.collected = collected
        self.wheel_cache = wheel_cache
        self.indexes = indexes
        self.principal = principal

    # -- following ------------------------------------------------------------------------
    def serving_states(self, deployments: list[str] | None = None) -> list[ServingState]:
        with self.store.read() as tx:
            for name in deployments or ():
                deployment_id(tx, name)  # NotFound names it
            states = tx.deployments.serving_states()
        if deployments:
            states = [s for s in states if s.name in deployments]
            for state in states:
                require(self.principal, Permission.SCORE, state.environment)
            return states
        return [s for s in states if self.principal.can(Permission.SCORE, s.environment)]

    def serving_changes(self) -> int:
        with self.store.read() as tx:
            return tx.deployments.serving_changes()

    def serving_manifest(self, digest: str) -> str:
        served = {v["package_digest"] for s in self.serving_states() for v in s.variants}
        if digest not in served:  # a package nobody may follow here: as if it did not exist
            raise NotFound(f"no deployment you may score serves package {digest}")
        with self.store.read() as tx:
            text = tx.packages.manifest(digest)
        if text is None:
            raise NotFound(f"package {digest} does not exist")
        return text

    def write_serving_file(self, digest: str, file_digest: str, out: IO[bytes]) -> int:
        manifest = Manifest.from_bytes(self.serving_manifest(digest).encode(), digest)
        if file_digest not in {f.digest for f in manifest.files.values()}:
            raise NotFound(f"package {digest} has no file {file_digest}")
        written = 0
        with self.artifacts.open(file_digest) as reader:
            while chunk := reader.read(1 << 20):
                written += out.write(chunk)
        return written

    # -- export ---------------------------------------------------------------------------
    def write_edge(self, deployment: str, out: IO[bytes], *, key: str) -> dict[str, Any]:
        with self.store.read() as tx:
            deployment_id(tx, deployment)
            state = next(s for s in tx.deployments.serving_states() if s.name == deployment)
            manifests = {
                digest: tx.packages.manifest(digest)
                for digest in dict.fromkeys(v["package_digest"] for v in state.variants)
            }
        require(self.principal, Permission.DEPLOY, state.environment)
        signer = private_key(self.home / "keys", key)
        pins: list[str] = []
        for digest, text in manifests.items():
            if text is None:
                raise NotFound(f"package {digest} does not exist")
            manifest = Manifest.from_bytes(text.encode(), digest)
            found = plan(manifest.requirements)
            if not found.in_process:
                wanted = ", ".join(d.wanted for d in found.differences)
                raise InvalidInput(
                    f"a model of {deployment!r} needs its own environment ({wanted}); an edge "
                    "export carries the server's environment only"
                )
            pins += manifest.requirements
        pinned = wheels.lock([wheels.OWN, *pins])
        pinned.pop(wheels.OWN, None)
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.home / "tmp") as scratch:
            own = wheels.own_wheel(Path(scratch))
            found_wheels = [
                *wheels.gather(pinned, self.wheel_cache, self.indexes),
                own,
            ]
            requirements = "".join(f"{n}=={v}\n" for n, v in sorted(pinned.items()))
            requirements += f"{wheels.OWN}=={own.name.split('-')[1]}\n"
            meta = {
                "format": exports.FORMAT,
                "deployment": state.to_dict(),
                "modelyard": __version__,
                "python": f"{sys.version_info.major}.{sys.version_info.minor}",
                "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "exported_by": self.principal.name,
            }
            listing: dict[str, dict[str, Any]] = {}
            with tarfile.open(fileobj=out, mode="w|") as tar:

                def add(name: str, data: bytes, mode: int = 0o644) -> None:
                    listing[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                    _member(tar, name, io.BytesIO(data), len(data), mode)

                add(exports.EXPORT, json.dumps(meta, indent=2, sort_keys=True).encode())
                add(exports.REQUIREMENTS, requirements.encode())
                script = exports.START_SCRIPT.format(minor=sys.version_info.minor)
                add(exports.START, script.encode(), 0o755)
                for digest, text in manifests.items():
                    base = f"packages/{digest.removeprefix('sha256:')}"
                    add(f"{base}/modelyard.yaml", (text or "").encode())
                    for name, info in Manifest.from_bytes(
                        (text or "").encode(), digest
                    ).files.items():
                        with self.artifacts.open(info.digest) as reader:
                            _member(tar, f"{base}/{name}", reader, info.size)  # type: ignore[arg-type]
                        listing[f"{base}/{name}"] = {
                            "sha256": info.digest.removeprefix("sha256:"),
                            "size": info.size,
                        }
                for wheel in found_wheels:
                    with open(wheel, "rb") as handle:
                        size = os.fstat(handle.fileno()).st_size
                        hashed = _Hashing(handle)
                        _member(tar, f"wheels/{wheel.name}", hashed, size)  # type: ignore[arg-type]
                    listing[f"wheels/{wheel.name}"] = {"sha256": hashed.hexdigest(), "size": size}
                body = json.dumps(listing, indent=1, sort_keys=True).encode()
                _member(tar, exports.FILES, io.BytesIO(body), len(body))
                signature = json.dumps(sign(signer, body), indent=1).encode()
                _member(tar, exports.SIGNATURE, io.BytesIO(signature), len(signature))
        key_id = json.loads(signature)["key_id"]
        return {
            "deployment": deployment,
            "revision": state.revision,
            "key_id": key_id,
            "files": len(listing),
        }

    # -- a cluster --------------------------------------------------------------------------
    def kubernetes_manifests(
        self, deployment: str, *, image: str | None = None, server: str | None = None
    ) -> dict[str, Any]:
        with self.store.read() as tx:
            found = tx.deployments.get(deployment_id(tx, deployment))
        require(self.principal, Permission.READ, found.environment)
        files = kubernetes.render(
            found.name,
            found.revision.number,
            found.revision.options,
            image=image or f"modelyard:{__version__}",
            server=server or kubernetes.DEFAULT_SERVER,
        )
        return {"deployment": found.name, "revision": found.revision.number, "files": files}

    # -- rows scored elsewhere ------------------------------------------------------------
    def upload_collected(self, deployment: str, data: bytes) -> int:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        with self.store.read() as tx:
            environment = tx.deployments.get(deployment_id(tx, deployment)).environment
        require(self.principal, Permission.SCORE, environment)
        if len(data) > MAX_COLLECTED_BYTES:
            raise PayloadTooLarge(f"at most {MAX_COLLECTED_BYTES:,} bytes per upload")
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError):
            raise InvalidInput("the body is not a Parquet file of collected rows") from None
        missing = [c for c in BASE_COLUMNS if c not in table.column_names]
        if missing:
            raise InvalidInput(f"collected rows lack column(s) {', '.join(missing)}")
        if not pa.types.is_timestamp(table.schema.field("time").type):
            raise InvalidInput("collected rows: column 'time' is not a timestamp")
        names = set(table.column("deployment").unique().to_pylist())
        if names - {deployment}:
            other = sorted(str(n) for n in names - {deployment})[0]
            raise PermissionDenied(f"rows of deployment {other!r} cannot go to {deployment!r}")
        digest = hashlib.sha256(data).hexdigest()[:32]
        hours = pc.strftime(table.column("time"), format="%Y-%m-%dT%H", locale="C")
        accepted = 0
        for hour in sorted(set(hours.to_pylist())):
            part = table.filter(pc.equal(hours, hour))
            folder = (f"deployment={deployment}", f"hour={hour}")
            if self.collected.write_once(part, f"edge-{digest}", *folder):
                accepted += part.num_rows
        return accepted


class _Hashing:
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.sha256.update(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()


def _member(
    tar: tarfile.TarFile, name: str, stream: IO[bytes], size: int, mode: int = 0o644
) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, stream)
