"""The last deployment states a server read, kept on local disk: a worker that starts
while the database is away (one replaced after a crash, during an outage) serves what its
siblings served instead of nothing, and reads the database again once it answers.

One JSON file in the home, replaced atomically whenever the states change; it holds what
the ``deployments`` rows hold for serving (names, revisions, packages, options, scoring
key hashes, never a key), readable by the server's user only.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from modelyard.domain.deployments import ServingState

log = logging.getLogger("modelyard.server")


def save(path: Path, states: list[ServingState]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump([s.to_dict() for s in states], out)
    os.replace(tmp, path)


def load(path: Path) -> list[ServingState] | None:
    """The states saved last, or None when there are none (or they do not read)."""
    try:
        raw = json.loads(path.read_text())
        return [ServingState.from_dict(s) for s in raw]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        log.warning("ignoring unreadable deployment snapshot %s", path)
        return None
