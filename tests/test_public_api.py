"""The public names of ``modelyard``: each resolves, and importing the package loads none."""

from __future__ import annotations

import subprocess
import sys

import modelyard


def test_every_public_name_resolves() -> None:
    missing = [name for name in modelyard.__all__ if getattr(modelyard, name, None) is None]
    assert missing == []
    assert modelyard.Client.__module__ == "modelyard.client"


def test_importing_the_package_loads_nothing_else() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, modelyard\nprint(*sys.modules)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert [name for name in loaded if name.startswith("modelyard.")] == []
