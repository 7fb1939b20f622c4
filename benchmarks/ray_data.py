"""Batch scoring on Ray Data against one process: ``modelyard predict --engine ray``.

    .venv/bin/python benchmarks/ray_data.py [--rows 10000000] [--quick]

The serving benchmark's pipeline (``harness/payments.py``) scores ``--rows`` generated
rows three ways, each a whole ``modelyard predict`` command timed from start to end:

1. one process: ``modelyard predict pay -i all.parquet -o single.parquet``;
2. Ray Data with 1 scoring actor (``--engine ray --cpus 1``), from the same rows in 20
   Parquet partitions;
3. the same with 2 actors (``--cpus 2``).

Each Ray run starts its own local Ray (the command's own ``ray.init``; its start is in the
time), in network and process namespaces of its own (``unshare``), so its servers listen
on loopback only and every Ray process ends with the run. The outputs are compared with
the single-process output, row for row.

Results: the ``## Batch scoring on Ray`` section of ``docs/benchmarks.md`` and
``docs/benchmarks/ray_data.json``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from harness.log import log
from harness.payments import build_workload, deploy, generate
from harness.report import closing, generated_by, modelyard_provenance
from harness.run import Run, parse, parser

SECTION = "## Batch scoring on Ray"
PARTITIONS = 20
BIN = Path(sys.executable).parent
ISOLATED = ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--mount-proc"]


def write_rows(tmp: Path, rows: int) -> tuple[Path, Path]:
    """The rows as one Parquet file and as ``PARTITIONS`` partitions of it, in order."""
    folder = tmp / "in"
    folder.mkdir()
    per = -(-rows // PARTITIONS)
    writer: pq.ParquetWriter | None = None
    whole = tmp / "all.parquet"
    for i in range(PARTITIONS):
        n = min(per, rows - i * per)
        if n <= 0:
            break
        table = pa.Table.from_pandas(generate(n, seed=100 + i), preserve_index=False)
        pq.write_table(table, folder / f"part-{i:03d}.parquet")
        writer = writer or pq.ParquetWriter(whole, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return whole, folder


def timed(command: list[str], env: dict[str, str]) -> float:
    log(" ".join(command[command.index("predict") - 1 :]))
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def same_rows(parts: Path, single: Path) -> bool:
    got = pa.concat_tables([pq.read_table(p) for p in sorted(parts.glob("part-*.parquet"))])
    expected = pq.read_table(single)
    return bool(
        got.schema.remove_metadata() == expected.schema.remove_metadata()
        and got.to_pandas().equals(expected.to_pandas())
    )


def render(result: dict[str, Any]) -> str:
    rows, runs = result["rows"], result["runs"]
    base = runs["single"]["rows_per_s"]
    lines = [
        SECTION,
        "",
        generated_by("ray_data")
        + f"The serving benchmark's pipeline scores {rows:,} generated rows: one "
        f"`modelyard predict` process on one Parquet file, then `--engine ray` on the same "
        f"rows in {PARTITIONS} partitions with 1 and 2 scoring actors. Each time is the whole "
        "command, Ray's own start included (a local Ray per run, in namespaces of its own).",
        "",
        *modelyard_provenance(result),
        f"| ray | {result['ray']} |",
        "",
        "| engine | CPUs scoring | seconds | rows/s | vs one process | same output |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, label, cpus in (
        ("single", "one process", 1),
        ("ray1", "Ray Data", 1),
        ("ray2", "Ray Data", 2),
    ):
        r = runs[name]
        same = "—" if name == "single" else ("yes, row for row" if r["same"] else "**no**")
        lines.append(
            f"| {label} | {cpus} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} | "
            f"{r['rows_per_s'] / base:.2f}x | {same} |"
        )
    lines += [
        "",
        f"The machine has {result['machine']['cores']} cores: with 2 actors, Ray's reading "
        "tasks and the command writing the parts share them with the actors.",
    ]
    return "\n".join([*lines, *closing("ray_data")])


def main() -> int:
    p = parser("modelyard predict --engine ray (Ray Data) against one process")
    p.add_argument("--rows", type=int, default=10_000_000, help="rows scored")
    args = parse(p, {"rows": 200_000})
    import ray

    with Run("ray_data", SECTION, args) as run:
        tmp, result = run.tmp, run.result
        result["ray"] = ray.__version__
        result["rows"] = args.rows
        workload, result["workload"] = build_workload(tmp)
        home = tmp / "home"
        deploy(home, workload, tmp, "payments", {"pay": {}})
        log(f"writing {args.rows:,} rows")
        whole, folder = write_rows(tmp, args.rows)
        env = {**os.environ, "MODELYARD_HOME": str(home), "RAY_AUTH_MODE": "disabled"}
        exe = str(BIN / "modelyard")
        runs: dict[str, Any] = {}
        single = tmp / "single.parquet"
        seconds = timed([exe, "predict", "pay", "-i", str(whole), "-o", str(single)], env)
        runs["single"] = {"seconds": seconds, "rows_per_s": args.rows / seconds}
        for cpus in (1, 2):
            out = tmp / f"ray-{cpus}"
            command = [
                *ISOLATED, "sh", "-ec", 'ip link set lo up; exec "$@"', "sh",
                exe, "predict", "pay", "-i", str(folder), "-o", str(out),
                "--engine", "ray", "--cpus", str(cpus),
            ]  # fmt: skip
            seconds = timed(command, env)
            runs[f"ray{cpus}"] = {
                "seconds": seconds,
                "rows_per_s": args.rows / seconds,
                "same": same_rows(out, single),
            }
        result["runs"] = runs
    run.publish(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
