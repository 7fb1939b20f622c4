"""CLI start-up benchmark: the ``modelyard`` command against ``mlflow``'s, in the same run.

    make bench        # runs every benchmark
    .venv/bin/python benchmarks/cli.py [--runs 20] [--warmups 3] [--models 5] [--quick]

The goals: ``modelyard --help`` in at most 0.3 s and ``modelyard models list`` against a
local server in at most 0.5 s on this class of machine (2 cores).

Each command runs as a whole process, as a person types it: ``--warmups`` untimed runs
(which also write the bytecode caches an installed package has: the children run without
``PYTHONDONTWRITEBYTECODE``), then ``--runs`` timed ones, from ``Popen`` until ``os.wait4``
reports the exit (``time.perf_counter``). The timed runs go round by round over every
command, so a change of load on the shared machine falls on all of them. Peak resident
memory comes from ``RSS_RUNS`` more runs under ``/usr/bin/time -f %M`` (a child of this
process would report this process's size: its peak counts from before its ``exec``).
Commands:

1. ``modelyard --help`` and ``mlflow --help``.
2. The registered models of a local server seeded with ``--models`` models (one version
   each, 2 tags): ``modelyard models list`` against ``modelyard server``. MLflow has no such
   command (``mlflow models`` serves and builds models), so its row is the closest user
   path, ``python -c "...MlflowClient(url).search_registered_models()"``, against ``mlflow
   server`` on a ``sqlite:///`` store. The same one-liner through modelyard's SDK runs too,
   like for like with it.

Both servers run one worker on 127.0.0.1 and sit idle while the clients run. One more run
of each modelyard command under ``python -X importtime`` says where its start goes.

Results: the ``## CLI start-up`` section of ``docs/benchmarks.md`` (regenerated; other
sections are kept) and ``docs/benchmarks/cli.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.log import log
from harness.procfs import tree_pids
from harness.provenance import provenance_table
from harness.quiet import other_cpu, wait_quiet
from harness.references import MLFLOW
from harness.registration import make_package, register
from harness.report import closing, generated_by, yes
from harness.run import Run, parse, parser
from harness.servers import ADMIN_TOKEN, Server, modelyard_command, modelyard_env, modelyard_server
from harness.stats import pct
from server import mlflow_server

SECTION = "## CLI start-up"
HELP_GOAL_S = 0.3
LIST_GOAL_S = 0.5
PAYLOAD_BYTES = 1 << 10  # each seeded version's package: a score.py and 1 KiB
IMPORT_ROWS = 8  # packages shown per command in the import breakdown
RSS_RUNS = 3
TIME = "/usr/bin/time"  # GNU time (Debian's ``time`` package)

MLFLOW_LIST = (
    "import sys; from mlflow import MlflowClient; "
    "print(len(MlflowClient(sys.argv[1]).search_registered_models()))"
)
MODELYARD_LIST = (
    "import sys; from modelyard import Client; "
    "print(len(Client(url=sys.argv[1], token=sys.argv[2]).list_models()))"
)
MLFLOW_SEED = """
import sys
from mlflow import MlflowClient

client = MlflowClient(sys.argv[1])
experiment = client.create_experiment("seed")
for i in range(int(sys.argv[2])):
    name = f"model-{i}"
    run = client.create_run(experiment).info.run_id
    client.create_registered_model(name, tags={"team": "risk"})
    client.create_model_version(
        name, source=f"runs:/{run}/model", run_id=run, tags={"team": "risk", "seq": str(i)}
    )
"""


@dataclass
class Command:
    """One command line to time, and how to tell that it did its work."""

    key: str
    tool: str
    shown: str  # as the section prints it
    argv: list[str]
    python: str  # the interpreter it runs on (for the -X importtime run)
    env: dict[str, str]
    check: Callable[[str], bool]  # on its stdout


def child_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` as an installed tool runs with: bytecode caches written and read."""
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


# -- timing whole processes ---------------------------------------------------------------
def run_once(cmd: Command) -> tuple[float, int]:
    """Seconds from start to exit and the exit code of one run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd.argv,
        env=cmd.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, _ = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return seconds, proc.returncode


def peak_rss_mb(cmd: Command, work: Path) -> float:
    """The largest peak resident memory of ``RSS_RUNS`` runs, as GNU time reports it."""
    out = work / f"rss-{cmd.key}.txt"
    peaks = []
    for _ in range(RSS_RUNS):
        subprocess.run(
            [TIME, "-f", "%M", "-o", str(out), *cmd.argv],
            env=cmd.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        peaks.append(int(out.read_text().split()[-1]))
    return max(peaks) * 1024 / 1_000_000


def verify(cmd: Command) -> None:
    """Run ``cmd`` once, its output kept: it must succeed and do its work."""
    done = subprocess.run(cmd.argv, env=cmd.env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not cmd.check(done.stdout):
        raise SystemExit(
            f"{cmd.shown} failed (exit {done.returncode}):\n{done.stdout[-2000:]}"
            f"\n{done.stderr[-2000:]}"
        )


def time_commands(
    commands: list[Command], runs: int, warmups: int, own_pids: list[int], work: Path
) -> dict[str, Any]:
    """Warm each command up, then ``runs`` rounds over all of them; per command, the
    timing summary and peak memory, and the other work seen on the machine meanwhile."""
    for cmd in commands:
        verify(cmd)
        for _ in range(warmups):
            run_once(cmd)
    quiet = wait_quiet("cli start-up", own_pids)
    seconds: dict[str, list[float]] = defaultdict(list)
    with other_cpu(own_pids) as busy:
        for _ in range(runs):
            for cmd in commands:
                s, code = run_once(cmd)
                if code != 0:
                    raise SystemExit(f"{cmd.shown} exited {code} in a timed run")
                seconds[cmd.key].append(s)
    out: dict[str, Any] = {
        "waited_for_quiet_s": quiet["waited_s"],
        "other_cpu_cores": busy["other_cpu_cores"],
        "commands": {},
    }
    for cmd in commands:
        ms = [s * 1000 for s in seconds[cmd.key]]
        out["commands"][cmd.key] = {
            "tool": cmd.tool,
            "command": cmd.shown,
            "runs": len(ms),
            "warmups": warmups,
            "median_ms": statistics.median(ms),
            "min_ms": min(ms),
            "p10_ms": pct(ms, 10),
            "p90_ms": pct(ms, 90),
            "max_ms": max(ms),
            "peak_rss_mb": peak_rss_mb(cmd, work),
        }
        log(f"{cmd.shown}: median {statistics.median(ms):.0f} ms over {len(ms)} runs")
    return out


# -- where the start goes -----------------------------------------------------------------
def import_breakdown(cmd: Command) -> dict[str, Any]:
    """One run of ``cmd`` under ``python -X importtime``: its import time summed by
    top-level package (each module's own time, so nothing counts twice)."""
    script = cmd.argv[1:] if cmd.argv[0] == cmd.python else cmd.argv
    done = subprocess.run(
        [cmd.python, "-X", "importtime", *script],
        env=cmd.env,
        capture_output=True,
        text=True,
        check=False,
    )
    by_package: dict[str, int] = defaultdict(int)
    modules = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own_us, _, name = line[len("import time:") :].split("|")
        by_package[name.strip().split(".")[0]] += int(own_us)
        modules += 1
    top = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {
        "modules": modules,
        "total_ms": sum(by_package.values()) / 1000,
        "packages": [{"package": p, "ms": us / 1000} for p, us in top[:IMPORT_ROWS]],
    }


# -- the two installations ----------------------------------------------------------------
def seed_modelyard(server: Server, work: Path, models: int) -> None:
    from modelyard import Client

    with Client(work / "seed-client", url=server.url, token=ADMIN_TOKEN) as client:
        for i in range(models):
            register(client, f"model-{i}", make_package(work / f"pkg-{i}", PAYLOAD_BYTES), i)


def modelyard_commands(server: Server, work: Path, models: int) -> list[Command]:
    env = child_env(
        modelyard_env(
            work / "cli-home", {"MODELYARD_URL": server.url, "MODELYARD_TOKEN": ADMIN_TOKEN}
        )
    )
    python = sys.executable
    names = [f"model-{i}" for i in range(models)]
    return [
        Command(
            "modelyard_help",
            "modelyard",
            "modelyard --help",
            modelyard_command("--help"),
            python,
            env,
            lambda out: "models" in out and "Usage" in out,
        ),
        Command(
            "modelyard_list",
            "modelyard",
            "modelyard models list",
            modelyard_command("models", "list"),
            python,
            env,
            lambda out: all(name in out for name in names),
        ),
        Command(
            "modelyard_sdk_list",
            "modelyard",
            'python -c "…Client(url=URL, token=TOKEN).list_models()"',
            [python, "-c", MODELYARD_LIST, server.url, ADMIN_TOKEN],
            python,
            env,
            lambda out: out.strip() == str(models),
        ),
    ]


def mlflow_commands(url: str, models: int) -> list[Command]:
    env = child_env(MLFLOW.env())
    python = str(MLFLOW.python)
    return [
        Command(
            "mlflow_help",
            "MLflow",
            "mlflow --help",
            [MLFLOW.command("mlflow"), "--help"],
            python,
            env,
            lambda out: "Usage" in out,
        ),
        Command(
            "mlflow_list",
            "MLflow",
            'python -c "…MlflowClient(URL).search_registered_models()"',
            [python, "-c", MLFLOW_LIST, url],
            python,
            env,
            lambda out: out.strip() == str(models),
        ),
    ]


def bench(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Both servers up and seeded, then every command timed in the same rounds."""
    with modelyard_server(work / "modelyard", 1) as my_server:
        seed_modelyard(my_server, work / "modelyard", args.models)
        commands = modelyard_commands(my_server, work / "modelyard", args.models)
        own = tree_pids(my_server.pid)
        if args.skip_mlflow:
            return measure(commands, own, work, args)
        with mlflow_server(work / "mlflow", 1) as ml_server:
            subprocess.run(
                [str(MLFLOW.python), "-c", MLFLOW_SEED, ml_server.url, str(args.models)],
                env=MLFLOW.env(),
                check=True,
            )
            commands += mlflow_commands(ml_server.url, args.models)
            return measure(commands, own + tree_pids(ml_server.pid), work, args)


def measure(
    commands: list[Command], own: list[int], work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    result = time_commands(commands, args.runs, args.warmups, own, work)
    result["imports"] = {
        cmd.key: import_breakdown(cmd) for cmd in commands if cmd.key.startswith("modelyard")
    }
    return result


# -- goals and report ---------------------------------------------------------------------
def evaluate_goals(result: dict[str, Any]) -> dict[str, Any]:
    """Judged on the median run, the typical start a person sees."""
    runs = result["cli"]["commands"]
    goals = {}
    for key, limit, what in (
        ("modelyard_help", HELP_GOAL_S, "`modelyard --help`"),
        ("modelyard_list", LIST_GOAL_S, "`modelyard models list` against a local server"),
    ):
        median_s = runs[key]["median_ms"] / 1000
        goals[key] = {
            "goal": f"{what} in at most {limit:g} s",
            "median_s": median_s,
            "met": median_s <= limit,
        }
    return goals


def render_section(result: dict[str, Any]) -> str:
    cli = result["cli"]
    runs = cli["commands"]
    ml = result.get("mlflow")
    any_run = next(iter(runs.values()))
    lines = [
        SECTION,
        "",
        generated_by("cli")
        + "Every command runs as a whole process, as a person types it, against servers on "
        "this machine's loopback: timed from its start until its exit, "
        f"{any_run['warmups']} untimed warm-up runs first (bytecode caches written, as an "
        f"installed package has them), then {any_run['runs']} timed runs, round by round "
        "over all the commands so a change of load falls on each alike. Peak memory: the "
        f"largest maximum resident set of {RSS_RUNS} more runs under `/usr/bin/time -f %M`.",
        "",
        *provenance_table(
            result,
            ml,
            MLFLOW.pin,
            [
                (
                    "other work during the timed runs",
                    f"{cli['other_cpu_cores']:.2f} cores on average "
                    f"(waited {cli['waited_for_quiet_s']:.0f} s for quiet first)",
                )
            ],
        ),
        "",
        "### Goals",
        "",
        "Judged on the median run.",
        "",
        "| goal | median | met |",
        "|---|---:|---|",
        *(
            f"| {g['goal']} | {g['median_s']:.2f} s | {yes(g['met'])} |"
            for g in result["goals"].values()
        ),
        "",
        "### Start-up, whole process",
        "",
        f"Servers seeded with {result['parameters']['models']} registered models, one "
        "version and 2 tags each: `modelyard server` (SQLite, local artifact folder) and "
        "`mlflow server` (`sqlite:///` store), one worker each. `mlflow` has no command that "
        "lists registered models (`mlflow models` serves and builds models), so MLflow's "
        f"row is the one-liner a user would run, `python -c '{MLFLOW_LIST}' URL`; "
        f"modelyard's SDK runs the same, `python -c '{MODELYARD_LIST}' URL TOKEN`.",
        "",
        "| tool | command | median (ms) | min | p10 | p90 | max | peak RSS (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *(_row(r) for r in runs.values()),
        "",
        "### Where modelyard's start goes",
        "",
        "One run of each command under `python -X importtime`: the import time of each "
        "top-level package (its modules' own time), largest first. `-X importtime` slows "
        "what it measures, so these add up to more than the medians above.",
        "",
        "| command | modules | imports (ms) | largest |",
        "|---|---:|---:|---|",
        *(_import_row(runs[key]["command"], imp) for key, imp in cli["imports"].items()),
    ]
    return "\n".join(lines + closing("cli"))


def _row(r: dict[str, Any]) -> str:
    return (
        f"| {r['tool']} | `{r['command']}` | {r['median_ms']:.0f} | {r['min_ms']:.0f} | "
        f"{r['p10_ms']:.0f} | {r['p90_ms']:.0f} | {r['max_ms']:.0f} | {r['peak_rss_mb']:.0f} |"
    )


def _import_row(command: str, imp: dict[str, Any]) -> str:
    largest = ", ".join(f"{p['package']} {p['ms']:.0f}" for p in imp["packages"])
    return f"| `{command}` | {imp['modules']} | {imp['total_ms']:.0f} | {largest} |"


# -- main --------------------------------------------------------------------------------
QUICK = {"runs": 3, "warmups": 1, "models": 2}


def parse_args() -> argparse.Namespace:
    p = parser("modelyard vs MLflow CLI start-up benchmark", reference=MLFLOW)
    p.add_argument("--runs", type=int, default=20, help="timed runs per command (default 20)")
    p.add_argument("--warmups", type=int, default=3, help="untimed runs first (default 3)")
    p.add_argument("--models", type=int, default=5, help="models each server holds (default 5)")
    args = parse(p, QUICK)
    if args.runs < 1 or args.warmups < 0 or args.models < 1:
        p.error("--runs and --models must be at least 1, --warmups at least 0")
    return args


def main() -> int:
    args = parse_args()
    with Run("cli", SECTION, args, references=[MLFLOW]) as run:
        result = run.result
        result["parameters"] = {
            "runs": args.runs,
            "warmups": args.warmups,
            "models": args.models,
            "help_goal_s": HELP_GOAL_S,
            "list_goal_s": LIST_GOAL_S,
        }
        result["cli"] = bench(run.tmp, args)
        if not args.skip_mlflow:
            result["mlflow"] = {
                "mlflow_version": run.versions["mlflow"],
                "python_version": MLFLOW.version_of("platform.python_version()", "platform"),
            }
        result["goals"] = evaluate_goals(result)
    run.publish(render_section(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
