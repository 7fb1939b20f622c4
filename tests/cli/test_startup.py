"""The CLI starts at once: what ``--help`` and a remote ``models list`` import.

Each check runs the CLI in a fresh interpreter and reads its ``sys.modules`` at exit; the
timings themselves are ``benchmarks/cli.py``'s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer.main

from modelyard import Client, Settings
from modelyard.cli.root import app
from tests.support.live import live_server

#: What no start of the CLI may load: the data stack the embedded commands use.
DATA_STACK = {"pandas", "scipy", "sklearn", "duckdb", "pyarrow", "numpy"}
#: What a command against a server has no use for: the server's side and local storage.
SERVER_SIDE = {"sqlalchemy", "alembic", "uvicorn", "fastapi", "starlette", "fsspec"}


def loaded_by(code: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The top-level packages a fresh interpreter has loaded after ``code``, and its stdout.
    ``code`` runs in a ``try`` whose ``finally`` lists ``sys.modules`` on stderr."""
    wrapper = f"import sys\ntry:\n    {code}\nfinally:\n    print(*sys.modules, file=sys.stderr)"
    done = subprocess.run(
        [sys.executable, "-c", wrapper],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {name.split(".")[0] for name in done.stderr.split()}, done.stdout


def test_the_entry_point_and_the_command_tree_load_no_data_stack() -> None:
    loaded, _ = loaded_by("import modelyard.cli.app, modelyard.cli.root")
    assert loaded & (DATA_STACK | SERVER_SIDE) == set()


def test_help_loads_neither_the_sdk_nor_the_server() -> None:
    loaded, out = loaded_by("from modelyard.cli.app import main; main(['--help'])")
    assert "models" in out
    assert loaded & (DATA_STACK | SERVER_SIDE | {"httpx", "pydantic_settings"}) == set()


def test_a_remote_models_list_loads_only_the_http_client(
    tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    settings = Settings(home=tmp_path / "home", actor="alice")
    with Client(settings=settings) as c:
        c.register("payments", make_package())
        c.create_user("alice", is_admin=True)
        secret = c.create_token("cli", user="alice").secret
    with live_server(settings) as url:
        env = {"MODELYARD_URL": url, "MODELYARD_TOKEN": secret}
        loaded, out = loaded_by(
            "from modelyard.cli.app import main; main(['models', 'list', '--json'])", env
        )
    assert [m["name"] for m in json.loads(out)] == ["payments"]
    assert {"httpx", "pydantic"} <= loaded  # it did go over HTTP
    assert loaded & (DATA_STACK | SERVER_SIDE) == set()


def test_no_command_has_string_annotations() -> None:
    """Typer evaluates string annotations (``from __future__ import annotations``) of every
    command on every start; real ones cost nothing (see ``cli/root.py``)."""
    stringly: list[str] = []

    def visit(command: object, path: str) -> None:
        callback = getattr(command, "callback", None)
        hints = getattr(callback, "__annotations__", {})
        if any(isinstance(hint, str) for hint in hints.values()):
            stringly.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            visit(sub, f"{path} {name}")

    visit(typer.main.get_command(app), "modelyard")
    assert stringly == []


def test_no_option_shows_a_python_type_as_its_value() -> None:
    """A repeatable option reads ``--tag KEY=VALUE``, never ``--tag <list[str]>``."""
    leaked: list[str] = []

    def visit(command: Any, path: str) -> None:
        ctx = typer.Context(command, info_name=path)
        for param in getattr(command, "params", []):
            record = param.get_help_record(ctx) if param.param_type_name == "option" else None
            if record and "[" in record[0] and "<" in record[0]:
                leaked.append(f"{path}: {record[0]}")
        for name, sub in getattr(command, "commands", {}).items():
            visit(sub, f"{path} {name}")

    visit(typer.main.get_command(app), "modelyard")
    assert leaked == []
