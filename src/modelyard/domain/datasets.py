"""Datasets: immutable, numbered versions of a table (a CSV or Parquet file), with the
schema, row count and profile computed when they are registered. Plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelyard.domain.errors import InvalidName
from modelyard.domain.names import check_name, parse_ref

FORMATS = ("csv", "parquet")


@dataclass(frozen=True, slots=True)
class DatasetRef:
    environment: str
    name: str
    version: int | None  # None: the latest

    def __str__(self) -> str:
        tail = f":{self.version}" if self.version is not None else ""
        return f"{self.environment}/{self.name}{tail}"


def parse_dataset_ref(
    text: str, environment: str | None = None, default: str = "sandbox"
) -> DatasetRef:
    """``[env/]name[:version]``; no version means the latest."""
    ref = parse_ref(text, environment, default)
    if ref.alias not in (None, "latest"):
        raise InvalidName(
            f"invalid dataset reference {text!r}: expected [env/]NAME[:VERSION]", name=str(text)
        )
    check_name(ref.name, "dataset name")
    return DatasetRef(ref.environment, ref.name, ref.version)


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    environment: str
    name: str
    version: int
    digest: str  # sha256 of the stored file's bytes
    format: str  # csv | parquet
    size_bytes: int
    rows: int
    columns: tuple[tuple[str, str], ...]  # (name, type)
    profile: dict[str, Any]  # summary per column (see monitoring.profile.summarize)
    source: str
    description: str
    created_by: str
    created_at: datetime
    used_by: tuple[str, ...] = ()  # model versions that name it in their lineage

    @property
    def ref(self) -> str:
        return f"{self.environment}/{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "digest": self.digest,
            "format": self.format,
            "size_bytes": self.size_bytes,
            "rows": self.rows,
            "columns": [{"name": n, "type": t} for n, t in self.columns],
            "profile": self.profile,
            "source": self.source,
            "description": self.description,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "used_by": list(self.used_by),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetVersion:
        return cls(
            environment=d["environment"],
            name=d["name"],
            version=d["version"],
            digest=d["digest"],
            format=d["format"],
            size_bytes=d["size_bytes"],
            rows=d["rows"],
            columns=tuple((c["name"], c["type"]) for c in d["columns"]),
            profile=d["profile"],
            source=d["source"],
            description=d["description"],
            created_by=d["created_by"],
            created_at=datetime.fromisoformat(d["created_at"]),
            used_by=tuple(d.get("used_by", ())),
        )
