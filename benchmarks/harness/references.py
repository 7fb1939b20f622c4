"""The reference tools, each in its own virtual environment under ``.bench/`` so their
dependencies never touch the project's venv: MLflow (``mlflow==3.17.*``) and Evidently
(``evidently==0.7.*``). Each venv uses the same interpreter as the project's, is created on
first use, and its tool runs with its telemetry off."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.log import log
from harness.provenance import REPO

BENCH_DIR = REPO / ".bench"


def clean_env(drop_prefixes: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment without its venv, its Python path and ``drop_prefixes``
    variables: what a child process of another venv or tool starts from."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith(drop_prefixes)
    }


@dataclass(frozen=True)
class Reference:
    label: str  # as the sections name it
    package: str
    series: str  # the version prefix the venv must hold
    pins: tuple[str, ...]  # what pip installs; the first is the tool's own pin
    quiet_env: tuple[tuple[str, str], ...]  # telemetry off
    drop_prefixes: tuple[str, ...] = ()  # the caller's settings for the tool, not passed on

    @property
    def pin(self) -> str:
        return self.pins[0]

    @property
    def venv(self) -> Path:
        return BENCH_DIR / f"{self.package}-venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def command(self, name: str) -> str:
        """A console script of the venv (``mlflow``)."""
        return str(self.venv / "bin" / name)

    def env(self) -> dict[str, str]:
        env = clean_env(self.drop_prefixes)
        env.update(dict(self.quiet_env))
        return env

    def ensure(self) -> str:
        """Create the venv with ``pins`` unless it already holds ``package`` ``series``*;
        returns the installed version."""
        stamp = self.venv / ".installed"
        if stamp.is_file() and stamp.read_text().startswith(self.series):
            return stamp.read_text().strip()
        pins = " ".join(self.pins)
        log(f"creating {self.venv.relative_to(REPO)} and installing {pins} (first run only)")
        if self.venv.exists():
            shutil.rmtree(self.venv)
        self.venv.parent.mkdir(parents=True, exist_ok=True)
        base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(self.venv)], check=True)
        self.install(*self.pins)
        metadata = "importlib.metadata"
        version = self.version_of(f"{metadata}.version({self.package!r})", metadata)
        if not version.startswith(self.series):
            raise SystemExit(f"expected {self.package} {self.series}*, the venv has {version}")
        stamp.write_text(version + "\n")
        return version

    def install(self, *pins: str) -> None:
        pip = [str(self.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *pins], check=True, env=self.env())

    def version_of(self, expression: str, module: str) -> str:
        """``expression`` printed by the venv's Python after ``import module``."""
        return subprocess.run(
            [str(self.python), "-c", f"import {module}; print({expression})"],
            capture_output=True,
            text=True,
            check=True,
            env=self.env(),
        ).stdout.strip()

    def match(self, distribution: str, module: str, version: str) -> str:
        """Install ``distribution==version`` in the venv unless ``module`` already has that
        version there (a pickled model must be loaded by the version that wrote it)."""
        theirs = self.version_of(f"{module}.__version__", module)
        if theirs != version:
            log(f"{self.label} venv has {distribution} {theirs}; installing {version} there")
            self.install(f"{distribution}=={version}")
            theirs = self.version_of(f"{module}.__version__", module)
        if theirs != version:
            raise SystemExit(f"{distribution} {theirs} in the {self.label} venv, {version} here")
        return theirs


MLFLOW = Reference(
    label="MLflow",
    package="mlflow",
    series="3.17.",
    pins=("mlflow==3.17.*",),
    quiet_env=(("MLFLOW_DISABLE_TELEMETRY", "true"), ("DO_NOT_TRACK", "true")),
    drop_prefixes=("MLFLOW_",),
)
EVIDENTLY = Reference(
    label="Evidently",
    package="evidently",
    series="0.7.",
    # Evidently 0.7 imports a pandas internal that pandas 3 removed
    pins=("evidently==0.7.*", "pandas<3", "pyarrow"),
    quiet_env=(("DO_NOT_TRACK", "true"), ("EVIDENTLY_DISABLE_TELEMETRY", "1")),
)
