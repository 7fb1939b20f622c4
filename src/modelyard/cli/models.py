"""``modelyard models ...``: register, ensemble, compile, list, show, check, search, alias,
tag, archive, delete."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import EnvOpt, JsonOpt, client, numbers, pairs
from modelyard.domain.errors import InvalidInput
from modelyard.domain.names import names_version

if TYPE_CHECKING:
    from modelyard.domain.entities import Model, ModelVersion


app = typer.Typer(help="Register, find and manage model versions.", no_args_is_help=True)


def _show_version(v: "ModelVersion") -> None:
    output.kv(
        v.ref,
        [
            ("status", v.status),
            ("flavor", v.flavor),
            ("digest", v.package_digest),
            ("size", f"{v.size_bytes:,} bytes"),
            ("aliases", v.aliases),
            ("tags", v.tags),
            ("metrics", v.metrics),
            ("params", v.params),
            ("inputs", [f"{c['name']}:{c['type']}" for c in (v.signature or {}).get("inputs", [])]),
            ("classes", (v.signature or {}).get("outputs", {}).get("classes")),
            ("datasets", v.lineage.datasets),
            ("source", v.lineage.source),
            ("git commit", v.lineage.git_commit),
            ("promoted from", v.lineage.promoted_from),
            ("compiled from", v.lineage.compiled_from),
            ("description", v.description),
            ("created", f"{output.when(v.created_at)} by {v.created_by}"),
        ],
    )


def _version_rows(versions: "list[ModelVersion]") -> list[list[object]]:
    return [
        [
            v.ref,
            v.status,
            v.flavor,
            ", ".join(v.aliases),
            ", ".join(f"{k}={val:.4g}" for k, val in sorted(v.metrics.items())),
            output.when(v.created_at),
        ]
        for v in versions
    ]


VERSION_COLUMNS = ["version", "status", "flavor", "aliases", "metrics", "created"]


@app.command()
def register(
    name: Annotated[str, typer.Argument(help="Model name, optionally env/name.")],
    path: Annotated[
        Path,
        typer.Argument(help="Package folder, MLflow model folder, score.py folder or model file."),
    ],
    env: EnvOpt = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", metavar="KEY=VALUE", help="Repeatable.")
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", metavar="KEY=NUMBER", help="Repeatable.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", metavar="KEY=VALUE", help="Repeatable.")
    ] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            metavar="NAME[:VERSION]",
            help="A dataset it was trained on (the first: baseline)",
        ),
    ] = None,
    eval_dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--eval-dataset", metavar="NAME[:VERSION]", help="A dataset it was evaluated on"
        ),
    ] = None,
    input_example: Annotated[
        Path | None,
        typer.Option(
            "--input-example",
            help="CSV/Parquet/JSON rows the model takes (needed for a bare model file)",
        ),
    ] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    flavor: Annotated[str | None, typer.Option("--flavor", help="Force a flavor.")] = None,
    json: JsonOpt = False,
) -> None:
    """Register a new version of a model."""
    with client() as c:
        v = c.register(
            name,
            path,
            environment=env,
            input_example=input_example,
            tags=pairs(tag, "tag"),
            metrics=numbers(metric, "metric"),
            params=pairs(param, "param"),
            datasets=dataset or (),
            eval_datasets=eval_dataset or (),
            description=description,
            flavor=flavor,
        )
    if json:
        output.emit_json(v)
    else:
        output.console.print(f"registered [bold]{v.ref}[/] ({v.flavor}, {v.package_digest[:19]}…)")


@app.command("list")
def list_(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """List models."""
    with client() as c:
        models = c.list_models(environment=env)
    if json:
        output.emit_json(models)
        return
    output.table(
        None,
        ["model", "latest", "aliases", "tags", "updated"],
        [
            [
                m.full_name,
                m.latest_version,
                ", ".join(f"{a}→{v}" for a, v in m.aliases.items()),
                ", ".join(f"{k}={v}" for k, v in m.tags.items()),
                output.when(m.updated_at),
            ]
            for m in models
        ],
    )


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME:VERSION or NAME@ALIAS")],
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show a model and its versions, or one version."""
    with client() as c:
        if not names_version(ref):
            model: Model = c.get_model(ref, environment=env)
            versions = c.list_versions(ref, environment=env)
            if json:
                output.emit_json({"model": model, "versions": versions})
                return
            output.kv(
                model.full_name,
                [
                    ("description", model.description),
                    ("tags", model.tags),
                    ("aliases", model.aliases),
                ],
            )
            output.table(None, VERSION_COLUMNS, _version_rows(versions))
            return
        v = c.get_version(ref, environment=env)
    if json:
        output.emit_json(v)
    else:
        _show_version(v)


@app.command()
def ensemble(
    name: Annotated[str, typer.Argument(help="Model name of the ensemble, optionally env/name.")],
    member: Annotated[
        list[str],
        typer.Option("--member", metavar="NAME:VERSION", help="A member version. Repeatable."),
    ],
    combine: Annotated[
        str,
        typer.Option(
            "--combine",
            help="mean, weighted, vote, or a .py file defining "
            "combine(predictions, probabilities, weights, classes)",
        ),
    ] = "mean",
    weight: Annotated[
        list[float] | None,
        typer.Option(
            "--weight", metavar="NUMBER", help="One per member, in order (weighted, vote)."
        ),
    ] = None,
    env: EnvOpt = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", metavar="KEY=VALUE", help="Repeatable.")
    ] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option("--dataset", metavar="NAME[:VERSION]", help="Training data (baseline)."),
    ] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    json: JsonOpt = False,
) -> None:
    """Register versions as one version whose answers combine theirs."""
    script = None
    if combine.endswith(".py"):
        path = Path(combine)
        if not path.is_file():
            raise InvalidInput(f"--combine {combine}: no such file")
        script, combine = path.read_text(), "script"
    with client() as c:
        v = c.register_ensemble(
            name,
            member,
            combine=combine,
            weights=weight,
            script=script,
            environment=env,
            tags=pairs(tag, "tag"),
            datasets=dataset or (),
            description=description,
        )
    if json:
        output.emit_json(v)
    else:
        members = ", ".join(member)
        output.console.print(f"registered [bold]{v.ref}[/] (ensemble of {members}, {combine})")


@app.command("compile")
def compile_(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION or NAME@ALIAS")],
    to: Annotated[str, typer.Option("--to", help="The format: onnx.")] = "onnx",
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", metavar="NAME[:VERSION]", help="Rows to verify it on."),
    ] = None,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Convert a version to ONNX, verify it against the version, register it as the next
    version (lineage: compiled from)."""
    with client() as c:
        v = c.compile_version(ref, to=to, dataset=dataset, environment=env)
    if json:
        output.emit_json(v)
    else:
        checked = v.params.get("compiled.rows")
        worst = v.params.get("compiled.max_difference")
        output.console.print(
            f"registered [bold]{v.ref}[/] ({v.flavor}, compiled from {v.lineage.compiled_from}; "
            f"verified on {checked} rows, largest difference {worst})",
            highlight=False,
        )


@app.command()
def check(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION or NAME@ALIAS")],
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Where a version's model runs on the server (its environment, or one built for its
    pinned requirements), what differs, and whether that can be built: before any
    deploy. Exit status 1 when it cannot."""
    with client() as c:
        found = c.check_version(ref, environment=env)
    if json:
        output.emit_json(found)
    else:
        differs = [
            f"{d.requirement} (server: {d.server or 'not installed'})" for d in found.differences
        ]
        output.kv(
            found.version,
            [
                ("runs", found.summary),
                ("differs", "; ".join(differs) or None),
                ("environment", found.environment),
                (
                    "built in",
                    None if found.build_seconds is None else f"{found.build_seconds:.1f} s",
                ),
                ("requirements", ", ".join(found.requirements)),
            ],
        )
    if found.problem is not None:
        raise typer.Exit(1)


@app.command()
def download(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION or NAME@ALIAS")],
    output_dir: Annotated[
        Path, typer.Option("--output", "-o", help="A new (or empty) folder to write it to.")
    ],
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write a version's package (its files and modelyard.yaml) to a folder."""
    with client() as c:
        v = c.get_version(ref, environment=env)
        folder = c.download_model(v.ref, output_dir)
    if json:
        output.emit_json({"version": v.ref, "package_digest": v.package_digest, "path": folder})
    else:
        output.console.print(
            f"wrote {v.ref} ({v.flavor}, {v.package_digest[:19]}…) to {folder}", highlight=False
        )


@app.command()
def search(
    filter: Annotated[
        str, typer.Argument(help="e.g. \"tags.team = 'risk' and metrics.accuracy > 0.8\"")
    ] = "",
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", "-o", metavar="'FIELD [ASC|DESC]'")
    ] = None,
    max_results: Annotated[int, typer.Option("--max-results", "-n")] = 100,
    page_token: Annotated[str | None, typer.Option("--page-token")] = None,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Search versions with a filter."""
    with client() as c:
        page = c.search_versions(
            filter,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            environment=env,
        )
    if json:
        output.emit_json(page)
        return
    output.table(None, VERSION_COLUMNS, _version_rows(page.items))
    if page.next_page_token:
        output.console.print(f"more: --page-token {page.next_page_token}")


@app.command()
def alias(
    name: Annotated[str, typer.Argument(help="Model name")],
    alias: Annotated[str, typer.Argument(help="Alias, e.g. champion")],
    version: Annotated[int | None, typer.Argument(help="Version (omit with --delete)")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Point an alias at a version (the previous version is recorded)."""
    with client() as c:
        if delete:
            change = c.delete_alias(name, alias, environment=env)
        else:
            if version is None:
                raise typer.BadParameter("give the VERSION the alias should point to")
            change = c.set_alias(name, alias, version, environment=env)
    if json:
        output.emit_json(change)
    elif change.version is None:
        output.console.print(
            f"removed {change.environment}/{change.name}@{alias} (was {change.previous_version})"
        )
    else:
        was = f" (was {change.previous_version})" if change.previous_version else ""
        output.console.print(f"{change.environment}/{change.name}@{alias} → {change.version}{was}")


@app.command()
def tag(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION (or NAME for model tags)")],
    tags: Annotated[
        list[str] | None, typer.Argument(metavar="KEY=VALUE", help="Tags to set.")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", metavar="KEY", help="Tag key to drop")
    ] = None,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Set or remove tags on a version (or on the model, when no version is given)."""
    with client() as c:
        if not names_version(ref):
            result: Model | ModelVersion = c.set_model_tags(
                ref, pairs(tags, "tag"), remove=remove or (), environment=env
            )
        else:
            result = c.set_version_tags(
                ref, pairs(tags, "tag"), remove=remove or (), environment=env
            )
    if json:
        output.emit_json(result)
    else:
        output.console.print(", ".join(f"{k}={v}" for k, v in result.tags.items()) or "no tags")


@app.command()
def archive(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    restore: Annotated[bool, typer.Option("--restore", help="Un-archive.")] = False,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Archive a version (refused while something depends on it)."""
    with client() as c:
        v = c.archive(ref, environment=env, restore=restore)
    if json:
        output.emit_json(v)
    else:
        output.console.print(f"{v.ref} is {v.status}")


@app.command()
def delete(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION, or NAME for the whole model")],
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Delete a version or a whole model (refused while something depends on it)."""
    with client() as c:
        if not names_version(ref):
            model = c.delete_model(ref, environment=env)
            deleted: Model | ModelVersion = model
            label = f"model {model.full_name}"
        else:
            version = c.delete_version(ref, environment=env)
            deleted, label = version, version.ref
    if json:
        output.emit_json(deleted)
    else:
        output.console.print(f"deleted {label}")
