"""Where collected rows and feedback live: folders of Parquet parts on an fsspec
filesystem. A server with a local home keeps them in the home; a server whose artifact
store is shared (``s3://…``) keeps them beside the artifacts, so every node reads the
rows every node wrote, and a node's own disk holds nothing another needs.

- Writers never coordinate: each part has a new name (``part-<uuid>.parquet``, or a name
  derived from its content for uploads that may come twice), and a reader sees a part
  whole or not at all (a local part is written under a temporary name and renamed; an
  object store publishes an object when its upload completes).
- Readers list the parts they need and query them with DuckDB. On an object store,
  DuckDB reads through the same fsspec filesystem (``register_filesystem``): no DuckDB
  extension is loaded, nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from modelyard.domain.errors import StorageUnavailable

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

PART = "part-"


class Lake:
    """One folder of Parquet parts (``root``) on ``fs``."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.local = isinstance(fs, LocalFileSystem)

    @classmethod
    def open(cls, url: str, options: dict[str, Any] | None = None) -> Lake:
        """The lake at ``url``: a local folder, or any fsspec URL (``s3://bucket/prefix``)
        with that filesystem's ``options``."""
        if "://" not in url or url.startswith("file://"):
            return cls(
                LocalFileSystem(), os.path.abspath(os.path.expanduser(url.removeprefix("file://")))
            )
        try:
            # our own instance: another's listing cache must not hide a part just written
            fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True, **(options or {}))
        except (ImportError, ValueError, TypeError) as e:
            raise StorageUnavailable(f"cannot open {url!r}: {e}") from e
        return cls(fs, root)

    def beside(self, name: str) -> Lake:
        """The lake ``name`` next to this one, on the same filesystem."""
        return Lake(self.fs, f"{self.root.rsplit('/', 1)[0]}/{name}")

    def __repr__(self) -> str:
        return f"Lake({self.url(self.root)!r})"

    def url(self, path: str) -> str:
        """``path`` as DuckDB and fsspec name it (with its protocol off the local disk)."""
        return path if self.local else self.fs.unstrip_protocol(path)

    def _path(self, folders: tuple[str, ...]) -> str:
        return "/".join((self.root, *folders))

    # -- writing ------------------------------------------------------------------------
    def write_part(self, table: pa.Table, *folders: str) -> str:
        """Add ``table`` to ``folders`` as a new part; its path."""
        path = f"{self._path(folders)}/{PART}{uuid.uuid4().hex}.parquet"
        self._write(path, table, once=False)
        return path

    def write_once(self, table: pa.Table, name: str, *folders: str) -> bool:
        """Write ``table`` as the part ``name`` unless it is there already (sent before);
        whether it was written. On an object store two uploads racing for one name both
        write the same bytes."""
        return self._write(f"{self._path(folders)}/{PART}{name}.parquet", table, once=True)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """A store that cannot be reached (no credentials, no bucket, no network) is
        ``StorageUnavailable`` naming the lake, whatever its client raised."""
        try:
            yield
        except StorageUnavailable:
            raise
        except Exception as e:
            raise StorageUnavailable(f"cannot reach {self.url(self.root)!r}: {e}") from e

    def ping(self) -> None:
        """Raise ``StorageUnavailable`` unless the lake's store answers."""
        if not self.local:
            self._entries(self.root)

    def _write(self, path: str, table: pa.Table, *, once: bool) -> bool:
        import pyarrow.parquet as pq

        with self._errors():
            if not self.local:
                if once and self.fs.exists(path):
                    return False
                with self.fs.open(path, "wb") as fh:  # published when the upload completes
                    pq.write_table(table, fh)
                return True
            folder, name = path.rsplit("/", 1)
            if once and os.path.exists(path):
                return False
            os.makedirs(folder, exist_ok=True)
            tmp = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
            try:
                pq.write_table(table, tmp)
                if once:
                    os.link(tmp, path)  # fails when a concurrent write of the same part won
                else:
                    os.replace(tmp, path)
                return True
            except FileExistsError:
                return False
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)

    # -- reading ------------------------------------------------------------------------
    def _entries(self, folder: str) -> list[dict[str, Any]]:
        if not self.local:
            self.fs.invalidate_cache(folder)  # another node may have written since
        with self._errors():
            try:
                return list(self.fs.ls(folder, detail=True))
            except (FileNotFoundError, NotADirectoryError):
                return []

    def folders(self, *folders: str) -> list[str]:
        """The names of the folders in ``folders``."""
        return sorted(
            e["name"].rstrip("/").rsplit("/", 1)[-1]
            for e in self._entries(self._path(folders))
            if e["type"] == "directory"
        )

    def parts(self, *folders: str) -> list[str]:
        """The parts in ``folders``, as ``url`` names them."""
        found = []
        for e in self._entries(self._path(folders)):
            name = e["name"].rsplit("/", 1)[-1]
            if e["type"] == "file" and name.startswith(PART) and name.endswith(".parquet"):
                found.append(self.url(e["name"]))
        return sorted(found)

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let ``con`` read this lake's parts by ``url``."""
        if self.local:
            return
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        if not set(protocols) & set(con.list_filesystems()):
            con.register_filesystem(self.fs)


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never installs or loads an extension on its own."""
    import duckdb

    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
