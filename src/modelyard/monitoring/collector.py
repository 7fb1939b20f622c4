"""Collected scoring data: rows buffered in memory, written off the request path in
batches to Parquet files partitioned by deployment and hour.

- ``add`` is cheap and never raises: it appends to a bounded buffer. When the buffer is
  full the rows are dropped and counted (scoring never waits for disk).
- ``flush`` (from a background task every ``flush_seconds``, and on ``stop``) writes one
  file per deployment and hour: ``LAKE/deployment=NAME/hour=YYYY-MM-DDTHH/part-….parquet``
  (``monitoring.lake``: the home, or the artifact store every node shares),
  written under a temporary name and renamed, so a crash leaves only whole files. A
  failing disk drops that batch and counts it; the next flush tries again.
- One row per scored input row: request id, row position, time, deployment, revision,
  variant, role (live or shadow), status, latency, the prediction and the class
  probabilities, each input column under its own name (prefixed ``in.``) and each key
  column the deployment declares (prefixed ``key.``, text).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from modelyard.monitoring.lake import Lake

log = logging.getLogger("modelyard.monitoring")
INPUT_PREFIX = "in."
KEY_PREFIX = "key."


def collected_column(name: str, keys: tuple[str, ...] | list[str]) -> str:
    """The column collected rows keep input or key ``name`` in."""
    return (KEY_PREFIX if name in keys else INPUT_PREFIX) + name


#: The columns every file of collected rows has (then ``probabilities`` and the inputs).
BASE_COLUMNS = (
    "request_id", "row", "time", "deployment", "revision", "variant", "role", "status",
    "latency_ms", "prediction",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Record:
    """One scored request (live or shadow), as the runtime hands it over."""

    request_id: str
    time: datetime
    deployment: str
    revision: int
    variant: str
    role: str
    status: int
    latency_ms: float
    inputs: Mapping[str, Sequence[Any] | np.ndarray]
    predictions: Sequence[Any] | np.ndarray
    probabilities: np.ndarray | None
    rows: int
    keys: Mapping[str, np.ndarray] = field(default_factory=dict)  # text, per row
    positions: np.ndarray | None = None  # each row's place in its input (default 0, 1, …)


class Collector:
    def __init__(
        self,
        lake: Lake,
        *,
        max_rows: int = 200_000,
        flush_seconds: float = 1.0,
        on_drop: Callable[[str, int], None] | None = None,
    ) -> None:
        self.lake = lake
        self.max_rows = max_rows
        self.flush_seconds = flush_seconds
        self.on_drop = on_drop
        self.dropped = 0
        self.written = 0
        self._buffer: list[Record] = []
        self._rows = 0
        self._lock = threading.Lock()  # add() runs on the loop, flush() in a thread
        self._flushing = threading.Lock()  # one flush at a time: a second waits for the first
        self._task: asyncio.Task[None] | None = None

    # -- the request path -----------------------------------------------------------------
    def add(self, scored: Record) -> bool:
        with self._lock:
            if self._rows + scored.rows > self.max_rows:
                self._drop(scored.deployment, scored.rows)
                return False
            self._buffer.append(scored)
            self._rows += scored.rows
            return True

    def _drop(self, deployment: str, rows: int) -> None:
        self.dropped += rows
        if self.on_drop is not None:
            self.on_drop(deployment, rows)

    # -- background writing ---------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            await asyncio.to_thread(self.flush)

    async def stop(self) -> None:
        """Stop the background task and write everything still buffered."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.flush)

    def flush(self) -> int:
        """Write what is buffered; returns the rows written. When it returns, every row
        added before the call is on disk (or counted as dropped)."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            taken, self._buffer, self._rows = self._buffer, [], 0
        if not taken:
            return 0
        groups: dict[tuple[str, str], list[Record]] = {}
        for s in taken:
            groups.setdefault((s.deployment, hour_of(s.time)), []).append(s)
        written = 0
        for (deployment, hour), part in groups.items():
            rows = sum(s.rows for s in part)
            try:
                write_records(self.lake, deployment, hour, part)
                written += rows
            except Exception:  # a full or failing disk: count, keep scoring
                log.warning(
                    "could not write %d collected rows of %s", rows, deployment, exc_info=True
                )
                self._drop(deployment, rows)
        self.written += written
        return written


def hour_of(moment: datetime) -> str:
    """The hour folder rows scored at ``moment`` are kept in."""
    return moment.strftime("%Y-%m-%dT%H")


def write_records(lake: Lake, deployment: str, hour: str, part: list[Record]) -> None:
    """Rows of one deployment and hour as one part: ``LAKE/deployment=NAME/hour=HOUR/``."""
    lake.write_part(to_table(part), f"deployment={deployment}", f"hour={hour}")


def to_table(part: list[Record]) -> pa.Table:
    """One row per scored input row; input columns in the order first seen. Built from
    numpy columns, concatenated once per flush: this runs beside scoring, so it must hold
    the GIL as briefly as possible."""
    counts = np.fromiter((s.rows for s in part), dtype=np.int64, count=len(part))

    def per_request(values: list[Any]) -> pa.Array:
        return pa.array(np.repeat(np.asarray(values, dtype=object), counts).tolist())

    arrays: dict[str, pa.Array] = {
        "request_id": per_request([s.request_id for s in part]),
        "row": pa.array(
            np.concatenate(
                [
                    np.arange(n) if s.positions is None else np.asarray(s.positions, np.int64)
                    for s, n in zip(part, counts, strict=True)
                ]
            )
        ),
        "time": pa.array(
            np.repeat(np.array([_micros(s.time) for s in part], dtype=np.int64), counts),
            type=pa.timestamp("us", tz="UTC"),
        ),
        "deployment": per_request([s.deployment for s in part]),
        "revision": pa.array(np.repeat(np.array([s.revision for s in part]), counts)),
        "variant": per_request([s.variant for s in part]),
        "role": per_request([s.role for s in part]),
        "status": pa.array(np.repeat(np.array([s.status for s in part]), counts)),
        "latency_ms": pa.array(np.repeat(np.array([s.latency_ms for s in part]), counts)),
        "prediction": _column([s.predictions for s in part], counts),
        "probabilities": _probabilities(part, counts),
    }
    names: list[str] = []
    for s in part:
        names.extend(n for n in s.inputs if n not in names)
    for name in names:
        arrays[INPUT_PREFIX + name] = _column([s.inputs.get(name) for s in part], counts)
    keys: list[str] = []
    for s in part:
        keys.extend(n for n in s.keys if n not in keys)
    for name in keys:
        given = [s.keys.get(name) for s in part]
        flat = [v for g, n in zip(given, counts, strict=True) for v in _plain_or_nulls(g, n)]
        arrays[KEY_PREFIX + name] = pa.array(flat, type=pa.string())
    return pa.table(arrays)


def _plain_or_nulls(values: np.ndarray | None, n: int) -> list[Any]:
    return values.tolist() if values is not None else [None] * int(n)


def _micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def _column(parts: list[Any], counts: np.ndarray) -> pa.Array:
    """Concatenate per-request values; a request without the column gives nulls."""
    if all(isinstance(p, np.ndarray) and p.dtype.kind in "fiub" for p in parts):
        values = np.concatenate(parts)
        if values.dtype.kind == "f":
            return pa.array(values, mask=np.isnan(values))
        return pa.array(values)
    flat: list[Any] = []
    for p, n in zip(parts, counts, strict=True):
        flat.extend(_plain(p) if p is not None else [None] * int(n))
    return _array(flat)


def _probabilities(part: list[Record], counts: np.ndarray) -> pa.Array:
    shapes = {s.probabilities.shape[1] for s in part if s.probabilities is not None}
    if len(shapes) == 1 and all(s.probabilities is not None for s in part):
        flat = np.concatenate([np.asarray(s.probabilities, dtype=np.float64).ravel() for s in part])
        width = shapes.pop()
        offsets = np.arange(0, flat.size + 1, width, dtype=np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))
    rows: list[Any] = []
    for s, n in zip(part, counts, strict=True):
        rows.extend(s.probabilities.tolist() if s.probabilities is not None else [None] * int(n))
    return pa.array(rows, type=pa.list_(pa.float64()))


def _plain(values: Sequence[Any] | np.ndarray) -> list[Any]:
    if isinstance(values, np.ndarray):
        out = values.tolist()
        if values.dtype.kind == "f":
            return [None if math.isnan(v) else v for v in out]
        return out  # type: ignore[no-any-return]
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def _array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep them as text
        return pa.array([None if v is None else str(v) for v in values])
