"""Scoring elsewhere: what ``modelyard serve`` follows (a scoring-only credential is
enough), the signed edge export of a deployment, and the rows a device scored."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from modelyard.domain.deployments import ServingState


class Edge(Protocol):
    def serving_states(self, deployments: list[str] | None = None) -> list[ServingState]:
        """The current revision of each deployment the caller may score (of those named),
        with its scoring keys' hashes: what a scoring service follows."""
        ...

    def serving_changes(self) -> int:
        """How many times what serves has changed, installation-wide: while it stays the
        same, so does every caller's ``serving_states`` (a follower polls this, one row,
        and reads the states only when it moved)."""
        ...

    def serving_manifest(self, digest: str) -> str:
        """The exact manifest of a package a deployment the caller may score serves."""
        ...

    def write_serving_file(self, digest: str, file_digest: str, out: IO[bytes]) -> int:
        """Write one file of such a package to ``out`` (verified as it is read); its size."""
        ...

    def write_edge(self, deployment: str, out: IO[bytes], *, key: str) -> dict[str, Any]:
        """Write the edge export of ``deployment`` (a tar of the folder ``modelyard serve``
        runs offline: packages, wheels, lock, start script), signed with ``key``."""
        ...

    def kubernetes_manifests(
        self, deployment: str, *, image: str | None = None, server: str | None = None
    ) -> dict[str, Any]:
        """The Kubernetes objects that run ``deployment``'s scoring (``modelyard serve``
        following ``server`` from ``image``), as YAML files by name, with the revision they
        were rendered from: ``{"deployment", "revision", "files"}``."""
        ...

    def upload_collected(self, deployment: str, data: bytes) -> int:
        """Store a Parquet file of rows a device scored (``edge sync``); the rows accepted,
        0 when the same file was stored before."""
        ...
