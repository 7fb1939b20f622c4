"""Scoring elsewhere over HTTP: following a server, the edge export, collected rows."""

from __future__ import annotations

import io
from typing import IO, Any

from modelyard.domain.deployments import ServingState
from modelyard.sdk.http.transport import Http
from modelyard.wire.deployments import CollectedAccepted, KubernetesManifests, ServingChanges
from modelyard.wire.registry import PackageManifest

PARQUET = "application/vnd.apache.parquet"


class HttpEdge:
    def __init__(self, http: Http) -> None:
        self.http = http

    def serving_states(self, deployments: list[str] | None = None) -> list[ServingState]:
        return self.http.get(
            "/api/v1/serving/states", list[ServingState], deployment=deployments or None
        )

    def serving_changes(self) -> int:
        return self.http.get("/api/v1/serving/changes", ServingChanges).changes

    def serving_manifest(self, digest: str) -> str:
        return self.http.get(f"/api/v1/serving/packages/{digest}", PackageManifest).manifest

    def write_serving_file(self, digest: str, file_digest: str, out: IO[bytes]) -> int:
        counted = _Counting(out)
        self.http.download(f"/api/v1/serving/packages/{digest}/files/{file_digest}", counted)
        return counted.size

    def write_edge(self, deployment: str, out: IO[bytes], *, key: str) -> dict[str, Any]:
        headers = self.http.download(f"/api/v1/deployments/{deployment}/edge", out, key=key)
        return {
            "deployment": deployment,
            "revision": int(headers.get("Modelyard-Revision", "0")),
            "key_id": headers.get("Modelyard-Key-Id", ""),
            "files": int(headers.get("Modelyard-Files", "0")),
        }

    def kubernetes_manifests(
        self, deployment: str, *, image: str | None = None, server: str | None = None
    ) -> dict[str, Any]:
        found = self.http.get(
            f"/api/v1/deployments/{deployment}/kubernetes",
            KubernetesManifests,
            image=image,
            server=server,
        )
        return found.model_dump()

    def upload_collected(self, deployment: str, data: bytes) -> int:
        response = self.http.request(
            "POST",
            f"/api/v1/deployments/{deployment}/collected",
            content=data,
            headers={"Content-Type": PARQUET},
        )
        return self.http.codec.decode(CollectedAccepted, response.json()).accepted


class _Counting:
    def __init__(self, out: IO[bytes] | io.BytesIO) -> None:
        self.out = out
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        return self.out.write(chunk)
