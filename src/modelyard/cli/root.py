"""The ``modelyard`` command tree (Typer); ``cli/app.py`` is the entry point that runs it.

Typer builds the whole tree on every start, whichever command runs, so what the command
modules cost at start is paid by every command (``tests/cli/test_startup.py`` pins it):

- they import typer and light modules only; the SDK, rich and the rest load inside the
  command functions;
- they do not use ``from __future__ import annotations``: Typer would ``eval`` each string
  annotation of every command (each ``typer.Option(...)`` again) on each start, 0.1-0.2 s
  here, where real annotations cost nothing;
- help is Click's plain text (``rich_markup_mode=None``): Typer's rich help imports
  ``rich.markdown`` and ``rich.traceback`` (0.1-0.2 s), and it kept the docstrings'
  line breaks, where Click rewraps them.
"""

import os
from pathlib import Path
from typing import Annotated

import typer
import typer.core
import typer.main

from modelyard.cli import (
    bundles,
    datasets,
    deployments,
    jobs,
    kubernetes,
    lifecycle,
    models,
    money,
    monitoring,
    output,
    promotions,
    serve,
    webhooks,
)
from modelyard.cli.common import JsonOpt, client
from modelyard.cli.server import server
from modelyard.cli.users import tokens_app, users_app

app = typer.Typer(
    name="modelyard",
    help="modelyard: register, evaluate, deploy, monitor and promote ML models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
app.add_typer(models.app, name="models")
app.add_typer(deployments.app, name="deployments")
app.add_typer(datasets.app, name="datasets")
app.add_typer(monitoring.alerts_app, name="alerts")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(jobs.app, name="jobs")
app.command("monitor")(monitoring.monitor)
app.command("feedback")(monitoring.feedback)
app.command("money")(money.money)
deployments.app.command("latest")(money.latest)
app.add_typer(promotions.gates_app, name="gates")
app.add_typer(bundles.keys_app, name="keys")
app.add_typer(bundles.bundle_app, name="bundle")
app.command("apply")(lifecycle.apply)
app.add_typer(lifecycle.experiment_app, name="experiment")
for command in (
    promotions.evaluate,
    promotions.compare,
    promotions.promote,
    promotions.requests,
    promotions.approve,
    promotions.reject,
):
    app.command()(command)
app.command("predict")(deployments.predict)
app.command()(server)
app.command("serve")(serve.serve)
app.command("export")(serve.export)
app.command("image")(serve.image)
app.add_typer(serve.edge_app, name="edge")
app.add_typer(kubernetes.k8s_app, name="k8s")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
audit_app = typer.Typer(help="Read and verify the audit log.", invoke_without_command=True)
app.add_typer(audit_app, name="audit")


#: The order ``modelyard --help`` lists commands in: a model's life, then administration.
ORDER = (
    "models", "datasets", "evaluate", "compare", "deployments", "predict", "jobs", "monitor",
    "feedback", "money", "alerts", "webhooks", "promote", "requests", "approve", "reject", "gates",
    "apply", "experiment", "bundle", "export", "image", "serve", "edge", "k8s", "keys", "users",
    "tokens", "audit", "doctor", "server",
)  # fmt: skip


def command_tree() -> typer.core.TyperGroup:
    """The Click tree Typer builds from ``app``, listed in ``ORDER``, each command's summary
    its docstring's whole first sentence (Click would cut it at 45 characters with "...")."""
    tree = typer.main.get_command(app)
    assert isinstance(tree, typer.core.TyperGroup)
    tree.commands = {name: tree.commands[name] for name in dict.fromkeys([*ORDER, *tree.commands])}
    _summarise(tree)
    return tree


def _summarise(group: typer.core.TyperGroup) -> None:
    for command in group.commands.values():
        if command.help and not command.short_help:
            command.short_help = _first_sentence(command.help)
        if isinstance(command, typer.core.TyperGroup):
            _summarise(command)


def _first_sentence(text: str) -> str:
    """Click's rule: a period ends the sentence unless a lowercase word follows ("vs.")."""
    words = text.partition("\n\n")[0].split()
    for i, word in enumerate(words[:-1]):
        if word.endswith(".") and not words[i + 1][0].islower():
            return " ".join(words[: i + 1])
    return " ".join(words)


def _version(shown: bool) -> None:
    if shown:
        import modelyard

        output.console.print(f"modelyard {modelyard.__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def root(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home", help="modelyard home folder (default: $MODELYARD_HOME or ./.modelyard)."
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    if home is not None:
        os.environ["MODELYARD_HOME"] = str(home)


@app.command()
def doctor(
    quick: Annotated[
        bool, typer.Option("--quick", help="Check objects exist; skip hashing.")
    ] = False,
    gc: Annotated[
        bool, typer.Option("--gc", help="Remove unused packages and stray objects.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Verify every version's package and find rows and objects that disagree."""
    with client() as c:
        report = c.doctor(deep=not quick, gc=gc)
    if json:
        output.emit_json(report)
    else:
        for f in report.findings:
            style = {"error": "red", "warning": "yellow", "info": "dim"}[f.severity]
            output.console.print(f"[{style}]{f.severity}[/] {f.message}")
        verdict = "[green]ok[/]" if report.ok else "[red]problems found[/]"
        output.console.print(
            f"{verdict}: {report.versions_checked} versions, "
            f"{report.objects_checked} objects checked"
        )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.callback()
def audit(
    ctx: typer.Context,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Subject prefix, e.g. model_version:sandbox/payments"),
    ] = None,
    action: Annotated[str | None, typer.Option("--action")] = None,
    after: Annotated[
        int | None,
        typer.Option("--after", help="Events after this sequence number (default: the newest)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many events.")] = 100,
    json: JsonOpt = False,
) -> None:
    """List audit events, oldest first: the newest ``-n``, or those after ``--after``."""
    if ctx.invoked_subcommand is not None:
        return
    with client() as c:
        events = c.audit(subject=subject, action=action, after=after, limit=limit)
    if json:
        output.emit_json(events)
        return
    output.table(
        None,
        ["seq", "time", "actor", "action", "subject"],
        [[e.seq, output.when(e.time), e.actor, e.action, e.subject] for e in events],
    )


@audit_app.command("verify")
def audit_verify(json: JsonOpt = False) -> None:
    """Recompute the audit hash chain."""
    with client() as c:
        report = c.doctor(deep=False)
    broken = [f for f in report.findings if f.kind == "audit_chain"]
    if json:
        output.emit_json({"ok": not broken, "problems": broken})
    elif broken:
        output.console.print(f"[red]{broken[0].message}[/]")
    else:
        output.console.print("[green]audit chain intact[/]")
    if broken:
        raise typer.Exit(1)
