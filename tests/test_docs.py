"""Docs kept honest: every setting and every CLI command and option is documented, and
no table is cut in two."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from modelyard import Settings
from modelyard.cli.root import command_tree

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [
        f"MODELYARD_{n.upper()}"
        for n in Settings.model_fields
        if f"`MODELYARD_{n.upper()}`" not in text
    ]
    assert missing == []


def test_every_cli_command_and_option_is_documented() -> None:
    """Each command has a row (or line) in docs/cli.md naming every option it takes."""
    lines = (DOCS / "cli.md").read_text().splitlines()
    missing: list[str] = []

    def visit(command: Any, path: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            visit(sub, f"{path} {name}".strip())
        if getattr(command, "commands", None):
            return
        start = re.compile(rf"`(modelyard )?{re.escape(path)}[ `]")
        text = " ".join(line for line in lines if start.search(line))
        if not text:
            missing.append(path)
        options = [p.opts for p in command.params if p.param_type_name == "option"]
        for names in options:
            documented = any(re.search(rf"{re.escape(n)}\b", text) for n in names)
            if names[0] not in ("--help", "--json") and not documented:
                missing.append(f"{path} {names[0]}")

    visit(command_tree(), "")
    assert missing == []


def test_no_table_in_the_docs_is_cut_by_a_blank_line() -> None:
    """A row after a blank line starts a new table with no header: Markdown shows it as text."""
    broken = []
    for page in sorted(DOCS.rglob("*.md")):
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines[1:-1], start=1):
            starts_table = line.startswith("|") and not lines[i - 1].strip()
            if starts_table and not re.match(r"^\|[\s:|-]+\|$", lines[i + 1]):
                broken.append(f"{page.name}:{i + 1}")
    assert broken == []
