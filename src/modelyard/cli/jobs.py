"""``modelyard jobs ...``: batch jobs the server runs on a schedule."""

from typing import Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client
from modelyard.domain.jobs import BatchJob, JobRun

app = typer.Typer(
    help="Batch jobs: a deployment scores a file on a schedule, collected and monitored.",
    no_args_is_help=True,
)

JobName = Annotated[str, typer.Argument(help="Job name.")]


@app.command("create")
def create(
    name: JobName,
    deployment: Annotated[
        str, typer.Option("--deployment", "-d", help="Deployment to score with.")
    ],
    input: Annotated[
        str, typer.Option("--input", help="CSV, Parquet or JSON file the server reads (or s3://).")
    ],
    output_: Annotated[
        str,
        typer.Option(
            "--output", help="File the server writes each run to; {run} and {date} are filled in."
        ),
    ],
    every: Annotated[
        str | None,
        typer.Option("--every", help="Run this often (30m, 1d); default: only when asked."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="First run (ISO time); default: now.")
    ] = None,
    table: Annotated[
        str | None,
        typer.Option("--table", help="Also append each run's rows to DATABASE:TABLE."),
    ] = None,
    max_error_rate: Annotated[
        float, typer.Option("--max-error-rate", help="Share of rows that may fail the checks.")
    ] = 0.0,
    explain: Annotated[
        int, typer.Option("--explain", help="Each row's top N factors in the output.")
    ] = 0,
    json: JsonOpt = False,
) -> None:
    """Create a batch job; with --every the server runs it once per due time."""
    with client() as c:
        job = c.create_job(
            name,
            deployment,
            input,
            output_,
            every=every,
            start=start,
            table=table,
            max_error_rate=max_error_rate,
            explain=explain,
        )
    if json:
        output.emit_json(job)
        return
    when = f"next run {output.when(job.next_run_at)}" if job.next_run_at else "runs when asked"
    output.console.print(f"job {job.name} on {job.deployment}: {when}", highlight=False)


@app.command("run")
def run(name: JobName, json: JsonOpt = False) -> None:
    """Run a job now and wait for it. Exit code 1 when the run fails."""
    with client() as c:
        done = c.run_job(name)
    if json:
        output.emit_json(done)
    elif done.state == "succeeded":
        output.console.print(_summary(done), highlight=False)
    if done.state != "succeeded":
        if not json:
            output.error(f"run {done.number} of job {name} failed: {done.error}")
        raise typer.Exit(1)


@app.command("list")
def list_(
    deployment: Annotated[
        str | None, typer.Option("--deployment", "-d", help="Only this deployment's jobs.")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """List jobs with their schedule and last run."""
    with client() as c:
        jobs = c.list_jobs(deployment=deployment)
    if json:
        output.emit_json(jobs)
        return
    output.table(
        None,
        ["name", "deployment", "every", "next run", "last run"],
        [
            [
                j.name,
                j.deployment,
                _every(j),
                output.when(j.next_run_at) if j.next_run_at else "-",
                _last(j),
            ]
            for j in jobs
        ],
    )


@app.command("show")
def show(
    name: JobName,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many runs.")] = 10,
    json: JsonOpt = False,
) -> None:
    """A job and its latest runs."""
    with client() as c:
        job = c.get_job(name)
        runs = c.list_job_runs(name, limit=limit)
    if json:
        output.emit_json({"job": job, "runs": runs})
        return
    output.console.print(
        f"job {job.name} on {job.deployment} ({job.environment}), every {_every(job)}\n"
        f"  input  {job.input}\n  output {job.output}"
        + (f"\n  table  {job.table}" if job.table else ""),
        highlight=False,
    )
    output.table(
        None,
        ["run", "trigger", "state", "started", "rows", "scored", "rejected", "dataset", "error"],
        [
            [
                r.number,
                r.trigger,
                r.state,
                output.when(r.started_at),
                r.rows,
                r.scored,
                r.rejected,
                r.dataset or "-",
                r.error or "",
            ]
            for r in runs
        ],
    )


@app.command("delete")
def delete(name: JobName, json: JsonOpt = False) -> None:
    """Delete a job, its runs and its alert rule (outputs and datasets stay)."""
    with client() as c:
        job = c.delete_job(name)
    if json:
        output.emit_json(job)
        return
    output.console.print(f"deleted job {job.name}", highlight=False)


def _every(job: BatchJob) -> str:
    from modelyard.domain.monitoring import span

    return span(job.every_seconds) if job.every_seconds else "when asked"


def _last(job: BatchJob) -> str:
    run = job.last_run
    return "-" if run is None else f"{run.number} {run.state} {output.when(run.started_at)}"


def _summary(run: JobRun) -> str:
    return (
        f"run {run.number} of job {run.job}: {run.scored} of {run.rows} rows scored"
        + (f", {run.rejected} rejected" if run.rejected else "")
        + f" → {run.output}, dataset {run.dataset}"
        + (f", {run.table_rows} rows appended to the table" if run.table_rows is not None else "")
    )
