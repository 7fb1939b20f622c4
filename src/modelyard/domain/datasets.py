"""Datasets: immutable, numbered versions of a table (a CSV or Parquet file), with the
schema, row count and profile computed when they are registered. Plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import computed_field

from modelyard.domain.errors import InvalidName
from modelyard.domain.names import check_name
from modelyard.domain.reports import ProfileSummary

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
    """``[env/]name[:version]``; no version (or ``latest``) means the latest."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidName("empty dataset reference: expected [env/]NAME[:VERSION]", name="")
    rest = text.strip()
    env = environment or default
    if "/" in rest:
        given, rest = rest.split("/", 1)
        if environment is not None and given != environment:
            raise InvalidName(
                f"reference {text!r} names environment {given!r} but {environment!r} was asked for",
                name=text,
            )
        env = given
    check_name(env, "environment name")
    name, sep, ver = rest.partition(":")
    check_name(name, "dataset name")
    if sep and ver != "latest" and (not ver.isdigit() or int(ver) < 1):
        raise InvalidName(
            f"invalid dataset reference {text!r}: expected [env/]NAME[:VERSION]", name=text
        )
    return DatasetRef(env, name, int(ver) if sep and ver != "latest" else None)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    environment: str
    name: str
    version: int
    digest: str  # sha256 of the stored file's bytes
    format: str  # csv | parquet
    size_bytes: int
    rows: int
    columns: tuple[Column, ...]
    profile: ProfileSummary  # see monitoring.profile.summarize
    source: str
    description: str
    created_by: str
    created_at: datetime
    used_by: tuple[str, ...] = ()  # model versions that name it in their lineage

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ref(self) -> str:
        return f"{self.environment}/{self.name}:{self.version}"


def parse_dataset_name(
    text: str, environment: str | None = None, default: str = "sandbox"
) -> DatasetRef:
    """``[env/]name`` of a dataset to add a version to: a version is refused."""
    ref = parse_dataset_ref(text, environment, default)
    if ref.version is not None:
        raise InvalidName(f"register takes a dataset name, not a version: {text!r}", name=text)
    return ref
