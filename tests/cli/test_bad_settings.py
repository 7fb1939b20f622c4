"""A setting from the environment that does not parse is one error line naming it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.live import EXE


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        (
            "MODELYARD_POLL_SECONDS",
            "abc",
            "Input should be a valid number, unable to parse string as a number",
        ),
        ("MODELYARD_WEBHOOK_ALLOW", "10.0.0.0/8,nope", "'nope' is not an address range (CIDR)"),
    ],
)
def test_a_bad_setting_is_one_line(tmp_path: Path, variable: str, value: str, says: str) -> None:
    env = {**os.environ, "MODELYARD_HOME": str(tmp_path / "home"), variable: value}
    done = subprocess.run(
        [EXE, "models", "list"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: invalid {variable}: {says}"]
