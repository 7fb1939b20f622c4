"""The layers hold as ARCHITECTURE.md draws them: checked on the source, so a stray import
or a module that grows too big fails the suite, not a review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "modelyard"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["services", "api", "serving", "sdk", "cli", "lifecycle"])
def test_no_sql_and_no_rows_outside_the_store(package: str) -> None:
    """(The container, which builds everything, alone opens the database.)"""
    offenders = {
        str(path.relative_to(SRC)): sorted(
            name
            for name in imports(path)
            if name.split(".")[0] == "sqlalchemy"
            or name.startswith("modelyard.store.tables")
            or (name == "modelyard.store.database" and path.name != "container.py")
        )
        for path in modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize(
    ("package", "allowed"), [("domain", ("domain",)), ("wire", ("domain", "wire"))]
)
def test_domain_and_wire_import_nothing_above_them(package: str, allowed: tuple[str, ...]) -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(
            name
            for name in imports(path)
            if name.startswith("modelyard.") and name.split(".")[1] not in allowed
        )
        for path in modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_lower_layers_never_import_the_upper_ones() -> None:
    upper = ("modelyard.services", "modelyard.api", "modelyard.sdk", "modelyard.cli")
    offenders = {
        str(path.relative_to(SRC)): sorted(n for n in imports(path) if n.startswith(upper))
        for package in ("store", "artifacts", "flavors", "monitoring")
        for path in modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_model_runtimes_stand_on_domain_and_flavors_alone() -> None:
    """A model worker imports ``runtimes`` and what it names: nothing that holds a
    connection, a secret or a rule (store, services, serving, api, sdk, cli, settings)."""
    allowed = ("domain", "flavors", "runtimes")
    offenders = {
        str(path.relative_to(SRC)): sorted(
            name
            for name in imports(path)
            if name.startswith("modelyard.") and name.split(".")[1] not in allowed
        )
        for path in modules("runtimes")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_modules_are_small() -> None:
    big = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert big == {}


def test_benchmark_scripts_are_small() -> None:
    big = {
        str(p.relative_to(BENCHMARKS)): n
        for p in BENCHMARKS.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 600
    }
    assert big == {}
