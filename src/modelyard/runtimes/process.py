"""The server's side of one model worker process: how it is started (an environment with no
secret, a folder of its own, a socket pair) and how requests reach it and answers come
back (a reader thread resolving futures, so threads and the event loop alike can wait)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from modelyard.runtimes import codec

log = logging.getLogger("modelyard.runtimes")
START_SECONDS = 30.0
STOP_SECONDS = 5.0
# What a worker's environment keeps of the server's: locale, time zone, search path and
# thread counts. Nothing else: no MODELYARD_*, no database URL, no cloud credentials.
KEPT = frozenset(
    {
        "PATH",
        "LANG",
        "LANGUAGE",
        "TZ",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    }
)

Reply = tuple[dict[str, Any], memoryview]


class WorkerLost(Exception):
    """The model worker exited (its model crashed it, or it was killed)."""


class ModelRaised(Exception):
    """The model's own code raised; ``kind`` is the exception's class name (its message
    stays in the worker: it may quote the data)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def failure_kind(error: BaseException) -> str:
    """The name a caller reports for a model's failure, wherever the model ran."""
    if isinstance(error, ModelRaised):
        return error.kind
    if isinstance(error, WorkerLost):
        return "WorkerLost"
    return type(error).__name__


def worker_environment(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEPT or k.startswith("LC_")}
    env.update(HOME=str(scratch), TMPDIR=str(scratch), PYTHONDONTWRITEBYTECODE="1")
    return env


class WorkerProcess:
    """One running worker. ``submit`` may be called from any thread."""

    def __init__(self, root: Path, hidden: list[Path], python: str = sys.executable) -> None:
        self.root = root
        for sub in ("packages", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair()
        command = [python, "-I", "-m", "modelyard.runtimes.worker"]
        command += ["--fd", str(theirs.fileno()), "--root", str(root)]
        for path in hidden:
            command += ["--hide", str(path)]
        self.sock = ours
        hello_sent: Future[Reply] = Future()
        self._pending: dict[int, Future[Reply]] = {0: hello_sent}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._write = threading.Lock()
        self.lost: str | None = None
        try:
            self.popen = subprocess.Popen(
                command,
                pass_fds=(theirs.fileno(),),
                env=worker_environment(root / "tmp"),
                cwd=root / "tmp",
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._reader = threading.Thread(target=self._read, name="model-worker", daemon=True)
        self._reader.start()
        try:
            hello, _ = hello_sent.result(START_SECONDS)
        except Exception:
            self.close()
            raise WorkerLost("the model worker did not start") from None
        self.pid = int(hello["pid"])
        self.confinement = str(hello["confinement"])

    @property
    def alive(self) -> bool:
        return self.lost is None

    def submit(self, header: dict[str, Any], body: Any = b"") -> Future[Reply]:
        future: Future[Reply] = Future()
        with self._lock:
            if self.lost is not None:
                raise WorkerLost(self.lost)
            number = next(self._ids)
            self._pending[number] = future
        try:
            with self._write:
                codec.send(self.sock, {**header, "id": number}, body)
        except OSError:
            self._lose("the model worker went away")
            raise WorkerLost("the model worker went away") from None
        return future

    def call(self, header: dict[str, Any], body: Any = b"") -> Reply:
        return checked(self.submit(header, body).result())

    def _read(self) -> None:
        why = "the model worker exited"
        try:
            while True:
                message = codec.receive(self.sock)
                if message is None:
                    break
                header, body = message
                with self._lock:
                    future = self._pending.pop(header.get("id", -1), None)
                if future is not None:
                    future.set_result((header, body))
        except (codec.WireError, OSError) as e:
            why = f"the model worker broke the protocol: {e}"
        self._lose(why)

    def _lose(self, why: str) -> None:
        with self._lock:
            if self.lost is None:
                self.lost = why
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WorkerLost(why))

    def close(self) -> None:
        """Stop the worker (closing its socket ends it; a stuck one is killed) and remove
        its folder."""
        self._lose("the model worker was stopped")
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        try:
            self.popen.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def checked(reply: Reply) -> Reply:
    header, _ = reply
    if not header.get("ok"):
        raise ModelRaised(str(header.get("error") or "Error"))
    return reply


def link_package(folder: Path, into: Path) -> str:
    """Make a verified package folder visible to a worker under ``into``: hard links (no
    copy; the worker may only read them), or copies across file systems. Returns its name
    there."""
    name = folder.name
    target = into / name
    if target.is_dir():
        return name
    staging = into / f".{name}.{uuid.uuid4().hex[:8]}"
    for dirpath, _, files in os.walk(folder):
        relative = Path(dirpath).relative_to(folder)
        (staging / relative).mkdir(parents=True, exist_ok=True)
        for file in files:
            source, copy = Path(dirpath) / file, staging / relative / file
            try:
                os.link(source, copy)
            except OSError:
                shutil.copy2(source, copy)
    try:
        os.rename(staging, target)
    except OSError:  # linked meanwhile by another thread
        shutil.rmtree(staging, ignore_errors=True)
    return name


def sweep(folder: Path) -> None:
    """Remove the folders of workers whose server process is gone (a crash leaves them)."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        pid = entry.name.split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass
