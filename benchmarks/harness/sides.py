"""A reference tool's side of a benchmark: a script under ``benchmarks/`` that runs in the
tool's venv (``references``), imports nothing from modelyard, reads a JSON config
(``--config``), does its half of the work and prints one line ``BENCH_RESULT {json}`` on
stdout (progress on stderr). ``run_side`` is the benchmark's end, ``side_main`` the side's."""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.log import log_as

if TYPE_CHECKING:
    from harness.references import Reference

RESULT_PREFIX = "BENCH_RESULT "
BENCHMARKS = Path(__file__).resolve().parents[1]


def run_side(reference: Reference, script: str, cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run ``benchmarks/<script>`` with ``reference``'s Python on ``cfg`` (written to
    ``work``, also its working folder); its result."""
    config_path = work / f"{Path(script).stem}-config.json"
    config_path.write_text(json.dumps(cfg))
    proc = subprocess.run(
        [str(reference.python), str(BENCHMARKS / script), "--config", str(config_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=reference.env(),
        check=False,
        cwd=str(work),
    )
    if proc.returncode != 0:
        raise SystemExit(f"the {reference.label} side ({script}) failed (exit {proc.returncode})")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    raise SystemExit(f"the {reference.label} side ({script}) printed no result")


def side_main(doc: str | None, work: Callable[[dict[str, Any]], dict[str, Any]], who: str) -> int:
    """A side's ``main``: read ``--config``, do ``work`` on it (progress lines prefixed with
    ``[who]``), print its result."""
    log_as(who)
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args()
    result = work(json.loads(args.config.read_text()))
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)
    return 0
