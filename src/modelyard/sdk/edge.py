"""Edge compositions on the caller's side: unpack and verify an edge export, write a
container build context around one, and send a device's scored rows back once."""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from modelyard.domain.errors import IntegrityFailure, InvalidInput
from modelyard.services import exports

WriteExport = Callable[[IO[bytes]], dict[str, Any]]
#: The rows ``edge sync`` has sent, one file per line (relative to the rows' folder).
SENT = "sent.txt"

DOCKERFILE = """\
# The scoring service of deployment {deployment} (revision {revision}), from `modelyard image`.
#   docker build -t {deployment} .  &&  docker run -p 8600:8600 {deployment}
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \\
    MODELYARD_HOME=/home/modelyard/.modelyard
RUN useradd --create-home --uid 10001 modelyard
COPY export /srv/export
# the environment's lock (requirements.txt, exact pins) from the export's own wheels, offline
RUN python -m venv /opt/modelyard \\
 && /opt/modelyard/bin/pip install --no-index --find-links /srv/export/wheels \\
    -r /srv/export/requirements.txt \\
 && mkdir /srv/export/collected /srv/export/.sync \\
 && chown modelyard /srv/export/collected /srv/export/.sync
ENV PATH=/opt/modelyard/bin:$PATH
USER modelyard
EXPOSE 8600
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \\
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8600/readyz')"]
ENTRYPOINT ["modelyard", "serve", "/srv/export"]
CMD ["--host", "0.0.0.0", "--port", "8600"]
"""
DOCKERIGNORE = "export/collected\nexport/.sync\n"


def export_to(write: WriteExport, folder: Path) -> dict[str, Any]:
    """Write an export into ``folder`` (new or empty): complete and verified, or not at all."""
    _must_be_empty(folder)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.part"
    try:
        with tempfile.TemporaryFile(dir=folder.parent if folder.parent.is_dir() else None) as spool:
            info = write(spool)
            spool.seek(0)
            _unpack(spool, staging)
        exports.verify_export(staging)  # what arrived is what was signed
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {**info, "folder": str(folder)}


def _must_be_empty(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInput(f"{folder} exists and is not an empty folder")


def _unpack(spool: IO[bytes], target: Path) -> None:
    """Regular files with the names an export may hold, nothing else."""
    target.mkdir(parents=True)
    with tarfile.open(fileobj=spool, mode="r|") as tar:
        for member in tar:
            name = member.name
            if not member.isreg() or not (
                exports.safe_name(name) or name in (exports.FILES, exports.SIGNATURE)
            ):
                raise IntegrityFailure(f"the export holds an unexpected member {name!r}")
            path = target / name
            if path.exists():
                raise IntegrityFailure(f"the export holds {name!r} twice")
            path.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None  # a regular file
            with open(path, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            os.chmod(path, 0o755 if name == exports.START else 0o644)


def write_files(folder: Path, files: dict[str, str]) -> None:
    """Text files (plain names, no folders) into ``folder`` (new or empty): all or none."""
    _must_be_empty(folder)
    for name in files:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise IntegrityFailure(f"the server sent an unexpected file name {name!r}")
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.part"
    try:
        staging.mkdir(parents=True)
        for name, text in files.items():
            (staging / name).write_text(text)
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def image_to(write: WriteExport, folder: Path) -> dict[str, Any]:
    """A container build context in ``folder``: ``Dockerfile``, ``.dockerignore`` and the
    edge export under ``export/``."""
    _must_be_empty(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        info = export_to(write, folder / "export")
        found = json.loads((folder / "export" / exports.EXPORT).read_text())
        (folder / "Dockerfile").write_text(
            DOCKERFILE.format(
                deployment=found["deployment"]["name"],
                revision=found["deployment"]["revision"],
                python=found["python"],
            )
        )
        (folder / ".dockerignore").write_text(DOCKERIGNORE)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return {**info, "folder": str(folder)}


def sync(upload: Callable[[str, bytes], int], folder: Path) -> dict[str, Any]:
    """Send every file of scored rows under ``folder`` (an export's ``collected/``, or such
    a folder itself) that was not sent before; each one is recorded once it is stored."""
    is_export = (folder / exports.EXPORT).is_file()
    rows_dir = folder / exports.COLLECTED if is_export else folder
    if not is_export and not rows_dir.is_dir():
        raise InvalidInput(f"{folder} is neither an edge export nor a folder of scored rows")
    ledger = folder / exports.LEDGER / SENT
    sent = set(ledger.read_text().splitlines()) if ledger.is_file() else set()
    ledger.parent.mkdir(parents=True, exist_ok=True)
    counts = {"sent": 0, "skipped": 0, "rows": 0}
    for path in sorted(rows_dir.glob("deployment=*/hour=*/part-*.parquet")):
        name = path.relative_to(rows_dir).as_posix()
        if name in sent:
            counts["skipped"] += 1
            continue
        deployment = path.parent.parent.name.removeprefix("deployment=")
        accepted = upload(deployment, path.read_bytes())
        with open(ledger, "a") as out:
            out.write(name + "\n")
            out.flush()
            os.fsync(out.fileno())
        counts["sent"] += 1
        counts["rows"] += accepted
    return counts
