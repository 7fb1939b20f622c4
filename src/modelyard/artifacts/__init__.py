"""Content-addressed blob store over fsspec (local folder, s3://, gs://, az://...).

``digests`` names content with the standard library only; ``store`` (and fsspec) loads on
first use of ``ArtifactStore`` or ``open_store``, so naming a file's content costs no backend.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelyard.artifacts.digests import BlobInfo, digest_file

__all__ = ["ArtifactStore", "BlobInfo", "digest_file", "open_store"]


def __getattr__(name: str) -> Any:
    if name in ("ArtifactStore", "open_store"):
        return getattr(importlib.import_module("modelyard.artifacts.store"), name)
    raise AttributeError(f"module 'modelyard.artifacts' has no attribute {name!r}")


if TYPE_CHECKING:
    from modelyard.artifacts.store import ArtifactStore, open_store
