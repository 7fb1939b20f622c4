"""``modelyard apply FILE [--dry-run]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client
from modelyard.lifecycle.apply import apply as run

MARKS = {
    "unchanged": "=",
    "changed": "+",
    "would change": "~",
    "waiting": "…",
    "passed": "✓",
    "failed": "✗",
}


def apply(
    file: Annotated[Path, typer.Argument(help="The lifecycle file, e.g. modelyard.yaml.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; change nothing.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Run the declared flow: datasets, model, evaluation, sandbox deployment and smoke
    test, promotion, production deployment. Only what is missing is done; exit code 1
    when a step fails (a blocked gate, a failed smoke test)."""
    with client() as c:
        plan = run(c, file, dry_run=dry_run)
    if json:
        output.emit_json(
            {
                "changed": plan.changed,
                "failed": plan.failed,
                "steps": [s.to_dict() for s in plan.steps],
            }
        )
    else:
        for s in plan.steps:
            output.console.print(f"{MARKS[s.status]} {s.step:<20} {s.detail}", markup=False)
        summary = "failed" if plan.failed else ("changes" if plan.changed else "no changes")
        output.console.print(f"{summary}{' (dry run)' if dry_run else ''}", markup=False)
    if plan.failed:
        raise typer.Exit(1)
