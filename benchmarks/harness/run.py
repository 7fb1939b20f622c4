"""One run of a benchmark script: its arguments, its temporary folder, the fields every
result starts with, and publishing its section.

    args = parse(parser("what it measures", reference=MLFLOW), quick={"n": 10})
    with Run("registry", "## Registry", args, references=[MLFLOW]) as run:
        run.result["modelyard"] = measure(run.tmp, args.n)
        run.result["goals"] = evaluate_goals(run.result)
    run.publish(render_section(run.result))
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.log import log
from harness.provenance import command_line, git_revision, load_average, machine_info
from harness.references import Reference
from harness.report import publish


def int_list(text: str) -> list[int]:
    """``"1,2"`` → ``[1, 2]``; ``""`` → ``[]`` (skip)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = [0]
    if values and min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


def parser(description: str, *, reference: Reference | None = None) -> argparse.ArgumentParser:
    """A benchmark's argument parser with the options every benchmark has (and
    ``--skip-<tool>`` when it compares against a ``reference`` tool)."""
    p = argparse.ArgumentParser(description=description)
    if reference is not None:
        p.add_argument(
            f"--skip-{reference.package}", action="store_true", help="measure modelyard only"
        )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a short pass with small numbers, to check the benchmark runs (implies --no-write)",
    )
    p.add_argument(
        "--no-write", action="store_true", help="print the report; leave docs/ untouched"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return p


def parse(p: argparse.ArgumentParser, quick: dict[str, Any]) -> argparse.Namespace:
    """Parse the command line; with ``--quick``, the options left at their defaults take
    their ``quick`` values instead and nothing is written."""
    args = p.parse_args()
    if args.quick:
        args.no_write = True
        for name, value in quick.items():
            if getattr(args, name) == p.get_default(name):
                setattr(args, name, value)
    return args


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every server's finally: stops it


class Run:
    """A benchmark run: ``with`` it, measure into ``result`` in ``tmp``, then ``publish``.

    Entering it ensures the ``references`` venvs (less any ``--skip-<tool>``), makes a
    fresh temporary folder and fills the common fields (date, command, machine, modelyard
    version and git revision); leaving it adds the total time and the end load average (when
    nothing failed) and deletes the folder unless ``--keep``. A SIGTERM unwinds like an
    error, stopping every server."""

    def __init__(
        self,
        name: str,
        heading: str,
        args: argparse.Namespace,
        *,
        references: list[Reference] | None = None,
    ) -> None:
        self.name = name
        self.heading = heading
        self.args = args
        # a reference tool whose --skip-<tool> is set is not needed
        self.references = [
            ref for ref in references or [] if not getattr(args, f"skip_{ref.package}", False)
        ]
        self.started = time.perf_counter()
        self.date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.tmp = Path()
        self.result: dict[str, Any] = {}
        self.versions: dict[str, str] = {}  # each reference tool's installed version

    def __enter__(self) -> Run:
        import modelyard

        signal.signal(signal.SIGTERM, _terminate)
        self.versions = {ref.package: ref.ensure() for ref in self.references}
        self.tmp = Path(tempfile.mkdtemp(prefix=f"modelyard-{self.name}-bench-"))
        log(f"working in {self.tmp}")
        self.result = {
            "date": self.date,
            "command": command_line(),
            "machine": machine_info(self.tmp),
            "modelyard_version": modelyard.__version__,
            "modelyard_git": git_revision(),
        }
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.result["total_s"] = time.perf_counter() - self.started
            self.result["machine"]["load_average_at_end"] = load_average()
        if self.args.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def publish(self, section: str) -> None:
        """Print ``section``; unless ``--no-write``, put it in docs/benchmarks.md and the
        result in docs/benchmarks/<name>.json."""
        publish(section, self.result, self.heading, self.name, write=not self.args.no_write)
