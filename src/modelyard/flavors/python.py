"""The python flavor: a folder with ``score.py`` defining ``init()`` and ``run(data)``.

This is the Azure ML scoring-script contract. ``load`` imports ``score.py`` under a unique
module name with the package folder on ``sys.path`` and ``MODELYARD_MODEL_DIR`` (and
``AZUREML_MODEL_DIR``) naming it, calls ``init()`` once, and restores both afterwards:
``init()`` is where a script resolves its files. ``predict(frame)`` calls ``run(frame)``,
which returns the predictions, or a dict with ``predictions`` and optionally
``probabilities`` and ``classes``.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import json
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.domain.errors import InvalidInput, InvalidPackage, describe
from modelyard.flavors.base import LoadedModel, Saved
from modelyard.flavors.package import MANIFEST

ENTRYPOINT = "score.py"
DIR_VARIABLES = ("MODELYARD_MODEL_DIR", "AZUREML_MODEL_DIR")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".git", ".ipynb_checkpoints", MANIFEST)
# sys.path and the environment are process-wide: one script is imported at a time.
_IMPORTING = threading.Lock()


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_bytes(), filename=path.name)
    except SyntaxError as e:
        raise InvalidPackage(
            f"{path.name} has a syntax error at line {e.lineno}: {e.msg}"
        ) from None
    except (OSError, ValueError) as e:
        raise InvalidPackage(f"{path.name} cannot be read: {describe(e)}") from None


def _check_script(path: Path) -> None:
    defined = {
        node.name
        for node in _parse(path).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    if missing := [name for name in ("init", "run") if name not in defined]:
        raise InvalidPackage(f"{path.name} must define init() and run(data): no {missing[0]}()")


def _imported_modules(folder: Path) -> tuple[str, ...]:
    """Top-level modules the scripts of a folder import (for the pinned requirements)."""
    return _modules_of(folder.rglob("*.py"))


def _modules_of(scripts: Iterable[Path]) -> tuple[str, ...]:
    names: set[str] = set()
    for path in scripts:
        try:
            tree = _parse(path)
        except InvalidPackage:  # a helper that does not parse fails on import, if ever used
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return tuple(sorted(names))


def save_folder(src: Path, folder: Path) -> Saved:
    """Copy a user folder holding ``score.py`` (and the files it reads) into a package."""
    _check_folder(src)
    shutil.copytree(src, folder, ignore=IGNORED, dirs_exist_ok=True)
    return Saved(entrypoint=ENTRYPOINT, imports=_imported_modules(folder))


def folder_in_place(src: Path) -> tuple[Saved, list[str]] | None:
    """A user folder holding ``score.py`` packaged where it is: what it saves and its files
    (sorted POSIX paths, the ``IGNORED`` names left out), nothing copied. None when the
    folder holds a symbolic link: a package holds the target's bytes, so it is copied."""
    _check_folder(src)
    names: list[str] = []
    for root, dirs, files in os.walk(src):
        ignored = IGNORED(root, [*dirs, *files])
        dirs[:] = sorted(d for d in dirs if d not in ignored)
        for name in [*dirs, *(f for f in files if f not in ignored)]:
            path = os.path.join(root, name)
            if os.path.islink(path):
                return None
            if name in files and os.path.isfile(path):
                names.append(Path(path).relative_to(src).as_posix())
    names.sort()
    scripts = [src / name for name in names if name.endswith(".py")]
    return Saved(entrypoint=ENTRYPOINT, imports=_modules_of(scripts)), names


def _check_folder(src: Path) -> None:
    if not src.is_dir():
        raise InvalidInput(f"{src} is not a folder")
    script = src / ENTRYPOINT
    if not script.is_file():
        raise InvalidPackage(f"{src.name}: a python model folder must hold {ENTRYPOINT}")
    _check_script(script)


@contextlib.contextmanager
def _model_context(folder: Path) -> Iterator[None]:
    with _IMPORTING:
        saved_env = {name: os.environ.get(name) for name in DIR_VARIABLES}
        os.environ.update(dict.fromkeys(DIR_VARIABLES, str(folder)))
        sys.path.insert(0, str(folder))
        # no __pycache__ written into the folder: a user's, when a score.py folder is
        # staged where it is, or a verified package cache
        bytecode = sys.dont_write_bytecode
        sys.dont_write_bytecode = True
        try:
            yield
        finally:
            sys.dont_write_bytecode = bytecode
            with contextlib.suppress(ValueError):
                sys.path.remove(str(folder))
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


class ScriptModel:
    """A loaded scoring script; ``raw`` is the imported module."""

    def __init__(self, raw: Any, run: Callable[[Any], Any], classes: list[Any] | None) -> None:
        self.raw = raw
        self._run = run
        self._classes = classes

    @property
    def classes(self) -> list[Any] | None:
        return self._classes

    def _result(self, data: Any) -> tuple[Any, Any | None]:
        result = self._run(data)
        if isinstance(result, str | bytes):
            try:
                result = json.loads(result)
            except ValueError:
                raise InvalidPackage("score.py run() returned text that is not JSON") from None
        if not isinstance(result, dict):
            return np.asarray(result), None
        if "predictions" not in result:
            raise InvalidPackage("score.py run() returned a dict without 'predictions'")
        proba = result.get("probabilities")
        if proba is not None and result.get("classes") is not None:
            self._classes = list(result["classes"])
            return np.asarray(result["predictions"]), np.asarray(proba)
        return np.asarray(result["predictions"]), None

    def predict(self, data: Any) -> Any:
        return self._result(data)[0]

    def predict_proba(self, data: Any) -> Any | None:
        return self._result(data)[1]


class PythonFlavor:
    name: str = "python"
    file_suffixes: tuple[str, ...] = (".py",)

    def accepts_object(self, obj: Any) -> bool:
        return False

    def accepts_file(self, path: Path) -> bool:
        if path.suffix.lower() != ".py":
            return False
        _check_script(path)
        return True

    def save(self, obj: Any, folder: Path) -> Saved:
        raise InvalidInput(
            "the python flavor saves a score.py file or a folder holding one, not an object"
        )

    def save_file(self, path: Path, folder: Path) -> Saved:
        _check_script(path)
        shutil.copyfile(path, folder / ENTRYPOINT)
        return Saved(entrypoint=ENTRYPOINT, imports=_imported_modules(folder))

    def load(self, folder: Path, entrypoint: str, options: dict[str, Any]) -> LoadedModel:
        path = folder / entrypoint
        module_name = f"modelyard_score_{uuid.uuid4().hex}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise InvalidPackage(f"{entrypoint} cannot be imported: not a Python source file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # pickle and dataclasses look modules up here
        with _model_context(folder.resolve()):
            try:
                spec.loader.exec_module(module)
            except (Exception, SystemExit) as e:
                sys.modules.pop(module_name, None)
                raise InvalidPackage(f"{entrypoint} cannot be imported: {describe(e)}") from None
            init, run = getattr(module, "init", None), getattr(module, "run", None)
            if not callable(init) or not callable(run):
                sys.modules.pop(module_name, None)
                raise InvalidPackage(f"{entrypoint} must define init() and run(data)")
            try:
                init()
            except (Exception, SystemExit) as e:
                sys.modules.pop(module_name, None)
                raise InvalidPackage(f"{entrypoint} init() failed: {describe(e)}") from None
        classes = options.get("classes")
        return ScriptModel(module, run, list(classes) if classes is not None else None)
