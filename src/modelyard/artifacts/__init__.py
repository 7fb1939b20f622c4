"""Content-addressed blob store over fsspec (local folder, s3://, gs://, az://...)."""

from modelyard.artifacts.store import ArtifactStore, BlobInfo, digest_file, open_store

__all__ = ["ArtifactStore", "BlobInfo", "digest_file", "open_store"]
