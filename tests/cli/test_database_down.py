"""PostgreSQL down when a command or the server starts: one line naming the database
(password hidden) and exit 1, not the driver's traceback; nothing is served."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard import Client, Settings, StorageUnavailable
from tests.support.live import free_port

EXE = str(Path(sys.executable).parent / "modelyard")


@pytest.mark.parametrize(
    "command",
    [["models", "list"], ["server", "--port", "0"]],
    ids=["embedded CLI", "server"],
)
def test_a_database_that_is_down_is_one_line(tmp_path: Path, command: list[str]) -> None:
    url = f"postgresql+psycopg://modelyard:s3cret@127.0.0.1:{free_port()}/modelyard"
    env = {
        **os.environ,
        "MODELYARD_HOME": str(tmp_path / "home"),
        "MODELYARD_DB_URL": url,
        "MODELYARD_ADMIN_TOKEN": "myd_test-admin-token-000000000000000000000000",
    }
    done = subprocess.run(
        [EXE, *command], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot reach the database postgresql+psycopg://modelyard:***@")
    assert "Connection refused" in line and "s3cret" not in line


def test_the_sdk_raises_storage_unavailable(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://modelyard@127.0.0.1:{free_port()}/modelyard"
    with pytest.raises(StorageUnavailable, match="cannot reach the database"):
        Client(settings=Settings(home=tmp_path / "home", db_url=url))
