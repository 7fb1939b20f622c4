"""``modelyard server`` takes over SIGINT and SIGTERM before it imports anything heavy."""

from __future__ import annotations

import signal
import subprocess
import sys

import typer.main

from modelyard.cli import stopping
from modelyard.cli.root import app
from tests.support.processes import IGNORING_SIGINT


def python(code: str, *, ignoring_sigint: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", f"import os, signal, time\n{code}"]
    return subprocess.run(
        [*(IGNORING_SIGINT if ignoring_sigint else ()), *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_entry_point_imports_nothing_heavy() -> None:
    loaded = python("import sys, modelyard.cli.app\nprint(*sys.modules)").stdout.split()
    heavy = {
        "typer",
        "click",
        "modelyard.sdk.client",
        "modelyard.cli.root",
        "sqlalchemy",
        "uvicorn",
    }
    assert heavy & set(loaded) == set()


def test_a_stop_signal_ends_the_start_at_once_even_when_sigint_was_ignored() -> None:
    ended = python(
        "from modelyard.cli import stopping\n"
        "stopping.stop_at_once()\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "time.sleep(30)\n"
        "print('ran on')",
        ignoring_sigint=True,
    )
    assert (ended.returncode, ended.stdout, ended.stderr) == (-signal.SIGINT, "", "")


def test_a_step_that_must_not_be_cut_runs_to_its_end_before_the_stop() -> None:
    ended = python(
        "from modelyard.cli import stopping\n"
        "stopping.stop_at_once()\n"
        "with stopping.deferred():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('token shown', flush=True)\n"
        "print('ran on')"
    )
    assert (ended.returncode, ended.stdout) == (-signal.SIGTERM, "token shown\n")


def test_the_command_is_found_before_typer_reads_the_line() -> None:
    assert stopping.command(["--home", "server", "models", "list"]) == "models"
    assert stopping.command(["--home=/srv/my", "server", "--port", "9"]) == "server"
    assert stopping.command(["--help"]) is None


def test_every_root_option_that_takes_a_value_is_known_to_it() -> None:
    root = typer.main.get_command(app)
    taking = {
        name
        for param in root.params
        if param.param_type_name == "option" and not getattr(param, "is_flag", False)
        for name in param.opts
    }
    assert taking == set(stopping.ROOT_OPTIONS_WITH_VALUE)
