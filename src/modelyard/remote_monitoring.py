"""Datasets, monitoring and alerts over HTTP: the same methods as the embedded services."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from modelyard.domain.datasets import DatasetRef, DatasetVersion, parse_dataset_ref
from modelyard.domain.errors import InvalidName
from modelyard.monitoring.tables import format_of, read_table
from modelyard.remote import Http

if TYPE_CHECKING:
    import pandas as pd


class RemoteDatasets:
    def __init__(self, http: Http, default_environment: str) -> None:
        self.http = http
        self.default_environment = default_environment

    def ref(self, text: str, environment: str | None = None) -> DatasetRef:
        return parse_dataset_ref(text, environment, self.default_environment)

    def _path(self, ref: DatasetRef) -> str:
        version = "latest" if ref.version is None else str(ref.version)
        return f"/api/v1/datasets/{ref.environment}/{ref.name}/versions/{version}"

    def register(
        self,
        name: str,
        source: Path | pd.DataFrame,
        *,
        actor: Any = None,
        environment: str | None = None,
        format: str | None = None,
        description: str = "",
        source_uri: str | None = None,
    ) -> DatasetVersion:
        target = self.ref(name, environment)
        if target.version is not None:
            raise InvalidName(f"register takes a dataset name, not a version: {name!r}", name=name)
        with tempfile.TemporaryDirectory() as tmp:
            if isinstance(source, str | Path):
                path = Path(source)
                fmt = format_of(path, format)
                origin = source_uri or str(path.resolve())
            else:
                import pyarrow.parquet as pq

                path, fmt, origin = Path(tmp) / "frame.parquet", "parquet", "dataframe"
                pq.write_table(pa.Table.from_pandas(source, preserve_index=False), path)
            with open(path, "rb") as body:
                found = self.http.json(
                    "POST",
                    f"/api/v1/datasets/{target.environment}/{target.name}/versions",
                    params={"format": fmt, "description": description, "source": origin},
                    content=body,
                    headers={"Content-Type": "application/octet-stream"},
                )
        return DatasetVersion.from_dict(found)

    def get(self, ref: str, *, actor: Any = None, environment: str | None = None) -> DatasetVersion:
        return DatasetVersion.from_dict(
            self.http.json("GET", self._path(self.ref(ref, environment)))
        )

    def versions(
        self, name: str, *, actor: Any = None, environment: str | None = None
    ) -> list[DatasetVersion]:
        target = self.ref(name, environment)
        found = self.http.json(
            "GET", f"/api/v1/datasets/{target.environment}/{target.name}/versions"
        )
        return [DatasetVersion.from_dict(d) for d in found]

    def list_datasets(
        self, *, actor: Any = None, environment: str | None = None
    ) -> list[DatasetVersion]:
        params = {"env": environment} if environment else {}
        return [
            DatasetVersion.from_dict(d)
            for d in self.http.json("GET", "/api/v1/datasets", params=params)
        ]

    def read(self, ref: str, *, actor: Any = None, environment: str | None = None) -> pa.Table:
        target = self.ref(ref, environment)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data"
            with self.http.client.stream("GET", self._path(target) + "/content") as response:
                if response.status_code >= 400:
                    response.read()
                    self.http.check(response)
                fmt = response.headers.get("Modelyard-Format", "parquet")
                with open(path, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
            return read_table(path, fmt)
