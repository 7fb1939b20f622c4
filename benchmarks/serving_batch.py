"""The serving benchmark's batch scoring: a Parquet file of generated rows scored by
``modelyard predict`` (the CLI, embedded) and ``Client().predict_file`` against the
pipeline's own ``predict_proba`` and ``predict`` over the whole frame, in this process; the
outputs checked against the in-process predictions."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from harness.log import log
from harness.memory import MB
from harness.payments import SEED, Workload, generate
from harness.procfs import children_cpu_seconds
from harness.quiet import other_cpu, wait_quiet
from harness.servers import modelyard_command, modelyard_env
from serving_targets import DEPLOYMENT


def bench_batch(tmp: Path, home: Path, workload: Workload, rows: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from modelyard import Client, Settings
    from modelyard.serving.batch import CHUNK_ROWS

    source = tmp / "rows.parquet"
    log(f"batch: generating {rows:,} rows into {source.name}")
    generate(rows, seed=SEED + 3).to_parquet(source, index=False)
    size = source.stat().st_size
    frame = pd.read_parquet(source)
    model = workload.model
    other: dict[str, float] = {}

    quiet = wait_quiet("batch")
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        proba = model.predict_proba(frame)
        proba_s = time.perf_counter() - t0
    other["in_process_predict_proba"] = o["other_cpu_cores"]
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        labels = model.predict(frame)
        predict_s = time.perf_counter() - t0
    other["in_process_predict"] = o["other_cpu_cores"]
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        for start in range(0, rows, CHUNK_ROWS):
            model.predict_proba(frame.iloc[start : start + CHUNK_ROWS])
        chunked_s = time.perf_counter() - t0
    other["in_process_chunked"] = o["other_cpu_cores"]
    log(
        f"batch: in-process predict_proba {proba_s:.1f} s, predict {predict_s:.1f} s, "
        f"predict_proba in {CHUNK_ROWS:,}-row chunks {chunked_s:.1f} s"
    )
    del frame

    def check(path: Path) -> dict[str, Any]:
        meta_rows = pq.ParquetFile(path).metadata.num_rows
        columns = ["prediction", *(f"probability_{c}" for c in workload.model.classes_)]
        table = pq.read_table(path, columns=columns).to_pandas()
        got = table[columns[1:]].to_numpy(dtype=np.float64)
        same_labels = int((table["prediction"].to_numpy(dtype=object) == labels).sum())
        diff = float(np.max(np.abs(got - proba))) if len(got) == len(proba) else float("inf")
        return {
            "rows": int(meta_rows),
            "labels_equal": same_labels,
            "max_probability_diff": diff,
            "correct": meta_rows == rows and same_labels == rows and diff <= 1e-9,
        }

    cli_out = tmp / "out.parquet"
    env = modelyard_env(home)
    cmd = modelyard_command("predict", DEPLOYMENT, "--input", str(source), "--output", str(cli_out))
    log("batch: " + " ".join(["modelyard", *cmd[1:]]))
    cpu0 = children_cpu_seconds()
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, cwd=str(tmp), check=False
        )
        cli_s = time.perf_counter() - t0
    other["cli"] = o["other_cpu_cores"]
    cli_cpu = children_cpu_seconds() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"modelyard predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cli_check = check(cli_out)
    log(f"batch: CLI {cli_s:.1f} s, output correct: {cli_check['correct']}")
    cli_out.unlink()

    sdk_out = tmp / "out-sdk.parquet"
    with other_cpu([]) as o:
        t0 = time.perf_counter()
        with Client(settings=Settings(home=home, actor="bench")) as c:
            opened_s = time.perf_counter() - t0
            batch_result = c.predict_file(DEPLOYMENT, source, sdk_out)
        sdk_s = time.perf_counter() - t0
    other["sdk"] = o["other_cpu_cores"]
    sdk_check = check(sdk_out)
    log(f"batch: predict_file {sdk_s:.1f} s, output correct: {sdk_check['correct']}")
    sdk_out.unlink()
    if not (cli_check["correct"] and sdk_check["correct"]):
        raise SystemExit(f"batch outputs differ from in-process: {cli_check} {sdk_check}")
    return {
        "rows": rows,
        "quiet": quiet,
        "other_cpu_cores": other,
        "parquet_mb": size / MB,
        "in_process_predict_proba_s": proba_s,
        "in_process_predict_s": predict_s,
        "in_process_predict_proba_rows_per_s": rows / proba_s,
        "in_process_predict_rows_per_s": rows / predict_s,
        "chunk_rows": CHUNK_ROWS,
        "in_process_chunked_predict_proba_s": chunked_s,
        "in_process_chunked_rows_per_s": rows / chunked_s,
        "cli_s": cli_s,
        "cli_cpu_s": cli_cpu,
        "cli_rows_per_s": rows / cli_s,
        "cli_command": "modelyard predict payments --input rows.parquet --output out.parquet",
        "cli_output": proc.stdout.strip()[-500:],
        "cli_check": cli_check,
        "sdk_s": sdk_s,
        "sdk_open_s": opened_s,
        "sdk_rows_per_s": rows / sdk_s,
        "sdk_scored": batch_result.scored,
        "sdk_rejected": batch_result.rejected,
        "sdk_check": sdk_check,
        "cli_ratio": (rows / cli_s) / (rows / proba_s),
        "sdk_ratio": (rows / sdk_s) / (rows / proba_s),
        "cli_ratio_vs_both_calls": (rows / cli_s) / (rows / (proba_s + predict_s)),
        "cli_ratio_vs_chunked": chunked_s / cli_s,
        "sdk_ratio_vs_chunked": chunked_s / sdk_s,
    }
