"""The README's shell blocks, run as a new user would type them: the files they name are
made here (a training table, a model, rows to score, labels), the server they start runs
in the background on a free port, and every command must succeed. A tour that goes stale
fails this test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest

from tests.monitoring.conftest import FEATURES, invoices
from tests.services.test_promotions import pipeline
from tests.support.live import free_port
from tests.support.processes import process_group

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
SERVER = re.compile(r"^(?P<command>.*modelyard server .*)$", re.M)


def blocks() -> list[str]:
    """The README's ``sh`` blocks but the first (``make run`` / ``make test``)."""
    found = BLOCK.findall((ROOT / "README.md").read_text())
    assert "make run" in found[0]
    return found[1:]


def the_files(folder: Path) -> None:
    """What the tour names: train.parquet, model.joblib, rows.csv, invoices.csv/.parquet,
    labels.csv."""
    data = invoices(2000, seed=1)
    data.to_parquet(folder / "train.parquet")
    joblib.dump(pipeline(10).fit(data[FEATURES], data["label"]), folder / "model.joblib")
    data[FEATURES].head(50).to_csv(folder / "rows.csv", index=False)
    open_invoices = invoices(200, seed=2)[FEATURES]
    open_invoices.to_csv(folder / "invoices.csv", index=False)
    open_invoices.to_parquet(folder / "invoices.parquet")
    pd.DataFrame({"request_id": ["r-1"], "actual": ["late"]}).to_csv(
        folder / "labels.csv", index=False
    )
    (folder / ".venv").symlink_to(Path(sys.executable).parents[1])  # `source .venv/bin/activate`


def script(port: int) -> str:
    """The blocks as one bash script: stop at the first failure; the server line runs in
    the background until its ``/readyz`` answers."""
    text = "\n".join(blocks()).replace("8600", str(port))
    started = (
        r"\g<command> > server.log 2>&1 &" + "\n"
        f"for _ in $(seq 300); do curl -sf http://127.0.0.1:{port}/readyz > /dev/null && break; "
        "sleep 0.1; done"
    )
    text, servers = SERVER.subn(started, text)
    assert servers == 1
    return "set -euo pipefail\n" + text + "\n"


@pytest.mark.slow
def test_every_shell_block_of_the_readme_runs(tmp_path: Path) -> None:
    the_files(tmp_path)
    (tmp_path / "tour.sh").write_text(script(free_port()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env["MODELYARD_HOME"] = str(tmp_path / ".modelyard")
    with process_group(
        ["bash", "tour.sh"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as tour:
        out, _ = tour.communicate(timeout=300)
    log = (tmp_path / "server.log").read_text() if (tmp_path / "server.log").exists() else ""
    assert tour.returncode == 0, f"{out[-4000:]}\n--- server ---\n{log[-2000:]}"
    assert "Traceback" not in out + log
