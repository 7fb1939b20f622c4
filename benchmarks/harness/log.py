"""Progress lines on stderr (stdout carries results), prefixed with who writes them:
``[bench]`` for a benchmark, the tool's name for a reference tool's side."""

from __future__ import annotations

import sys

_who = {"name": "bench"}


def log_as(name: str) -> None:
    """Prefix this process's progress lines with ``[name]``."""
    _who["name"] = name


def log(msg: str) -> None:
    print(f"[{_who['name']}] {msg}", file=sys.stderr, flush=True)
