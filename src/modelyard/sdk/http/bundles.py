"""Signing keys and bundles over HTTP: a bundle streams both ways."""

from __future__ import annotations

from typing import IO, Any

from modelyard.domain.bundles import ImportResult, TrustedKey
from modelyard.sdk.http.transport import Http


class HttpBundles:
    def __init__(self, http: Http) -> None:
        self.http = http

    def create_key(self, name: str) -> TrustedKey:
        return self.http.post("/api/v1/keys", TrustedKey, {"name": name})

    def trust_key(self, name: str, public_key: str) -> TrustedKey:
        body = {"name": name, "public_key": public_key}
        return self.http.post("/api/v1/keys/trusted", TrustedKey, body)

    def list_keys(self) -> list[TrustedKey]:
        return self.http.get("/api/v1/keys", list[TrustedKey])

    def write_bundle(self, ref: str, out: IO[bytes], *, key: str) -> dict[str, Any]:
        headers = self.http.download("/api/v1/bundles/export", out, version=ref, key=key)
        return {
            "source": headers.get("Modelyard-Bundle-Source", ref),
            "key_id": headers.get("Modelyard-Key-Id", ""),
        }

    def import_bundle(self, source: IO[bytes], *, environment: str | None = None) -> ImportResult:
        return self.http.upload(
            "POST", "/api/v1/bundles", ImportResult, source, environment=environment
        )
