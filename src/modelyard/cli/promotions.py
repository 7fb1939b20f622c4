"""``modelyard evaluate``, ``compare``, ``gates``, ``promote``, ``requests``, ``approve``,
``reject``."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelyard.cli import output
from modelyard.cli.common import EnvOpt, JsonOpt, client

if TYPE_CHECKING:
    from modelyard.domain.promotions import Gates, PromotionRequest


gates_app = typer.Typer(help="What a promotion into an environment must pass.")


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def evaluate(
    ref: Annotated[str, typer.Argument(help="NAME:VER or NAME@ALIAS to evaluate.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="NAME[:VER] (default latest)")],
    label: Annotated[str | None, typer.Option("--label", help="The label column.")] = None,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Score a version on a dataset version and store the metrics with both."""
    with client() as c:
        e = c.evaluate(ref, dataset, label=label, environment=env)
    if json:
        output.emit_json(e)
        return
    output.console.print(
        f"evaluation {e.id}: {e.version} on {e.dataset} ({e.rows:,} rows, label {e.label!r})"
    )
    output.table(None, ["metric", "value"], [[k, _num(v)] for k, v in e.metrics.items()])


def compare(
    refs: Annotated[list[str], typer.Argument(help="Two or more versions.")],
    dataset: Annotated[str | None, typer.Option("--dataset", "-d")] = None,
    json: JsonOpt = False,
) -> None:
    """The versions' newest evaluations on one dataset, side by side."""
    with client() as c:
        found = c.compare_versions(refs, dataset=dataset)
    if json:
        output.emit_json(found)
        return
    versions = found["versions"]
    output.table(
        f"evaluated on {found['dataset']}",
        ["metric", *versions],
        [[m, *(_num(by.get(v)) for v in versions)] for m, by in found["metrics"].items()],
    )


def _show_gates(env: str, g: "Gates") -> None:
    output.kv(
        f"gates of {env}",
        [
            ("evaluation on", g.evaluation or "not required"),
            ("thresholds", ", ".join(str(t) for t in g.thresholds) or "none"),
            ("beat the champion on", g.beat_champion or "not required"),
            ("approvals", str(g.approvals)),
            ("self-approval", "allowed" if g.self_approval else "refused"),
        ],
    )


@gates_app.command("show")
def show_gates(
    env: Annotated[str, typer.Argument(help="Environment, e.g. production.")],
    json: JsonOpt = False,
) -> None:
    """Show an environment's gates."""
    with client() as c:
        g = c.get_gates(env)
    if json:
        output.emit_json(g)
    else:
        _show_gates(env, g)


@gates_app.command("set")
def set_gates(
    env: Annotated[str, typer.Argument(help="Environment, e.g. production.")],
    evaluation: Annotated[
        str | None,
        typer.Option("--require-evaluation", help="Dataset NAME a version must be evaluated on."),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", "-t", metavar="'METRIC >= VALUE'", help="Repeatable."),
    ] = None,
    beat_champion: Annotated[
        str | None, typer.Option("--beat-champion", help="METRIC the champion must lose on.")
    ] = None,
    approvals: Annotated[
        int, typer.Option("--approvals", help="Approvals needed (0: none, on purpose).")
    ] = 1,
    allow_self_approval: Annotated[
        bool, typer.Option("--allow-self-approval", help="Let requesters approve their own.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Replace an environment's gates (an admin of it)."""
    with client() as c:
        g = c.set_gates(
            env,
            evaluation=evaluation,
            thresholds=threshold or (),
            beat_champion=beat_champion,
            approvals=approvals,
            self_approval=allow_self_approval,
        )
    if json:
        output.emit_json(g)
    else:
        _show_gates(env, g)


def _show_request(r: "PromotionRequest") -> None:
    output.console.print(
        f"promotion {r.id}: {r.source} -> {r.target_environment}: [bold]{r.state}[/]"
        + (f" as {r.result}" if r.result else "")
    )
    output.table(
        None,
        ["gate", "passed", "detail"],
        [[g.gate, "yes" if g.passed else "NO", g.detail] for g in r.gates],
    )


def promote(
    ref: Annotated[str, typer.Argument(help="env/NAME:VER to promote.")],
    to: Annotated[str, typer.Option("--to", help="Target environment.")],
    note: Annotated[str, typer.Option("--note", help="Why.")] = "",
    json: JsonOpt = False,
) -> None:
    """Request a promotion; every gate is checked and recorded. Exit code 1 when a gate
    blocks it."""
    with client() as c:
        r = c.promote(ref, to=to, note=note)
    if json:
        output.emit_json(r)
    else:
        _show_request(r)
    if r.state == "blocked":
        raise typer.Exit(1)


def requests(
    state: Annotated[
        str | None, typer.Option("--state", help="pending, blocked, rejected or promoted")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Promotion requests, newest first."""
    with client() as c:
        found = c.list_promotion_requests(state=state)
    if json:
        output.emit_json(found)
        return
    output.table(
        "promotion requests",
        ["id", "source", "to", "state", "approvals", "by", "result"],
        [
            [
                r.id,
                r.source,
                r.target_environment,
                r.state,
                f"{len(r.approvals)}/{r.required_approvals}",
                r.requested_by,
                r.result or "",
            ]
            for r in found
        ],
    )


def approve(
    request_id: Annotated[int, typer.Argument(help="Request id.")],
    comment: Annotated[str, typer.Option("--comment", "-c")] = "",
    json: JsonOpt = False,
) -> None:
    """Approve a promotion request; the last approval needed re-checks the gates and
    promotes the version. Exit code 1 when that re-check blocks it, as ``promote``."""
    with client() as c:
        r = c.approve(request_id, comment=comment)
    if json:
        output.emit_json(r)
    else:
        _show_request(r)
    if r.state == "blocked":
        raise typer.Exit(1)


def reject(
    request_id: Annotated[int, typer.Argument(help="Request id.")],
    comment: Annotated[str, typer.Option("--comment", "-c")] = "",
    json: JsonOpt = False,
) -> None:
    """Reject a promotion request."""
    with client() as c:
        r = c.reject(request_id, comment=comment)
    if json:
        output.emit_json(r)
    else:
        _show_request(r)
