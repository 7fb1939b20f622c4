"""Datasets over HTTP: uploads and downloads stream; a DataFrame travels as Parquet."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.domain.datasets import (
    DatasetRef,
    DatasetVersion,
    parse_dataset_name,
    parse_dataset_ref,
)
from modelyard.domain.errors import InvalidInput
from modelyard.sdk.http.transport import Http

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class HttpDatasets:
    def __init__(self, http: Http, default_environment: str) -> None:
        self.http = http
        self.default_environment = default_environment

    def _ref(self, text: str, environment: str | None) -> DatasetRef:
        return parse_dataset_ref(text, environment, self.default_environment)

    def _path(self, ref: DatasetRef) -> str:
        version = "latest" if ref.version is None else str(ref.version)
        return f"/api/v1/datasets/{ref.environment}/{ref.name}/versions/{version}"

    def register_dataset(
        self,
        name: str,
        source: Path | pd.DataFrame | pa.Table,
        *,
        environment: str | None = None,
        description: str = "",
    ) -> DatasetVersion:
        from modelyard.monitoring.tables import format_of

        target = parse_dataset_name(name, environment, self.default_environment)
        path = f"/api/v1/datasets/{target.environment}/{target.name}/versions"
        with tempfile.TemporaryDirectory() as tmp:
            if isinstance(source, str | Path):
                file = Path(source)
                if not file.is_file():
                    raise InvalidInput(f"no such file: {str(file)!r}")
                fmt, origin = format_of(file, None), str(file.resolve())
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                file, fmt, origin = Path(tmp) / "frame.parquet", "parquet", "dataframe"
                table = (
                    source
                    if isinstance(source, pa.Table)
                    else pa.Table.from_pandas(source, preserve_index=False)
                )
                pq.write_table(table, file)
            with open(file, "rb") as body:
                return self.http.upload(
                    "POST",
                    path,
                    DatasetVersion,
                    body,
                    format=fmt,
                    description=description,
                    source=origin,
                )

    def get_dataset(self, ref: str, *, environment: str | None = None) -> DatasetVersion:
        return self.http.get(self._path(self._ref(ref, environment)), DatasetVersion)

    def list_datasets(self, *, environment: str | None = None) -> list[DatasetVersion]:
        return self.http.get("/api/v1/datasets", list[DatasetVersion], environment=environment)

    def list_dataset_versions(
        self, name: str, *, environment: str | None = None
    ) -> list[DatasetVersion]:
        target = parse_dataset_name(name, environment, self.default_environment)
        path = f"/api/v1/datasets/{target.environment}/{target.name}/versions"
        return self.http.get(path, list[DatasetVersion])

    def read_dataset(self, ref: str, *, environment: str | None = None) -> pa.Table:
        from modelyard.monitoring.tables import read_table

        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "data"
            with open(file, "wb") as out:
                path = self._path(self._ref(ref, environment)) + "/content"
                headers = self.http.download(path, out)
            return read_table(file, headers.get("Modelyard-Format", "parquet"))
