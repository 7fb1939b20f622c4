"""The wheels an edge export installs from: every distribution modelyard and the served
models need, at the version installed here, and modelyard's own wheel.

- ``lock`` walks the installed distributions' metadata from the requirements given
  (markers evaluated, extras followed): the environment the server runs, pinned exactly.
- ``own_wheel`` writes modelyard's wheel from the installed files (an editable install
  has no wheel to copy, and building one from source needs the source tree and a build
  backend). It is byte-for-byte reproducible: fixed timestamps, files in sorted order.
- ``gather`` takes each pinned wheel from a cache folder, fetching the missing ones with
  ``pip download --only-binary :all: --no-deps`` (pip's own index settings, or modelyard's).

No library writes a wheel from an installed distribution, so ``own_wheel`` is written by
hand: a zip with the package, ``METADATA`` and ``entry_points.txt`` as installed, ``WHEEL``
and ``RECORD`` (PEP 427).
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import sys_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from modelyard.domain.errors import InvalidInput
from modelyard.runtimes.environments import EnvironmentFailed, Indexes, locked

OWN = "modelyard"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def lock(requirements: Iterable[str]) -> dict[str, str]:
    """Canonical name -> installed version of everything ``requirements`` need."""
    found: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    queue = [Requirement(r) for r in requirements]
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise InvalidInput(
                f"{requirement.name} is needed to serve this deployment but is not installed "
                "on the server"
            ) from None
        found[name] = dist.version
        extras = requirement.extras or {""}
        for line in dist.requires or []:
            needed = Requirement(line)
            if needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in extras
            ):
                queue.append(needed)
    return found


def own_wheel(folder: Path) -> Path:
    """modelyard's wheel, written into ``folder`` from the installed package."""
    import modelyard

    dist = metadata.distribution(OWN)
    info = f"{OWN}-{dist.version}.dist-info"
    target = folder / f"{OWN}-{dist.version}-py3-none-any.whl"
    package = Path(modelyard.__file__).parent
    records: list[str] = []
    tmp = folder / f".{target.name}.{uuid.uuid4().hex}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as wheel:

            def add(name: str, data: bytes) -> None:
                entry = zipfile.ZipInfo(name, _EPOCH)
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                wheel.writestr(entry, data)
                hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                records.append(f"{name},sha256={hashed.decode()},{len(data)}")

            for path in sorted(package.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    add(f"{OWN}/{path.relative_to(package).as_posix()}", path.read_bytes())
            add(f"{info}/METADATA", (dist.read_text("METADATA") or "").encode())
            entry_points = dist.read_text("entry_points.txt")
            if entry_points:
                add(f"{info}/entry_points.txt", entry_points.encode())
            add(
                f"{info}/WHEEL",
                b"Wheel-Version: 1.0\nGenerator: modelyard\nRoot-Is-Purelib: true\n"
                b"Tag: py3-none-any\n",
            )
            record = "\n".join([*records, f"{info}/RECORD,,"]) + "\n"
            entry = zipfile.ZipInfo(f"{info}/RECORD", _EPOCH)
            entry.external_attr = 0o644 << 16
            wheel.writestr(entry, record.encode())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _cached(cache: Path) -> dict[tuple[str, Version], Path]:
    supported = set(sys_tags())
    found: dict[tuple[str, Version], Path] = {}
    for path in cache.glob("*.whl"):
        try:
            name, version, _, tags = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        if tags & supported:
            found[(str(name), version)] = path
    return found


def gather(pins: dict[str, str], cache: Path, indexes: Indexes) -> list[Path]:
    """A wheel for every pin, from ``cache``; the missing ones are downloaded into it."""
    cache.mkdir(parents=True, exist_ok=True)
    with locked(cache / ".lock"):  # one download at a time: another waits, then finds them
        return _gather(pins, cache, indexes)


def _gather(pins: dict[str, str], cache: Path, indexes: Indexes) -> list[Path]:
    wanted = {(name, Version(version)): f"{name}=={version}" for name, version in pins.items()}
    missing = [text for key, text in wanted.items() if key not in _cached(cache)]
    if missing:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            str(cache),
            *indexes.options(),  # none given: pip reads its own settings
            *sorted(missing),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=1800, check=False
            )
        except (OSError, subprocess.SubprocessError) as e:
            raise EnvironmentFailed(f"cannot download the export's wheels: {e}") from None
        if done.returncode != 0:
            lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith("ERROR")]
            why = (errors or lines or ["pip failed"])[0].removeprefix("ERROR: ")
            raise EnvironmentFailed(f"cannot download the export's wheels: {why}")
    cached = _cached(cache)
    absent = [text for key, text in wanted.items() if key not in cached]
    if absent:
        raise EnvironmentFailed(f"no wheel for {', '.join(sorted(absent))} on this platform")
    return [cached[key] for key in sorted(wanted)]
