"""What a section says about its run: the machine, the versions, the git revision, the
command that produced it."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _filesystem_of(path: Path) -> str:
    best, fstype = "", "unknown"
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) >= 3:
            mount = parts[1]
            inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
            if inside and len(mount) > len(best):
                best, fstype = mount, parts[2]
    return fstype


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every number here."""
    return _read("/proc/loadavg").split(" ", 1)[0] or "unknown"


def machine_info(tmp: Path) -> dict[str, Any]:
    cpu = "unknown"
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    os_name = platform.system()
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            os_name = line.split("=", 1)[1].strip().strip('"')
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / (1 << 20), 1),
        "os": f"{os_name}, kernel {platform.release()}",
        "python": platform.python_version(),
        "tmp_dir_filesystem": _filesystem_of(tmp),
        "load_average_at_start": load_average(),
    }


def git_revision() -> str:
    """HEAD, flagged when tracked files differ from it (the benchmarks' own output aside:
    ``make bench`` runs them one after another, each rewriting docs/benchmarks.md)."""
    git = ["git", "-C", str(REPO)]
    try:
        rev = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                *git,
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)docs/benchmarks.md",
                ":(exclude)docs/benchmarks",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}{' (uncommitted changes)' if dirty else ''}"


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def command_line() -> str:
    """This process's command, paths relative to the repository: what to run again."""
    script = _relative(Path(sys.argv[0]).resolve())
    return " ".join([_relative(Path(sys.executable)), script, *map(shlex.quote, sys.argv[1:])])


def provenance_table(
    result: dict[str, Any],
    side: dict[str, Any] | None,
    pin: str,
    extra: list[tuple[str, str]] | None = None,
) -> list[str]:
    """The table under a section's heading. ``side`` is what MLflow's side reported (None
    when it did not run); ``extra`` rows go after the MLflow row."""
    m = result["machine"]
    rows = [
        ("date", result["date"]),
        ("machine", f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM"),
        ("OS", m["os"]),
        ("Python", f"{m['python']} (MLflow side: {side['python_version'] if side else 'n/a'})"),
        ("modelyard", f"{result['modelyard_version']}, git {result['modelyard_git']}"),
        ("mlflow", f"{side['mlflow_version'] if side else 'not run'} (`{pin}`)"),
        *(extra or []),
        ("temp folder filesystem", m["tmp_dir_filesystem"]),
        (
            "1-min load average, start / end",
            f"{m['load_average_at_start']} / {m['load_average_at_end']} (on {m['cores']} "
            "cores; other work skews the numbers)",
        ),
        ("command", f"`{result['command']}` (or `make bench`)"),
        ("total run time", f"{result['total_s'] / 60:.1f} min"),
    ]
    return ["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows)]
