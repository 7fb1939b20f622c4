"""Docs kept honest: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

from modelyard import Settings
from modelyard.cli.root import app

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [
        f"MODELYARD_{n.upper()}"
        for n in Settings.model_fields
        if f"`MODELYARD_{n.upper()}`" not in text
    ]
    assert missing == []


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    import typer.main

    root = typer.main.get_command(app)
    missing = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", {})
        for sub in subs or [None]:
            label = f"{name} {sub}" if sub else name
            if f"`{label}" not in text and f"`modelyard {label}" not in text:
                missing.append(label)
    assert missing == []
