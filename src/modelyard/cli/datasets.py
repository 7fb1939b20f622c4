"""``modelyard datasets ...``: register, list, show, versions, download, snapshot."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import EnvOpt, JsonOpt, client

if TYPE_CHECKING:
    from modelyard.domain.datasets import DatasetVersion


app = typer.Typer(help="Datasets: numbered, immutable versions of tables (CSV or Parquet).")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def _show(d: "DatasetVersion") -> None:
    output.kv(
        d.ref,
        [
            ("rows", f"{d.rows:,}"),
            ("format", f"{d.format}, {_size(d.size_bytes)}"),
            ("digest", d.digest),
            ("source", d.source),
            ("description", d.description),
            ("created", f"{output.when(d.created_at)} by {d.created_by}"),
            ("used by", d.used_by),
        ],
    )
    rows = []
    for column in d.columns:
        name, kind = column.name, column.type
        f = d.profile["features"].get(name)
        if f is None:
            detail = ""
        elif f["kind"] == "numerical":
            detail = f"min {f['min']:.4g}, mean {f['mean']:.4g}, max {f['max']:.4g}"
        else:
            top = ", ".join(f"{k} ({v})" for k, v in list(f["top"].items())[:3])
            detail = f"{f['categories']} categories: {top}"
        rows.append([name, kind, f"{f['null_rate'] if f else 0.0:.1%}", detail])
    output.table(None, ["column", "type", "nulls", "profile"], rows)


@app.command()
def register(
    name: Annotated[str, typer.Argument(help="Dataset name, optionally env/name.")],
    file: Annotated[Path, typer.Argument(help="A .csv or .parquet file.")],
    env: EnvOpt = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    json: JsonOpt = False,
) -> None:
    """Register a file as the next version of a dataset (schema, rows and profile kept)."""
    with client() as c:
        d = c.register_dataset(name, file, environment=env, description=description)
    if json:
        output.emit_json(d)
    else:
        output.console.print(
            f"registered [bold]{d.ref}[/] ({d.rows:,} rows, {len(d.columns)} columns, "
            f"{d.digest[:19]}…)"
        )


@app.command("list")
def list_(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """List datasets (their latest versions)."""
    with client() as c:
        found = c.list_datasets(environment=env)
    if json:
        output.emit_json(found)
        return
    output.table(
        "datasets",
        ["dataset", "latest", "rows", "columns", "created"],
        [
            [
                f"{d.environment}/{d.name}",
                d.version,
                f"{d.rows:,}",
                len(d.columns),
                output.when(d.created_at),
            ]
            for d in found
        ],
    )


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="NAME[:VERSION] (default: the latest).")],
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show a dataset version: schema, profile, and the model versions trained on it."""
    with client() as c:
        d = c.get_dataset(ref, environment=env)
    if json:
        output.emit_json(d)
    else:
        _show(d)


@app.command()
def versions(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """List every version of a dataset."""
    with client() as c:
        found = c.list_dataset_versions(name, environment=env)
    if json:
        output.emit_json(found)
        return
    output.table(
        None,
        ["version", "rows", "digest", "source", "created", "used by"],
        [
            [
                d.ref,
                f"{d.rows:,}",
                d.digest[:19] + "…",
                d.source,
                output.when(d.created_at),
                ", ".join(d.used_by),
            ]
            for d in found
        ],
    )


@app.command()
def download(
    ref: Annotated[str, typer.Argument(help="NAME[:VERSION].")],
    output_file: Annotated[Path, typer.Option("--output", "-o", help=".csv or .parquet")],
    env: EnvOpt = None,
) -> None:
    """Write a dataset version to a CSV or Parquet file."""
    from modelyard.monitoring.tables import format_of, write_table

    fmt = format_of(output_file)
    with client() as c:
        table = c.read_dataset(ref, environment=env)
    write_table(table, output_file, fmt)
    output.console.print(f"wrote {table.num_rows:,} rows to {output_file}")


@app.command()
def snapshot(
    name: Annotated[str, typer.Argument(help="Dataset name to add a version to.")],
    from_deployment: Annotated[
        str | None,
        typer.Option("--from-deployment", help="Deployment whose live inputs to take."),
    ] = None,
    from_dataset: Annotated[
        str | None,
        typer.Option("--from-dataset", help="Or a dataset version to copy, e.g. production/x:3."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO time or duration before now (default 24h).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until")] = None,
    with_feedback: Annotated[
        bool, typer.Option("--with-feedback", help="Add an 'actual' column from feedback.")
    ] = False,
    drop: Annotated[
        list[str] | None,
        typer.Option("--drop", metavar="COLUMN", help="Leave this column out; repeatable."),
    ] = None,
    mask: Annotated[
        list[str] | None,
        typer.Option(
            "--mask",
            metavar="COLUMN",
            help="Replace this column's values by keyed hashes; repeatable.",
        ),
    ] = None,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Register a deployment's collected live inputs, or a copy of a dataset version (e.g.
    production data into the sandbox), as a dataset version, with columns dropped or
    masked."""
    with client() as c:
        d = c.snapshot_dataset(
            name,
            deployment=from_deployment,
            dataset=from_dataset,
            since=since,
            until=until,
            with_feedback=with_feedback,
            environment=env,
            drop=drop or (),
            mask=mask or (),
        )
    if json:
        output.emit_json(d)
    else:
        output.console.print(f"registered [bold]{d.ref}[/] ({d.rows:,} rows from {d.source})")
