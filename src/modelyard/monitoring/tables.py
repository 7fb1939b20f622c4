"""Reading tabular files (CSV, Parquet) into Arrow, and naming their column types."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from modelyard.domain.errors import InvalidInput

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def format_of(path: Path, given: str | None = None) -> str:
    if given is not None:
        if given not in ("csv", "parquet"):
            raise InvalidInput(f"unsupported data format {given!r}: expected csv or parquet")
        return given
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"unsupported data file {path.name!r}: expected a .csv or .parquet file")
    return fmt


def read_table(path: Path, fmt: str, shown: str | None = None) -> pa.Table:
    """The whole file as an Arrow table; a file that does not parse is ``InvalidInput``,
    naming the file as ``shown`` (never a server's local path)."""
    try:
        if fmt == "csv":
            import pyarrow.csv as pacsv

            return pacsv.read_csv(path)
        import pyarrow.parquet as pq

        return pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as e:
        label = shown or path.name
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        first = first.replace(f"'{path}'", repr(label)).replace(str(path), label)
        raise InvalidInput(f"cannot read {label!r} as {fmt}: {first}") from None


def type_name(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return "string"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    return str(t)


def columns_of(table: pa.Table) -> list[list[str]]:
    return [[f.name, type_name(f.type)] for f in table.schema]


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """Write under a temporary name and rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, tmp)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
