"""Model workers are forked from one fork server per host, which has the common libraries
imported already; a fork server that dies is started again on the next worker, and
workers already running keep serving."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd

from modelyard.flavors.package import read_manifest, write_manifest
from modelyard.runtimes.host import WorkerHost

SCRIPT = """def init():
    pass


def run(data):
    import sys

    # the fork server imported these before the fork: the model finds them loaded
    return [float("sklearn.pipeline" in sys.modules)] * len(data)
"""


def test_workers_come_from_one_fork_server_which_is_restarted_when_it_dies(
    tmp_path: Path,
) -> None:
    package = tmp_path / "packages" / "sha256-script"
    package.mkdir(parents=True)
    (package / "score.py").write_text(SCRIPT)
    write_manifest(package, flavor="python", entrypoint="score.py")
    manifest = read_manifest(package)
    rows = pd.DataFrame({"x": [1.0, 2.0]})
    host = WorkerHost(tmp_path / "workers", tmp_path / "packages", [tmp_path / "home"])
    try:
        first = host.load("sandbox", package, manifest)
        assert first.predict(rows).tolist() == [1.0, 1.0]
        forks = host._forks[""]
        assert forks is not None and forks.alive
        with host.job(package, manifest) as job:  # a second worker, same fork server
            assert job.predict(rows).tolist() == [1.0, 1.0]
        assert host._forks[""] is forks

        os.kill(forks.popen.pid, signal.SIGKILL)
        forks.popen.wait(10)
        assert first.predict(rows).tolist() == [1.0, 1.0]  # its worker lives on
        with host.job(package, manifest) as job:  # a new fork server forks this one
            assert np.asarray(job.predict(rows)).tolist() == [1.0, 1.0]
        assert host._forks[""] is not forks and host._forks[""].alive
    finally:
        host.close()
    assert not list((tmp_path / "workers").glob("*-*/packages"))  # every worker's folder went
