"""``modelyard apply FILE [--dry-run]``."""

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client

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
    from modelyard.lifecycle.apply import Step
    from modelyard.lifecycle.apply import apply as run

    def show(s: Step) -> None:  # as each step completes: a failure shows what was done
        output.console.print(f"{MARKS[s.status]} {s.step:<20} {s.detail}", markup=False)

    with client() as c:
        plan = run(c, file, dry_run=dry_run, on_step=None if json else show)
    if json:
        output.emit_json(
            {
                "changed": plan.changed,
                "failed": plan.failed,
                "steps": [s.to_dict() for s in plan.steps],
            }
        )
    else:
        summary = "failed" if plan.failed else ("changes" if plan.changed else "no changes")
        output.console.print(f"{summary}{' (dry run)' if dry_run else ''}", markup=False)
    if plan.failed:
        raise typer.Exit(1)


experiment_app = typer.Typer(help="Train over feature subsets and row filters; rank the runs.")


@experiment_app.command("run")
def experiment_run(
    file: Annotated[Path, typer.Argument(help="The experiment file, e.g. experiments.yaml.")],
    register_best: Annotated[
        str | None,
        typer.Option("--register-best", help="Register the best run as a version of this model."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Train every feature subset x row filter, record each run, rank them. Nothing
    deployed is touched."""
    from modelyard.lifecycle.experiments import run as run_experiment

    with client() as c:
        spec, ranked, registered = run_experiment(c, file, register_best=register_best)
    if json:
        output.emit_json(
            {
                "experiment": spec.experiment,
                "rank_by": spec.rank_by,
                "runs": [o.to_dict() for o in ranked],
                "registered": registered,
            }
        )
        return
    output.table(
        f"{spec.experiment}: ranked by {spec.rank_by}",
        ["#", "run", "rows", spec.rank_by, "accuracy", "naive", "note"],
        [
            [
                i + 1,
                o.name,
                f"{o.rows:,}",
                f"{o.metrics.get(spec.rank_by, float('nan')):.4f}" if o.metrics else "-",
                f"{o.metrics['accuracy']:.4f}" if o.metrics else "-",
                f"{o.metrics['naive_accuracy']:.4f}" if o.metrics else "-",
                o.error or "",
            ]
            for i, o in enumerate(ranked)
        ],
    )
    if registered:
        output.console.print(f"registered the best run as {registered}", markup=False)


@experiment_app.command("runs")
def experiment_runs(
    experiment: Annotated[str, typer.Argument(help="Experiment name.")],
    rank_by: Annotated[str | None, typer.Option("--rank-by")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e")] = None,
    json: JsonOpt = False,
) -> None:
    """The recorded runs of an experiment, newest first or best first."""
    with client() as c:
        found = c.list_experiment_runs(experiment, environment=env, rank_by=rank_by)
    if json:
        output.emit_json(found)
        return
    output.table(
        experiment,
        ["id", "run", "rows", "data", "metrics"],
        [
            [
                r.id,
                r.name,
                f"{r.rows:,}",
                r.data_fingerprint[:15],
                ", ".join(
                    f"{k}={v:.3f}" for k, v in r.metrics.items() if k in ("accuracy", "f1_macro")
                ),
            ]
            for r in found
        ],
    )
