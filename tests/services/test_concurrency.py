"""Version numbers stay gap-free under concurrent writers; a killed registration leaves
nothing half-visible. Real processes, real databases."""

from __future__ import annotations

import multiprocessing as mp
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from modelyard import Client, Settings
from modelyard.flavors.package import write_manifest
from tests.support.processes import process_group

WRITERS = 8
PER_WRITER = 30


def _package(folder: Path, payload: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return []\n")
    (folder / "weights.bin").write_bytes(payload)
    write_manifest(folder, flavor="python", entrypoint="score.py")
    return folder


def _writer(settings: dict[str, Any], index: int, barrier: Any, results: Any) -> None:
    try:
        packages = [
            _package(Path(settings["home"]) / "src" / f"{index}-{i}", f"{index}-{i}".encode())
            for i in range(PER_WRITER)
        ]
        with Client(settings=Settings(**settings)) as client:
            barrier.wait(timeout=120)
            versions = [client.register("payments", p, git_commit=None).version for p in packages]
        results.put(("ok", versions))
    except BaseException as e:  # report every failure to the parent
        results.put(("error", f"{type(e).__name__}: {e}"))


@pytest.mark.slow
def test_concurrent_writers_get_versions_1_to_n_without_gaps(settings: Settings) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    results = ctx.Queue()
    raw = {"home": str(settings.home), "db_url": settings.db_url, "actor": "writer"}
    with Client(settings=settings):  # create the schema once, as a server would
        pass
    procs = [ctx.Process(target=_writer, args=(raw, i, barrier, results)) for i in range(WRITERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [detail for status, detail in outcomes if status == "error"]
    assert errors == []
    numbers = sorted(v for _, versions in outcomes for v in versions)
    assert numbers == list(range(1, WRITERS * PER_WRITER + 1))
    with Client(settings=settings) as client:
        stored = [v.version for v in client.list_versions("payments")]
        assert stored == list(range(1, WRITERS * PER_WRITER + 1))
        created = client.audit(action="version.created", limit=10_000)
        assert len(created) == WRITERS * PER_WRITER
        assert client.doctor(deep=False).ok


CRASHER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from modelyard import Client, Settings
    from modelyard.flavors.package import write_manifest

    home, db_url, trial = sys.argv[1], sys.argv[2] or None, sys.argv[3]
    base = Path(home) / "src" / trial
    client = Client(settings=Settings(home=home, db_url=db_url, actor="crasher"))
    print("ready", flush=True)
    i = 0
    while True:
        folder = base / str(i)
        folder.mkdir(parents=True)
        (folder / "score.py").write_text("def init(): pass\\ndef run(d): return []\\n")
        (folder / "weights.bin").write_bytes(os.urandom(2_000_000))
        write_manifest(folder, flavor="python", entrypoint="score.py")
        started = time.perf_counter()
        client.register("payments", folder, git_commit=None)
        print(f"done {time.perf_counter() - started:.4f}", flush=True)
        i += 1
    """
)


@pytest.mark.slow
def test_registration_killed_at_random_moments_leaves_registry_consistent(
    settings: Settings,
) -> None:
    rng = random.Random(2026)
    with Client(settings=settings):
        pass
    trials = 12
    durations = [0.3]  # seconds per registration, learnt from the child's reports
    for trial in range(trials):
        with process_group(
            [sys.executable, "-c", CRASHER, str(settings.home), settings.db_url or "", str(trial)],
            stdout=subprocess.PIPE,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            if trial % 2:  # let one registration complete first, so some versions exist
                durations.append(float(proc.stdout.readline().split()[1]))
            # then kill at a random moment within a registration: staging, recording the
            # pending package, uploading, or committing
            time.sleep(rng.uniform(0, 1.2 * sum(durations) / len(durations)))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the registration loop ended by itself"

    with Client(settings=settings) as client:
        versions = client.list_versions("payments") if client.list_models() else []
        assert [v.version for v in versions] == list(range(1, len(versions) + 1))
        for v in versions:  # every visible version loads from a complete, verified package
            source = client.package_source(v.ref)
            assert source.digest == v.package_digest
            folder, _ = client.packager.materialize(source)
            assert (folder / "weights.bin").stat().st_size == 2_000_000
        report = client.doctor()
        errors = [f.message for f in report.findings if f.severity == "error"]
        assert errors == []
        assert report.ok
        assert len(versions) > 0, "no registration completed in any trial: kill later"
