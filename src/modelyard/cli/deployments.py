"""``modelyard deployments ...`` and ``modelyard predict``."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client
from modelyard.domain.errors import InvalidInput

if TYPE_CHECKING:
    from modelyard.domain.deployments import Deployment, Revision, Rollout
    from modelyard.sdk.client import Client


app = typer.Typer(help="Deployments: named web services serving exact versions.")

Models = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        metavar="NAME:VERSION[=WEIGHT]",
        help="Or NAME@ALIAS (resolved now); repeatable.",
    ),
]
Shadows = Annotated[
    list[str] | None,
    typer.Option(
        "--shadow", metavar="NAME:VERSION[=PERCENT]", help="Copied traffic, never answered."
    ),
]
Options = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        "-o",
        metavar="KEY=VALUE",
        help="Serving option KEY=VALUE: max_batch_size, max_wait_ms, max_queue, timeout_ms, "
        "max_body_bytes, unseen_categories (allow|reject), non_finite (reject|allow), "
        "sampling, keys (comma-separated), maturity_days, maturity_column, amount_column; "
        "on Kubernetes: "
        "cpu, memory_mb, min_replicas, max_replicas.",
    ),
]
KeyColumns = Annotated[
    list[str] | None,
    typer.Option(
        "--key",
        metavar="COLUMN",
        help="A key column (an invoice id): never given to the model, echoed in answers and "
        "batch outputs, kept with collected rows; repeatable (update: replaces the keys).",
    ),
]


Wait = Annotated[
    float,
    typer.Option(
        "--wait",
        metavar="SECONDS",
        help="Wait up to this long until every server worker serves the new revision "
        "(0: do not wait).",
    ),
]


def _wait(c: "Client", d: "Deployment", seconds: float, json: bool) -> None:
    """After the deployment is shown (its new keys are shown once), wait for the rollout."""
    if seconds > 0:
        rollout = c.wait_deployment(d.name, revision=d.revision.number, timeout=seconds)
        if not json:
            _print_rollout(rollout)


def _print_rollout(rollout: "Rollout") -> None:
    output.console.print(
        f"{rollout.deployment}: revision {rollout.revision} is served by every server "
        f"worker ({rollout.workers})",
        highlight=False,
    )


def _options(pairs: list[str] | None, keys: list[str] | None = None) -> dict[str, Any] | None:
    if not pairs and keys is None:
        return None
    found: dict[str, Any] = {"keys": keys} if keys is not None else {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"invalid option {pair!r}: use KEY=VALUE")
        found[key.strip()] = value.strip()
    return found


def _variants(revision: "Revision") -> str:
    return ", ".join(
        f"{v.name}={v.weight:g}%" + (" (shadow)" if v.role == "shadow" else "")
        for v in revision.variants
    )


def _show(d: "Deployment") -> None:
    output.kv(
        d.name,
        [
            ("environment", d.environment),
            ("revision", f"{d.revision.number} ({d.revision.action})"),
            ("serving", _variants(d.revision)),
            ("scoring", f"POST /v1/deployments/{d.name}/predict"),
            *(
                [("key columns", ", ".join(d.revision.options.keys))]
                if d.revision.options.keys
                else []
            ),
            (
                "scoring keys",
                ", ".join(f"{k.slot} (since {output.when(k.created_at)})" for k in d.keys),
            ),
            ("updated", output.when(d.updated_at)),
        ],
    )
    for slot, secret in d.new_keys.items():
        output.console.print(f"{slot} scoring key (shown once, store it now): {secret}")


@app.command("create")
def create(
    name: str,
    model: Models = None,
    shadow: Shadows = None,
    env: Annotated[str | None, typer.Option("--env", help="Environment.")] = None,
    option: Options = None,
    key: KeyColumns = None,
    description: Annotated[str, typer.Option("--description")] = "",
    wait: Wait = 60.0,
    json: JsonOpt = False,
) -> None:
    """Create a deployment serving the given model versions."""
    with client() as c:  # no --model: the service says what is missing
        d = c.create_deployment(
            name,
            model or [],
            environment=env,
            shadows=shadow,
            options=_options(option, key),
            description=description,
        )
        output.emit_json(d) if json else _show(d)
        _wait(c, d, wait, json)


@app.command("update")
def update(
    name: str,
    model: Models = None,
    shadow: Shadows = None,
    no_shadow: Annotated[bool, typer.Option("--no-shadow", help="Remove the shadows.")] = False,
    option: Options = None,
    key: KeyColumns = None,
    wait: Wait = 60.0,
    json: JsonOpt = False,
) -> None:
    """Write a new revision: new models and weights, shadows, or serving options."""
    shadows = [] if no_shadow else shadow
    with client() as c:
        d = c.update_deployment(name, model, shadows=shadows, options=_options(option, key))
        output.emit_json(d) if json else _show(d)
        _wait(c, d, wait, json)


@app.command("rollback")
def rollback(
    name: str,
    to: Annotated[int | None, typer.Option("--to", help="Revision (default: previous).")] = None,
    wait: Wait = 60.0,
    json: JsonOpt = False,
) -> None:
    """Re-apply an earlier revision as a new one."""
    with client() as c:
        d = c.rollback_deployment(name, to=to)
        output.emit_json(d) if json else _show(d)
        _wait(c, d, wait, json)


@app.command("wait")
def wait_for(
    name: str,
    revision: Annotated[
        int | None, typer.Option("--revision", help="Default: the current one.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS")] = 60.0,
    json: JsonOpt = False,
) -> None:
    """Wait until every server worker serves a revision; exit 1 if it failed to load."""
    with client() as c:
        rollout = c.wait_deployment(name, revision=revision, timeout=timeout)
    output.emit_json(rollout) if json else _print_rollout(rollout)


@app.command("list")
def list_deployments(
    env: Annotated[str | None, typer.Option("--env", help="Environment.")] = None,
    json: JsonOpt = False,
) -> None:
    """List deployments."""
    with client() as c:
        found = c.list_deployments(environment=env)
    if json:
        output.emit_json(found)
        return
    output.table(
        None,
        ["deployment", "env", "revision", "serving", "updated"],
        [
            [
                d.name,
                d.environment,
                d.revision.number,
                _variants(d.revision),
                output.when(d.updated_at),
            ]
            for d in found
        ],
    )


@app.command("show")
def show(
    name: str,
    revisions: Annotated[bool, typer.Option("--revisions", help="List every revision.")] = False,
    json: JsonOpt = False,
) -> None:
    """Show a deployment (and its revisions)."""
    with client() as c:
        d = c.get_deployment(name)
        history = c.list_revisions(name) if revisions else []
    if json:
        output.emit_json({"deployment": d, "revisions": history} if revisions else d)
        return
    _show(d)
    if history:
        output.table(
            "revisions",
            ["revision", "action", "serving", "by", "at"],
            [
                [
                    r.number,
                    r.action + (f" to {r.rolled_back_to}" if r.rolled_back_to else ""),
                    _variants(r),
                    r.created_by,
                    output.when(r.created_at),
                ]
                for r in history
            ],
        )


@app.command("delete")
def delete(name: str, json: JsonOpt = False) -> None:
    """Delete a deployment (its versions become deletable again)."""
    with client() as c:
        d = c.delete_deployment(name)
    output.emit_json(d) if json else output.console.print(f"deleted deployment {d.name}")


@app.command("keys")
def keys(
    name: str,
    regenerate: Annotated[
        str | None, typer.Option("--regenerate", help="primary or secondary")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Show the scoring keys' prefixes, or regenerate one (shown once)."""
    with client() as c:
        d = c.regenerate_key(name, regenerate) if regenerate else c.get_deployment(name)
    if json:
        output.emit_json({"keys": d.keys, "new_keys": d.new_keys})
        return
    output.table(
        None,
        ["key", "created"],
        [[k.slot, output.when(k.created_at)] for k in d.keys],
    )
    for slot, secret in d.new_keys.items():
        output.console.print(f"new {slot} key (shown once, store it now): {secret}")


def predict(
    deployment: str,
    input_uri: Annotated[
        str,
        typer.Option(
            "--input", "-i", help=".csv, .parquet, .json (with --engine ray: a folder or s3://)"
        ),
    ],
    output_uri: Annotated[
        str,
        # -o as every command's output; -O, its first spelling, still works
        typer.Option(
            "--output", "-o", "-O", help=".csv, .parquet, .json (--engine ray: a new folder)"
        ),
    ],
    variant: Annotated[
        str | None, typer.Option("--variant", help="NAME:VERSION (default: largest weight)")
    ] = None,
    max_error_rate: Annotated[
        float,
        typer.Option("--max-error-rate", help="Share of invalid rows that stops the job (0-1)."),
    ] = 0.0,
    engine: Annotated[
        str, typer.Option("--engine", help="local (this process) or ray (Ray Data).")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray", metavar="HOST:PORT", help="A Ray cluster (default: a local one)."),
    ] = None,
    cpus: Annotated[int, typer.Option("--cpus", help="Ray scoring actors, a CPU each.")] = 1,
    explain: Annotated[
        int,
        typer.Option(
            "--explain",
            metavar="N",
            help="Add each row's top N factors (factor_K, contribution_K, explain_base).",
        ),
    ] = 0,
    json: JsonOpt = False,
) -> None:
    """Score a file with a deployment's model; invalid rows go to OUTPUT.errors.csv. With
    --engine ray, a dataset of CSV or Parquet partitions on Ray Data, into Parquet parts."""
    if engine not in ("local", "ray"):
        raise InvalidInput(f"unknown engine {engine!r}: local or ray")
    if explain and engine == "ray":
        raise InvalidInput("--explain scores with --engine local")
    if engine == "ray":
        with client() as c:
            done = c.predict_dataset(
                deployment, input_uri, output_uri, address=ray_address, cpus=cpus, variant=variant
            )
        if json:
            output.emit_json(done)
        else:
            output.console.print(
                f"scored {done.rows} rows with {done.model_version} into {done.parts} parts "
                f"under {done.output}",
                markup=False,
            )
        return
    input_file, output_file = Path(input_uri), Path(output_uri)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from modelyard.serving.batch import count_rows

    total = count_rows(input_file) if input_file.is_file() else None
    progress = Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=json,
    )
    with client() as c, progress as bar:
        task = bar.add_task("scoring rows", total=total)
        result = c.predict_file(
            deployment,
            input_file,
            output_file,
            variant=variant,
            max_error_rate=max_error_rate,
            progress=lambda n: bar.advance(task, n),
            explain=explain,
        )
    if json:
        output.emit_json(result)
        return
    output.console.print(
        f"scored {result.scored} of {result.rows} rows with {result.model_version} "
        f"into {result.output}"
        + (f"; {result.rejected} rejected, reasons in {result.errors}" if result.rejected else "")
    )
