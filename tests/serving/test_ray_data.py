"""``modelyard predict … --engine ray``: a partitioned dataset scored with Ray Data on a
real Ray cluster on loopback (started and stopped here), equal row for row to the
single-process job; a cluster that is not there, an engine that does not exist and an
output folder in use are one line each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard import Client, Settings
from tests.serving.conftest import invoices
from tests.support.live import free_port
from tests.support.ray import on_a_ray_cluster

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def predict(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "modelyard"), "predict", "pay", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ray_data_scores_a_dataset_as_one_process_does(
    payments_home: Settings, tmp_path: Path
) -> None:
    with Client(settings=payments_home) as c:
        c.create_deployment("pay", ["payments:1"])
    frame = invoices(30_000, seed=3).drop(columns="label")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):  # partitions, named in order
        frame.iloc[i * 10_000 : (i + 1) * 10_000].to_parquet(folder / f"part-{i}.parquet")
    whole = tmp_path / "all.parquet"
    frame.to_parquet(whole, index=False)
    env = {**os.environ, "MODELYARD_HOME": str(payments_home.home)}

    single = predict(env, "-i", str(whole), "-o", str(tmp_path / "single.parquet"))
    assert single.returncode == 0, single.stderr
    expected = pq.read_table(tmp_path / "single.parquet")
    out = tmp_path / "out"
    command = [
        str(BIN / "modelyard"), "predict", "pay", "-i", str(folder), "-o", str(out),
        "--engine", "ray", "--ray", "127.0.0.1:6379", "--cpus", "2", "--json",
    ]  # fmt: skip
    done = on_a_ray_cluster(" ".join(command), env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["rows"] == 30_000
    parts = sorted(out.glob("part-*.parquet"))
    got = pa.concat_tables([pq.read_table(p) for p in parts])
    assert got.schema.remove_metadata() == expected.schema.remove_metadata()
    pd.testing.assert_frame_equal(got.to_pandas(), expected.to_pandas())

    # one line each, nothing written
    for args, says in [
        (["--engine", "ray", "--ray", f"127.0.0.1:{free_port()}"], "cannot reach the Ray cluster"),
        (["--engine", "spark"], "unknown engine 'spark': local or ray"),
        (["--engine", "ray", "--ray", "nowhere"], "invalid Ray address 'nowhere'"),
    ]:
        refused = tmp_path / "refused"
        done = predict(env, "-i", str(folder), "-o", str(refused), *args)
        assert done.returncode == 1
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(f"error: {says}"), line
        assert not refused.exists()
    used = predict(env, "-i", str(folder), "-o", str(out), "--engine", "ray")
    assert used.returncode == 1
    assert used.stderr.strip().splitlines() == [f"error: {out} exists and is not an empty folder"]
