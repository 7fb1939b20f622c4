"""The server's side of one model worker process: how it is started (an environment with no
secret, a folder of its own, a socket pair) and how requests reach it and answers come
back (futures resolved by a reader thread, or by the server's event loop reading the
socket itself, so threads and the event loop alike can wait)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.runtimes import codec

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
    return error.kind if isinstance(error, ModelRaised) else type(error).__name__


def worker_environment(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEPT or k.startswith("LC_")}
    env.update(HOME=str(scratch), TMPDIR=str(scratch), PYTHONDONTWRITEBYTECODE="1")
    # joblib's process pools need /dev/shm, which a worker may not touch: it scores serially
    # (as it would with one thread) instead of warning at every start
    env["JOBLIB_MULTIPROCESSING"] = "0"

    return env


# Started by an environment's interpreter, which has no modelyard: its code comes from a
# folder that holds only a link to the server's ``modelyard`` package (``code``), put first
# on the search path, so the environment's own libraries are the ones imported.
BOOT = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from modelyard.runtimes.worker import main; main()"
)


@dataclass(frozen=True)
class Interpreter:
    """Which Python runs a host's workers: the server's own, or an environment's
    (``runtimes.environments``) with modelyard's code seen through ``code`` and the
    server's flavors named by their entry points (``name=module:Class``)."""

    python: str = sys.executable
    code: Path | None = None
    flavors: tuple[str, ...] = ()

    def command(self) -> list[str]:
        if self.code is None:
            return [self.python, "-I", "-m", "modelyard.runtimes.worker"]
        command = [self.python, "-I", "-c", BOOT, str(self.code)]
        for flavor in self.flavors:
            command += ["--flavor", flavor]
        return command


class ForkServer:
    """The process that forks model workers for one host and interpreter
    (``runtimes.worker.main``): started once, with the common libraries imported once."""

    def __init__(
        self, folder: Path, hidden: list[Path], interpreter: Interpreter | None = None
    ) -> None:
        scratch = folder / f"{os.getpid()}-forkserver-{uuid.uuid4().hex[:8]}"
        scratch.mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = (interpreter or Interpreter()).command()
        command += ["--fd", str(theirs.fileno()), "--workers", str(folder)]
        for path in hidden:
            command += ["--hide", str(path)]
        try:
            self.popen = subprocess.Popen(
                command,
                pass_fds=(theirs.fileno(),),
                env=worker_environment(scratch),
                cwd=scratch,
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self.sock = ours
        self.scratch = scratch
        self._lock = threading.Lock()
        ours.settimeout(START_SECONDS)
        try:
            self.confinement = str(self._receive()["confinement"])
        except (OSError, ValueError, KeyError):
            self.close()
            raise WorkerLost("the model worker fork server did not start") from None

    def _receive(self) -> dict[str, Any]:
        data = self.sock.recv(65536)
        if not data:
            raise OSError("the fork server exited")
        found = json.loads(data)
        if not isinstance(found, dict):
            raise ValueError("not an object")
        return found

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def fork(self, root: Path) -> tuple[int, socket.socket]:
        """A new worker for the folder ``root`` (made here) and our end of its socket."""
        for sub in ("packages", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair()
        try:
            with self._lock:
                socket.send_fds(
                    self.sock, [json.dumps({"root": str(root)}).encode()], [theirs.fileno()]
                )
                pid = int(self._receive()["pid"])
        except (OSError, ValueError, KeyError):
            ours.close()
            raise WorkerLost("the model worker fork server went away") from None
        finally:
            theirs.close()
        return pid, ours

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        try:
            self.popen.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


class WorkerProcess:
    """One running worker. ``submit`` may be called from any thread.

    Its replies are read by a thread of their own, or, given a ``loop`` (a server's), by
    that event loop: a reply then resolves its caller's future without a second thread
    waiting for the loop's GIL (up to the 5 ms switch interval per reply under load)."""

    def __init__(
        self, server: ForkServer, root: Path, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.root = root
        self.pid, self.sock = server.fork(root)
        try:
            self._exited = os.pidfd_open(self.pid)  # not our child: the fork server's
        except OSError:
            self._exited = -1  # gone already: the hello below fails
        hello_sent: Future[Reply] = Future()
        self._pending: dict[int, Future[Reply]] = {0: hello_sent}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._write = threading.Lock()
        self.lost: str | None = None
        # on the loop's own thread, the loop could not read the hello this waits for
        self._loop = None if loop is None or _running(loop) else loop
        self._loop_sock: socket.socket | None = None
        if self._loop is None:
            threading.Thread(target=self._read, name="model-worker", daemon=True).start()
        else:
            self._listen(self._loop)
        try:
            hello, _ = hello_sent.result(START_SECONDS)
        except Exception:
            self.close()
            raise WorkerLost("the model worker did not start") from None
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
                self._resolve(*message)
        except (codec.WireError, OSError) as e:
            why = f"the model worker broke the protocol: {e}"
        self._lose(why)

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        # the loop reads a duplicate that never blocks; senders keep a timeout (the same
        # socket, so non-blocking too: Python waits for room instead of failing)
        self.sock.settimeout(START_SECONDS)
        self._loop_sock = self.sock.dup()
        self._loop_sock.setblocking(False)
        self._parser = codec.Reader()
        loop.call_soon_threadsafe(loop.add_reader, self._loop_sock.fileno(), self._readable)

    def _readable(self) -> None:
        """On the loop: what the worker sent, to the futures waiting for it."""
        sock = self._loop_sock
        if sock is None:
            return
        try:
            data = sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        try:
            messages = self._parser.feed(data) if data else None
        except codec.WireError as e:
            messages, why = None, f"the model worker broke the protocol: {e}"
        else:
            why = "the model worker exited"
        if messages is None:
            self._unlisten()
            self._lose(why)
            return
        for header, body in messages:
            self._resolve(header, body)

    def _resolve(self, header: dict[str, Any], body: memoryview) -> None:
        """A reply to the future that waits for it (by the request's ``id``)."""
        with self._lock:
            future = self._pending.pop(header.get("id", -1), None)
        if future is not None:
            future.set_result((header, body))

    def _unlisten(self) -> None:
        with self._lock:
            sock, self._loop_sock = self._loop_sock, None
        if sock is None or self._loop is None:
            return

        def remove() -> None:
            assert self._loop is not None and sock is not None
            self._loop.remove_reader(sock.fileno())
            sock.close()

        if _running(self._loop):
            remove()
            return
        try:
            self._loop.call_soon_threadsafe(remove)
        except RuntimeError:  # the loop is closed: nothing reads it any more
            sock.close()

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
        self._unlisten()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if self._exited >= 0:
            ended, _, _ = select.select([self._exited], [], [], STOP_SECONDS)
            if not ended:  # stuck in model code
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(self._exited, signal.SIGKILL)
                select.select([self._exited], [], [], STOP_SECONDS)
            os.close(self._exited)
            self._exited = -1
        shutil.rmtree(self.root, ignore_errors=True)


def _running(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this thread is the one running ``loop``."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


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
