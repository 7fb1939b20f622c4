"""Model environments: a version's pinned requirements, compared with the server's own
environment, and built with uv where they differ.

- ``plan`` reads the pins a manifest records (``scikit-learn==1.5.2``) and says what
  differs from the distributions installed here. A pin *matters* when the model's answers
  can depend on it, which is every pin a package records (its flavor's libraries and what
  its code imports). The array libraries whose pickles and arrays are stable within a
  release series (numpy, scipy, pandas, pyarrow, joblib) match on ``major.minor``; every
  other pin matches exactly. A model whose pins all match runs in the server's
  environment; any other runs in one built for it.
- ``Environments`` builds one virtual environment per digest of the requirements, under
  the cache, with ``uv`` (``uv venv`` on the server's interpreter, then ``uv pip install``).
  Wheels only: installing runs no code from a package index. The environment holds the
  pins, plus what a model worker needs to speak to the server (``WORKER_NEEDS``, each at
  the newest release the pins allow); modelyard's own code is not installed in it but
  made visible to its worker (``runtimes.process``). It is built in a folder of its own
  and renamed into place, so a crash leaves no half-built environment, and a file lock
  makes concurrent server workers build it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from modelyard.domain.errors import InvalidInput
from modelyard.domain.runtimes import EnvironmentCheck, RequirementDifference

RECIPE = 2  # bumped when what an environment holds changes: older builds are not reused
SERIES = frozenset({"numpy", "scipy", "pandas", "pyarrow", "joblib"})
WORKER_NEEDS = (
    "numpy",
    "pandas",
    "pyarrow",
    "pyyaml",
    "pydantic",
    "typing-extensions",
    "packaging",
)
BUILD_SECONDS = 900.0
MARKER = "modelyard-environment.json"


class EnvironmentFailed(InvalidInput):
    """An environment could not be built: the message names the requirement."""


@dataclass(frozen=True)
class Difference:
    name: str  # the distribution, as the pin names it
    wanted: str  # the requirement recorded with the model
    found: str | None  # the version installed here; None: not installed


@dataclass(frozen=True)
class Plan:
    """Where a model with these requirements runs."""

    requirements: tuple[str, ...]
    differences: tuple[Difference, ...]
    python: str = field(default=f"{sys.version_info.major}.{sys.version_info.minor}")

    @property
    def in_process(self) -> bool:
        """True: the server's environment satisfies every pin that matters."""
        return not self.differences

    @property
    def digest(self) -> str:
        """The environment's identity: the same requirements share one environment."""
        text = json.dumps([RECIPE, self.python, sorted(self.requirements)])
        return hashlib.sha256(text.encode()).hexdigest()


def _parse(text: str) -> Requirement:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as e:
        raise InvalidInput(f"invalid requirement {text!r}: {e}") from None
    if requirement.url:
        raise InvalidInput(f"requirement {text!r}: a URL cannot be built into an environment")
    return requirement


def _matches(requirement: Requirement, installed: str) -> bool:
    pinned = [s.version for s in requirement.specifier if s.operator in ("==", "===")]
    try:
        have = Version(installed)
        if pinned and canonicalize_name(requirement.name) in SERIES:
            want = Version(pinned[0])
            return (have.major, have.minor) == (want.major, want.minor)
        if pinned:
            return have == Version(pinned[0])
    except InvalidVersion:
        return installed in pinned
    return requirement.specifier.contains(have, prereleases=True)


def plan(requirements: Iterable[str]) -> Plan:
    """Compare a version's requirements with the distributions installed here. Raises
    ``InvalidInput`` for a requirement that is not one."""
    texts = tuple(dict.fromkeys(r.strip() for r in requirements if r.strip()))
    differences = []
    for text in texts:
        requirement = _parse(text)
        try:
            installed: str | None = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or not _matches(requirement, installed):
            differences.append(Difference(requirement.name, text, installed))
    return Plan(texts, tuple(differences))


@dataclass(frozen=True)
class Indexes:
    """Where environments' wheels come from. ``None`` everywhere: pip's own configuration
    here (``pip config list``), else PyPI."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()

    def options(self) -> list[str]:
        """These indexes as the options pip and uv both read (none: none given)."""
        out = ["--index-url", self.index_url] if self.index_url else []
        for url in self.extra_index_urls:
            out += ["--extra-index-url", url]
        for link in self.find_links:
            out += ["--find-links", link]
        return out

    def arguments(self) -> list[str]:
        """uv's options: these indexes, else pip's configuration here."""
        found = self if (self.index_url or self.extra_index_urls or self.find_links) else _pips()
        out = found.options()
        # pip's meaning of several indexes: the best match across all of them
        return [*out, "--index-strategy", "unsafe-best-match"] if out else out


def _pips() -> Indexes:
    """The indexes pip is configured with here (``pip config list``), if pip is installed."""
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return Indexes()
    values: dict[str, list[str]] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        option = key.rsplit(".", 1)[-1]
        values.setdefault(option, []).extend(value.strip().strip("'\"").split())
    index = values.get("index-url") or []
    return Indexes(
        index_url=index[-1] if index else None,
        extra_index_urls=tuple(dict.fromkeys(values.get("extra-index-url", []))),
        find_links=tuple(dict.fromkeys(values.get("find-links", []))),
    )


def uv_binary() -> str:
    """The ``uv`` that came with modelyard (the ``uv`` distribution), else one on PATH."""
    with contextlib.suppress(ImportError, FileNotFoundError):
        import uv

        return str(uv.find_uv_bin())
    found = shutil.which("uv")
    if found is None:
        raise EnvironmentFailed("uv is not installed: it builds model environments")
    return found


class Environments:
    """The built environments under ``folder``, one per requirements digest."""

    def __init__(self, folder: Path, indexes: Indexes | None = None) -> None:
        self.folder = folder
        self.indexes = indexes or Indexes()

    @cached_property
    def index_arguments(self) -> list[str]:
        """uv's index options, read once (pip's configuration costs a subprocess)."""
        return self.indexes.arguments()

    def python(self, found: Plan) -> Path:
        """The interpreter of ``found``'s environment, built first if needed (minutes on a
        cold package cache). Raises ``EnvironmentFailed`` naming what could not be
        installed."""
        target = self.folder / found.digest
        interpreter = target / "bin" / "python"
        if (target / MARKER).is_file():
            return interpreter
        self.folder.mkdir(parents=True, exist_ok=True)
        with locked(self.folder / f".{found.digest}.lock"):
            if not (target / MARKER).is_file():  # built meanwhile by another process
                self._build(found, target)
        return interpreter

    def built(self, found: Plan) -> dict[str, object] | None:
        """What was recorded when ``found``'s environment was built; None: not built."""
        try:
            data = json.loads((self.folder / found.digest / MARKER).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def check(self, requirements: Iterable[str], version: str) -> EnvironmentCheck:
        """Where a version with these requirements runs here, and whether its environment
        can be built (resolved by uv, without installing anything)."""
        found = plan(requirements)
        differences = [RequirementDifference(d.wanted, d.found) for d in found.differences]
        pins = list(found.requirements)
        if found.in_process:
            return EnvironmentCheck(version, "server", pins, differences)
        built = self.built(found)
        seconds = built.get("seconds") if built else None
        return EnvironmentCheck(
            version,
            "environment",
            pins,
            differences,
            environment=found.digest,
            built=built is not None,
            build_seconds=float(seconds) if isinstance(seconds, int | float) else None,
            problem=None if built else self.problem(found),
        )

    def problem(self, found: Plan) -> str | None:
        """Why ``found``'s environment cannot be built (uv resolves it, installs nothing)."""
        command = [uv_binary(), "pip", "compile", "--quiet", "--no-header", "--only-binary"]
        command += [":all:", "--python-version", found.python, *self.index_arguments, "-"]
        try:
            _run(command, found, stdin="\n".join((*found.requirements, *WORKER_NEEDS)))
        except EnvironmentFailed as e:
            return e.message.removeprefix("cannot build the environment: ")
        return None

    def _build(self, found: Plan, target: Path) -> None:
        started = time.perf_counter()
        staging = self.folder / f".build-{found.digest[:16]}-{uuid.uuid4().hex[:8]}"
        uv = uv_binary()
        try:
            _run([uv, "venv", "--quiet", "--python", sys.executable, str(staging)], found)
            command = [uv, "pip", "install", "--quiet", "--python", str(staging / "bin/python")]
            # compiled now, once: workers run with PYTHONDONTWRITEBYTECODE, and compiling
            # numpy, pandas and scikit-learn at every start took 5 s
            command += ["--only-binary", ":all:", "--compile-bytecode", *self.index_arguments]
            _run([*command, *found.requirements, *WORKER_NEEDS], found)
            seconds = time.perf_counter() - started
            record = {"requirements": list(found.requirements), "seconds": round(seconds, 3)}
            (staging / MARKER).write_text(json.dumps(record))
            shutil.rmtree(target, ignore_errors=True)
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _run(command: list[str], found: Plan, stdin: str | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "AWS_"))}
    env.pop("VIRTUAL_ENV", None)
    try:
        done = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=BUILD_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentFailed(
            f"building the environment for {', '.join(found.requirements)} took over "
            f"{BUILD_SECONDS:g} s"
        ) from None
    if done.returncode != 0:
        raise EnvironmentFailed(f"cannot build the environment: {_why(done.stderr)}")


def _why(stderr: str) -> str:
    """uv's reason, in one line: its ``cause:`` line, else its first error line."""
    marks = " \u2570\u2500\u25b6\u00d7"  # uv's tree drawing and its error cross
    lines = [line.strip(marks) for line in stderr.splitlines() if line.strip(marks)]
    for line in lines:
        if line.startswith("cause:"):
            return line.removeprefix("cause:").strip()
    for line in lines:
        if line.startswith("error:") and "No solution found" not in line:
            return line.removeprefix("error:").strip()
    return lines[-1] if lines else "uv failed without a message"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (made if missing), across processes."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
