"""The collector: buffered, written in whole Parquet files per deployment and hour, bounded,
and a failing disk never reaches the caller."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from modelyard.monitoring.collector import Collector, Record
from modelyard.monitoring.lake import Lake


def scored(i: int, *, deployment: str = "pay", hour: int = 10, rows: int = 2) -> Record:
    return Record(
        request_id=f"r{i}",
        time=datetime(2026, 12, 2, hour, 5, tzinfo=UTC),
        deployment=deployment,
        revision=3,
        variant="payments:1",
        role="live",
        status=200,
        latency_ms=4.5,
        inputs={"amount": np.array([float(i), np.nan][:rows]), "group": ["a", None][:rows]},
        predictions=np.array(["late", "on_time"][:rows], dtype=object),
        probabilities=np.array([[0.7, 0.3], [0.2, 0.8]][:rows]),
        rows=rows,
    )


def test_rows_land_in_files_per_deployment_and_hour(tmp_path: Path) -> None:
    c = Collector(Lake.open(str(tmp_path / "collected")))
    for i in range(50):
        assert c.add(scored(i, hour=10 + i % 2))
    c.add(scored(99, deployment="other", rows=1))
    assert c.flush() == 101
    folders = sorted(
        p.relative_to(tmp_path / "collected").parent
        for p in (tmp_path / "collected").rglob("*.parquet")
    )
    assert [str(f) for f in folders] == [
        "deployment=other/hour=2026-12-02T10",
        "deployment=pay/hour=2026-12-02T10",
        "deployment=pay/hour=2026-12-02T11",
    ]
    assert not list((tmp_path / "collected").rglob("*.tmp"))
    pattern = str(tmp_path / "collected" / "deployment=pay" / "*" / "*.parquet")
    with duckdb.connect() as db:
        found = db.execute(
            f"""select count(*), count("in.amount"), count(distinct request_id),
                       sum(case when prediction = 'late' then 1 else 0 end)
                from read_parquet('{pattern}')"""
        ).fetchall()
    assert found == [(100, 50, 50, 50)]
    table = pq.read_table(next((tmp_path / "collected" / "deployment=other").rglob("*.parquet")))
    assert table.column("probabilities").to_pylist() == [[0.7, 0.3]]
    assert table.column("in.group").to_pylist() == ["a"]
    assert c.flush() == 0  # nothing left


def test_a_full_buffer_drops_and_counts(tmp_path: Path) -> None:
    dropped: list[tuple[str, int]] = []
    c = Collector(
        Lake.open(str(tmp_path / "collected")),
        max_rows=10,
        on_drop=lambda d, n: dropped.append((d, n)),
    )
    accepted = [c.add(scored(i)) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert c.dropped == 6 and dropped == [("pay", 2)] * 3
    assert c.flush() == 10
    assert c.add(scored(9))  # room again after a flush


def test_a_failing_disk_drops_the_batch_and_keeps_going(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    c = Collector(Lake.open(str(blocked)))
    c.add(scored(1))
    assert c.flush() == 0  # no exception reaches the caller
    assert c.dropped == 2
    c.lake = Lake.open(str(tmp_path / "collected"))
    c.add(scored(2))
    assert c.flush() == 2


def test_stop_flushes_everything(tmp_path: Path) -> None:
    async def scenario() -> Collector:
        c = Collector(Lake.open(str(tmp_path / "collected")), flush_seconds=60)
        c.start()
        for i in range(20):
            c.add(scored(i))
        await c.stop()
        return c

    c = asyncio.run(scenario())
    assert c.written == 40
    total = sum(pq.read_table(p).num_rows for p in (tmp_path / "collected").rglob("*.parquet"))
    assert total == 40
