"""Where ``modelyard serve`` (the scoring runtime alone) reads its deployments: the two
implementations of ``serving.runtime.Backend`` besides the server's own ``Services``.

- ``FolderBackend``: one or more edge exports (``services/exports.py``), verified at
  start; no database, no server, no token (the deployment's scoring keys still work).
- ``RemoteBackend``: a server followed over HTTP with a scoring-only credential, through
  the ``Edge`` contract: each poll reads the current revisions, packages are fetched by
  digest and every file is verified against it, and a caller's token is checked by the
  server (``whoami``), remembered for a few seconds.

Neither reports what it serves to the server: ``deployments wait`` counts the server's
own workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelyard.artifacts.digests import digest_bytes, receive
from modelyard.domain.auth import Principal
from modelyard.domain.deployments import ServingState
from modelyard.domain.errors import IntegrityFailure, NotFound, Unauthenticated
from modelyard.flavors.package import MANIFEST, Manifest, verify_folder
from modelyard.flavors.staging import Packager, PackageSource
from modelyard.runtimes.host import ModelHost
from modelyard.services.contracts.edge import Edge
from modelyard.services.exports import verify_export

TOKEN_SECONDS = 10.0


class FolderBackend:
    def __init__(
        self, folders: list[Path], models: ModelHost, *, auth: bool, trusted: tuple[str, ...] = ()
    ) -> None:
        self.models = models
        self.auth_enabled = auth
        self.states: list[ServingState] = []
        self.packages: dict[str, Path] = {}
        for folder in folders:
            found = verify_export(folder, trusted)
            state = ServingState.from_dict(found["deployment"])
            if any(s.name == state.name for s in self.states):
                raise IntegrityFailure(f"two exports of deployment {state.name!r}")
            self.states.append(state)
            for variant in state.variants:
                digest = variant["package_digest"]
                self.packages[digest] = folder / "packages" / digest.removeprefix("sha256:")

    def serving_states(self) -> list[ServingState]:
        return list(self.states)

    def serving_changes(self) -> int:
        return 0  # an export never changes

    def package_folder(self, digest: str) -> tuple[Path, Manifest]:
        folder = self.packages.get(digest)
        if folder is None:
            raise NotFound(f"package {digest} is not in the export")
        data = (folder / MANIFEST).read_bytes()
        if digest_bytes(data) != digest:
            raise IntegrityFailure(f"package {digest}: its manifest does not match its digest")
        manifest = Manifest.from_bytes(data, f"package {digest}")
        verify_folder(folder, manifest)
        return folder, manifest

    def authenticate(self, secret: str | None) -> Principal:
        raise Unauthenticated("this scoring service takes the deployment's scoring keys only")

    def cached_principal(self, secret: str) -> Principal | None:
        return None

    def report_serving(self, worker: str, served: dict[str, Any]) -> None:
        """Nobody waits on an export."""

    def forget_worker(self, worker: str) -> None:
        """Nothing was reported."""


class RemoteBackend:
    def __init__(
        self,
        edge: Edge,
        whoami: Callable[[str], Principal],
        packager: Packager,
        models: ModelHost,
        *,
        deployments: list[str] | None,
        auth: bool,
    ) -> None:
        self.edge = edge
        self.whoami = whoami
        self.packager = packager
        self.models = models
        self.deployments = deployments
        self.auth_enabled = auth
        self._known: dict[str, tuple[Principal, float]] = {}

    def serving_states(self) -> list[ServingState]:
        return self.edge.serving_states(self.deployments)

    def serving_changes(self) -> int:
        return self.edge.serving_changes()

    def package_folder(self, digest: str) -> tuple[Path, Manifest]:
        text = self.edge.serving_manifest(digest)
        return self.packager.materialize(PackageSource(digest, text, _Files(self.edge, digest)))

    def cached_principal(self, secret: str) -> Principal | None:
        found = self._known.get(secret)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]

    def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token>'")
        known = self.cached_principal(secret)
        if known is not None:
            return known
        principal = self.whoami(secret)
        if len(self._known) > 1000:
            self._known.clear()
        self._known[secret] = (principal, time.monotonic() + TOKEN_SECONDS)
        return principal

    def report_serving(self, worker: str, served: dict[str, Any]) -> None:
        """The server counts its own workers only."""

    def forget_worker(self, worker: str) -> None:
        """Nothing was reported."""


class _Files:
    """A package's files from the server, each verified against its digest on arrival."""

    def __init__(self, edge: Edge, digest: str) -> None:
        self.edge = edge
        self.digest = digest

    def get_file(self, digest: str, dest: Path) -> None:
        receive(digest, dest, lambda sink: self.edge.write_serving_file(self.digest, digest, sink))
