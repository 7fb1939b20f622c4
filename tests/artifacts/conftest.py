"""Fixtures for the artifact store: the same tests run on a local folder and on S3 (moto)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from modelyard.artifacts.store import ArtifactStore, open_store
from tests.support.s3server import S3Server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    """An empty store: a ``tmp_path`` folder, or a fresh bucket on the session's S3 server."""
    if request.param == "local":
        return open_store(str(tmp_path / "artifacts"))
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = f"artifacts-{uuid.uuid4().hex[:12]}"
    server.create_bucket(bucket)
    return ArtifactStore(f"s3://{bucket}/store", server.storage_options())
