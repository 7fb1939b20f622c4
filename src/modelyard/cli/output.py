"""Rendering for the CLI: rich tables for people, ``--json`` for machines. rich loads when
something is printed, not when a command module imports this one (``--help`` needs none)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

#: The width drawn at when stdout is not a terminal: wide enough that nothing wraps.
UNWRAPPED = 1_000_000


class _Console:
    """A rich console made at print time, so it sees the terminal width of that moment.
    Output to a file or a pipe is never wrapped: a value split over two lines
    (``f1_macro=0.`` / ``61``) is wrong for whatever reads it next."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        from rich.console import Console

        width = None if sys.stdout.isatty() else UNWRAPPED
        Console(width=width).print(*objects, **kwargs)


console = _Console()


def error(message: str) -> None:
    """One line on stderr, never wrapped or styled."""
    sys.stderr.write(f"error: {message}\n")


def warning(message: str) -> None:
    """One line on stderr, like ``error``: something done as asked that needs a look."""
    sys.stderr.write(f"warning: {message}\n")


def emit_json(value: Any) -> None:
    """``value`` in the very shape the HTTP API answers with (``wire.Codec``)."""
    from modelyard.wire.codec import Codec

    text = json.dumps(Codec().encode(value), indent=2, sort_keys=False, default=str)
    sys.stdout.write(text + "\n")


def when(value: datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.table import Table

    t = Table(title=title, show_lines=False, header_style="bold")
    for i, c in enumerate(columns):
        t.add_column(c, overflow="fold", no_wrap=i == 0)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console.print(t)


def kv(title: str, pairs: list[tuple[str, Any]]) -> None:
    from rich.table import Table

    t = Table(title=title, show_header=False, box=None, title_justify="left", title_style="bold")
    t.add_column("field", style="dim")
    t.add_column("value", overflow="fold")
    for key, value in pairs:
        if value in (None, "", {}, [], ()):
            continue
        t.add_row(key, _text(value))
    console.print(t)


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
