"""The wire between the server and a model worker: length-prefixed messages over a socket,
each a JSON header and an optional body of Arrow IPC, so rows cross as columns, never as
per-row JSON and never as pickles. The server decodes only JSON and Arrow from a worker,
and checks what it reads: a worker runs code the server does not trust.

A message: 8 bytes (header length, body length, little-endian), the header (JSON), the
body. Replies carry the request's ``id``.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

PREFIX = struct.Struct("<II")
MAX_HEADER = 1 << 20
MAX_BODY = (1 << 31) - 1
SMALL = 1 << 16  # a body this short is sent in one piece with its header


class WireError(Exception):
    """The other side broke the protocol or went away."""


def send(sock: socket.socket, header: dict[str, Any], body: Any = b"") -> None:
    """One message; the caller serialises writers."""
    head = json.dumps(header, separators=(",", ":"), default=_plain).encode()
    size = memoryview(body).nbytes
    if size > MAX_BODY:
        raise WireError(f"a message body of {size} bytes is too large")
    if size <= SMALL:
        sock.sendall(PREFIX.pack(len(head), size) + head + bytes(body))
    else:
        sock.sendall(PREFIX.pack(len(head), size) + head)
        sock.sendall(body)


def receive(sock: socket.socket) -> tuple[dict[str, Any], memoryview] | None:
    """The next message, or None when the other side has closed the connection."""
    prefix = _exactly(sock, PREFIX.size, eof_ok=True)
    if prefix is None:
        return None
    head_size, body_size = _sizes(prefix)
    head = _exactly(sock, head_size)
    body = _exactly(sock, body_size) if body_size else memoryview(b"")
    assert head is not None and body is not None
    return _header(head), body


class Reader:
    """Messages from bytes as they arrive, for a socket an event loop reads without
    blocking (``feed`` what ``recv`` gave, get the messages it completed)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[dict[str, Any], memoryview]]:
        buffer = self._buffer
        buffer += data
        found = []
        while len(buffer) >= PREFIX.size:
            head_size, body_size = _sizes(buffer)
            end = PREFIX.size + head_size + body_size
            if len(buffer) < end:
                break
            header = _header(bytes(buffer[PREFIX.size : PREFIX.size + head_size]))
            body = memoryview(bytes(buffer[PREFIX.size + head_size : end]))
            del buffer[:end]
            found.append((header, body))
        return found


def _sizes(prefix: bytes | bytearray | memoryview) -> tuple[int, int]:
    head_size, body_size = PREFIX.unpack_from(prefix)
    if head_size > MAX_HEADER or body_size > MAX_BODY:
        raise WireError(f"message sizes {head_size}/{body_size} exceed the limits")
    return int(head_size), int(body_size)


def _header(head: bytes | memoryview) -> dict[str, Any]:
    try:
        header = json.loads(bytes(head))
    except ValueError:
        raise WireError("a message header is not JSON") from None
    if not isinstance(header, dict):
        raise WireError("a message header is not a JSON object")
    return header


def _exactly(sock: socket.socket, size: int, *, eof_ok: bool = False) -> memoryview | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            if eof_ok and got == 0:
                return None
            raise WireError("the connection closed in the middle of a message")
        got += n
    return view


def _plain(value: Any) -> Any:
    """numpy scalars (class labels) as JSON values."""
    item = getattr(value, "item", None)  # a numpy scalar (numpy itself is imported lazily:
    return item() if callable(item) else str(value)  # a worker confines itself first)


# -- columns: the serving path's typed arrays ---------------------------------------------
def columns_message(columns: dict[str, np.ndarray]) -> tuple[dict[str, Any], Any]:
    """Typed columns (``serving.schema.Columns``) as Arrow, each restored exactly by
    ``read_columns``: NaN stays NaN, an object column's missing values come back as they
    went (NaN or None), a column Arrow cannot hold (mixed Python values) travels as JSON."""
    import pyarrow as pa

    arrays: list[pa.Array] = []
    names: list[str] = []
    notes: dict[str, Any] = {}
    for name, values in columns.items():
        try:
            array, note = _column(values)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            notes[name] = {"json": values.tolist()}
            continue
        if note:
            notes[name] = note
        arrays.append(array)
        names.append(name)
    header = {"columns": list(columns), "notes": notes}
    return header, _ipc(pa.RecordBatch.from_arrays(arrays, names=names))


def _column(values: np.ndarray) -> tuple[pa.Array, dict[str, Any] | None]:
    import pandas as pd
    import pyarrow as pa

    if values.dtype != object:
        return pa.array(values), None
    missing = pd.isna(values)
    if not missing.any():
        return pa.array(values), None
    gaps = values[missing]
    if all(v is None for v in gaps):
        kind = "none"
    elif all(isinstance(v, float) for v in gaps):
        kind = "nan"
    else:
        raise ValueError("mixed missing values")
    return pa.array(values, from_pandas=True), {"missing": kind}


def read_columns(header: dict[str, Any], body: Any) -> dict[str, np.ndarray]:
    import numpy as np

    table = read_table(body)
    notes = header.get("notes") or {}
    out: dict[str, np.ndarray] = {}
    for name in header["columns"]:
        note = notes.get(name) or {}
        if "json" in note:
            out[name] = np.array(note["json"], dtype=object)
            continue
        column = table.column(name).combine_chunks()
        values = column.to_numpy(zero_copy_only=False, writable=True)
        if note.get("missing") == "nan":
            values[column.is_null().to_numpy(zero_copy_only=False)] = np.nan
        out[name] = values
    return out


# -- frames: whole DataFrames (evaluations, baselines, batch) ------------------------------
def frame_body(frame: pd.DataFrame) -> Any:
    import pyarrow as pa

    # a column backed by a chunked Arrow array (pandas' Arrow strings, a concatenation of
    # frames) becomes one array first: a record batch holds one array per column
    table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()
    batches = table.to_batches()
    return _ipc(batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema))


def read_frame(body: Any) -> pd.DataFrame:
    frame: pd.DataFrame = read_table(body).to_pandas()
    return frame


# -- arrays: what a model answers ----------------------------------------------------------
def arrays_message(named: dict[str, np.ndarray | None]) -> tuple[dict[str, Any], Any]:
    """1-D or 2-D arrays of one length as Arrow columns (2-D as fixed-size lists); an array
    Arrow cannot hold (mixed Python objects) travels as JSON."""
    import numpy as np
    import pyarrow as pa

    arrays: list[pa.Array] = []
    names: list[str] = []
    header: dict[str, Any] = {"arrays": {}}
    for name, given in named.items():
        if given is None:
            continue
        value = np.asarray(given)
        if value.ndim == 0:
            value = value.reshape(1)
        elif value.ndim > 2:
            value = value.reshape(len(value), -1)
        try:
            flat = pa.array(value.reshape(-1))
            array = (
                flat
                if value.ndim == 1
                else pa.FixedSizeListArray.from_arrays(flat, int(value.shape[1]))
            )
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            header["arrays"][name] = {"json": value.tolist(), "kind": value.dtype.kind}
            continue
        header["arrays"][name] = {"arrow": True}
        arrays.append(array)
        names.append(name)
    return header, _ipc(pa.RecordBatch.from_arrays(arrays, names=names))


def read_arrays(header: dict[str, Any], body: Any, rows: int | None) -> dict[str, np.ndarray]:
    """The arrays of ``arrays_message``; each must have ``rows`` rows when given."""
    import numpy as np
    import pyarrow as pa

    table = read_table(body)
    out: dict[str, np.ndarray] = {}
    described = header.get("arrays")
    if not isinstance(described, dict):
        raise WireError("a reply without arrays")
    for name, how in described.items():
        if not isinstance(how, dict):
            raise WireError(f"array {name!r} is not described")
        if "json" in how:
            value = np.array(how["json"], dtype=object if how.get("kind") == "O" else None)
        else:
            column = table.column(name).combine_chunks()
            if pa.types.is_fixed_size_list(column.type):
                width = column.type.list_size
                flat = column.flatten().to_numpy(zero_copy_only=False, writable=True)
                value = flat.reshape(len(column), width)
            else:
                value = column.to_numpy(zero_copy_only=False, writable=True)
        if rows is not None and len(value) != rows:
            raise WireError(f"the model answered {len(value)} rows for {rows}")
        out[name] = value
    return out


# -- Arrow IPC -----------------------------------------------------------------------------
def _ipc(batch: pa.RecordBatch) -> Any:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def read_table(body: Any) -> pa.Table:
    """An Arrow stream, validated in full (offsets, lengths, UTF-8) before any use."""
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
        table.validate(full=True)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise WireError(f"an Arrow body is invalid: {e}") from None
    return table
