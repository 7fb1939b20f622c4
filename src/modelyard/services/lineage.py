"""Where a model came from: the source tree's git commit, when there is one."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path


@functools.cache
def detect_git_commit(path: Path | None = None) -> str | None:
    """The commit checked out at ``path`` (default: the working directory), or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=path or Path.cwd(),
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None
