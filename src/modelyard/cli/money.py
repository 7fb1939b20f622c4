"""``modelyard money``: the amount a classifier's predictions expect in each class; and
``modelyard deployments latest``: each key's newest prediction, as a spreadsheet reads it."""

import contextlib
import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client
from modelyard.cli.monitoring import By, Offset, Since, Until
from modelyard.domain.errors import InvalidInput
from modelyard.domain.reports import MoneyView


def money(
    deployment: Annotated[str, typer.Argument(help="Deployment name.")],
    since: Since = None,
    until: Until = None,
    span: Annotated[
        str | None,
        typer.Option("--window", "-w", help="The window's length (30d): --since counted back."),
    ] = None,
    offset: Offset = None,
    by: By = None,
    limit: Annotated[int, typer.Option("--limit", help="The largest N values of --by.")] = 1000,
    json: JsonOpt = False,
) -> None:
    """The amount expected in each class (amount x probability) over a window, per --by
    value, and expected against realized once outcomes mature."""
    if span is not None and since is not None:
        raise InvalidInput("give --window or --since, not both")
    with client() as c:
        found = c.money(
            deployment, since=span or since, until=until, offset=offset, by=by, limit=limit
        )
    if json:
        output.emit_json(found)
        return
    _render(found)


def _amounts(values: dict[str, float], classes: list[str]) -> list[str]:
    return [f"{values[c]:,.2f}" for c in classes]


def _render(view: MoneyView) -> None:
    classes = view["classes"]
    output.console.print(
        f"[bold]{view['deployment']}[/]: {view['rows']:,} items, {view['amount']:,.2f} of "
        f"{view['amount_column']} from {view['since'][:19]} to {view['until'][:19]} UTC "
        f"({view['pending']:,} not matured)"
    )
    rows = [
        ["expected", *_amounts(view["expected"], classes)],
        ["predicted", *_amounts(view["predicted"], classes)],
    ]
    matured = view["matured"]
    if matured is not None:
        rows.append(
            [f"expected, {matured['rows']:,} matured", *_amounts(matured["expected"], classes)]
        )
        rows.append(["realized", *_amounts(matured["realized"], classes)])
    output.table("amount per class", ["", *classes], rows)
    if matured is not None and matured["gap"] is not None:
        output.console.print(f"largest gap, expected against realized: {matured['gap']:.1%}")
    if view["by"] is not None:
        output.table(
            f"per {view['by']}",
            [view["by"], "items", "amount", *classes],
            [
                [g["value"], g["rows"], f"{g['amount']:,.2f}", *_amounts(g["expected"], classes)]
                for g in view["groups"]
            ],
        )


def latest(
    deployment: Annotated[str, typer.Argument(help="Deployment name.")],
    key: Annotated[
        str | None, typer.Option("--key", help="A key column (default: the first).")
    ] = None,
    since: Since = None,
    limit: Annotated[int, typer.Option("--limit", help="At most N keys.")] = 100_000,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write CSV here (default: stdout).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Each key's newest live prediction (online or batch), as CSV: what
    GET /api/v1/deployments/NAME/latest?format=csv serves to spreadsheets and BI tools."""
    with client() as c:
        found = c.latest_predictions(deployment, key=key, since=since, limit=limit)
    if json:
        output.emit_json(found)
        return
    with open(out, "w", newline="") if out else contextlib.nullcontext(sys.stdout) as fh:
        writer = csv.DictWriter(fh, fieldnames=found["columns"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(found["rows"])
    if out:
        output.console.print(f"{len(found['rows'])} keys' latest predictions written to {out}")
