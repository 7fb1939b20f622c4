"""Datasets: versioned, profiled, content-addressed tables (CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from modelyard.domain.datasets import DatasetVersion


class Datasets(Protocol):
    def register_dataset(
        self,
        name: str,
        source: Path | pd.DataFrame | pa.Table,
        *,
        environment: str | None = None,
        description: str = "",
    ) -> DatasetVersion:
        """Register a CSV or Parquet file, a DataFrame or an Arrow table as the next
        version of ``name`` (identical content: the existing version)."""
        ...

    def get_dataset(self, ref: str, *, environment: str | None = None) -> DatasetVersion:
        """One version (``[environment/]name[:version]``, default the latest)."""
        ...

    def list_datasets(self, *, environment: str | None = None) -> list[DatasetVersion]:
        """The latest version of every dataset the caller may read."""
        ...

    def list_dataset_versions(
        self, name: str, *, environment: str | None = None
    ) -> list[DatasetVersion]:
        """A dataset's versions, oldest first."""
        ...

    def read_dataset(self, ref: str, *, environment: str | None = None) -> pa.Table:
        """A version's rows as an Arrow table, exactly as stored (verified against its
        digest)."""
        ...
