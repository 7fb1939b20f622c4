"""A model worker: the only process that runs model code a user uploaded (a ``score.py``, a
pickle) on behalf of the server.

Started by ``runtimes.process`` with an environment that holds no secret, it confines
itself (``runtimes.sandbox``) before it imports anything else, then answers requests on
the socket it inherited: load a package from its folder, score columns, predict on a
frame, unload. Each loaded model scores on a thread of its own, so one slow model does not
hold up another; the main thread only reads requests. It exits when the server closes the
socket (or dies).

Started as a fork server (``python -I -m modelyard.runtimes.worker --fd N --workers DIR
--hide DIR``, see ``main``), which forks one worker per request.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from modelyard.runtimes import codec, sandbox


class Worker:
    def __init__(
        self, sock: socket.socket, root: Path, confinement: str, flavors: dict[str, str]
    ) -> None:
        self.sock = sock
        self.root = root
        self.confinement = confinement
        self.flavors = flavors  # name -> "module:Class"; empty: this environment's entry points
        self._write = threading.Lock()
        self._models: dict[str, tuple[Any, ThreadPoolExecutor]] = {}

    def serve(self) -> None:
        self._reply({"id": 0, "ok": True, "pid": os.getpid(), "confinement": self.confinement})
        while True:
            message = codec.receive(self.sock)
            if message is None:
                return  # the server closed the socket: nothing more to do
            header, body = message
            op = header.get("op")
            if op == "unload":
                found = self._models.pop(str(header.get("handle")), None)
                if found is not None:
                    found[1].shutdown(wait=False)
                self._reply({"id": header.get("id"), "ok": True})
                continue
            handle = str(header.get("handle"))
            if op == "load":
                executor = ThreadPoolExecutor(1, thread_name_prefix=f"model-{handle}")
                executor.submit(self._run, self._load, header, bytes(body), executor)
                continue
            found = self._models.get(handle)
            if found is None:
                self._reply({"id": header.get("id"), "ok": False, "error": "NotLoaded"})
                continue
            work = {
                "score": self._score,
                "predict": self._predict,
                "explain": self._explain,
                "compile": self._compile,
            }.get(str(op))
            if work is None:
                self._reply({"id": header.get("id"), "ok": False, "error": "UnknownOperation"})
                continue
            found[1].submit(self._run, work, header, bytes(body), found[0])

    def _run(self, work: Any, header: dict[str, Any], body: bytes, target: Any) -> None:
        try:
            reply, out = work(header, body, target)
        except BaseException as e:  # the model's failure is the caller's answer, not ours
            self._reply({"id": header.get("id"), "ok": False, "error": type(e).__name__})
            return
        self._reply({"id": header.get("id"), "ok": True, **reply}, out)

    def _reply(self, header: dict[str, Any], body: Any = b"") -> None:
        with self._write:
            codec.send(self.sock, header, body)

    # -- operations -----------------------------------------------------------------------
    def _load(
        self, header: dict[str, Any], body: bytes, executor: ThreadPoolExecutor
    ) -> tuple[dict[str, Any], Any]:
        import time

        from modelyard.flavors.package import MANIFEST, Manifest
        from modelyard.flavors.registry import Flavors
        from modelyard.runtimes.scorer import Scorer

        started = time.perf_counter()
        folder = self.root / "packages" / str(header["package"])
        manifest = Manifest.from_bytes((folder / MANIFEST).read_bytes(), str(folder))
        flavors = Flavors.from_points(self.flavors) if self.flavors else Flavors()
        model = flavors.get(manifest.flavor).load(folder, manifest.entrypoint, manifest.options)
        scorer = Scorer(model, manifest.signature)
        if body:
            scorer.warm_up(scorer.frame(codec.read_columns(header["warmup"], body)))
        self._models[str(header["handle"])] = (scorer, executor)
        # A model is hundreds of thousands of long-lived objects: out of the collector's
        # generations, or every full collection pauses scoring for ~130 ms.
        gc.freeze()
        names = getattr(model, "feature_names", None)
        return {
            "classes": scorer.classes,
            "feature_names": None if names is None else [str(n) for n in names],
            "warmup_error": scorer.warmup_error,
            "seconds": time.perf_counter() - started,
        }, b""

    def _score(
        self, header: dict[str, Any], body: bytes, scorer: Any
    ) -> tuple[dict[str, Any], Any]:
        output = scorer.score(scorer.frame(codec.read_columns(header["input"], body)))
        return codec.arrays_message(
            {"predictions": output.predictions, "probabilities": output.probabilities}
        )

    def _predict(
        self, header: dict[str, Any], body: bytes, scorer: Any
    ) -> tuple[dict[str, Any], Any]:
        import numpy as np

        frame = codec.read_frame(body)
        if header.get("what") == "predict_proba":
            proba = scorer.model.predict_proba(frame)
            return codec.arrays_message({"values": None if proba is None else np.asarray(proba)})
        return codec.arrays_message({"values": np.asarray(scorer.model.predict(frame))})

    def _explain(
        self, header: dict[str, Any], body: bytes, scorer: Any
    ) -> tuple[dict[str, Any], Any]:
        from modelyard.runtimes.explain import CannotExplain, explain

        columns = codec.read_columns(header["input"], body)
        try:
            found = explain(scorer, columns, header.get("reference"))
        except CannotExplain as e:  # the reason is the caller's answer
            return {"refused": str(e)}, b""
        described, out = codec.arrays_message(
            {"base": found.base, "contributions": found.contributions}
        )
        return {
            **described,
            "method": found.method,
            "output": found.output,
            "features": found.features,
        }, out

    def _compile(
        self, header: dict[str, Any], body: bytes, scorer: Any
    ) -> tuple[dict[str, Any], Any]:
        from modelyard.flavors.convert import ConversionFailed, candidates

        try:
            found = candidates(scorer.model, str(header["flavor"]), header.get("signature"))
        except ConversionFailed as e:  # the reason is the caller's answer
            return {"failed": e.message}, b""
        sizes = [[precision, len(data)] for precision, data in found]
        return {"candidates": sizes}, b"".join(data for _, data in found)


# Imported once by the fork server, shared by every worker it forks (copy-on-write): the
# libraries nearly every model needs. Trusted code, imported before any model is loaded.
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow",
    "modelyard.flavors.registry",
    "modelyard.runtimes.scorer",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.ensemble",
    "sklearn.linear_model",
)


def _own_code() -> Path:
    """modelyard's own package folder: an environment's interpreter sees it through a link
    (``process.Interpreter``), whose target must be readable too."""
    return Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    """The fork server: confined to the folder of its workers, it imports the common
    libraries once, then forks one model worker per request (a few milliseconds, instead
    of a second of imports per worker). Each worker confines itself further, to its own
    folder, before it loads anything."""
    parser = argparse.ArgumentParser(prog="modelyard-model-workers")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--workers", type=Path, required=True)
    parser.add_argument("--hide", type=Path, action="append", default=[])
    parser.add_argument("--flavor", action="append", default=[])  # name=module:Class
    args = parser.parse_args(argv)
    flavors = dict(entry.split("=", 1) for entry in args.flavor)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when this one stops
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    sandbox.drop_capabilities()
    confinement = sandbox.confine(
        read=[_own_code()], write=[args.workers.resolve()], hidden=args.hide
    )
    control = socket.socket(fileno=args.fd)
    import importlib

    for name in PRELOAD:
        # not installed here: a model that needs it says so when it loads
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    control.send(json.dumps({"confinement": confinement}).encode())
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 65536, 1)
        except OSError:
            break
        if not data:
            break  # the server worker is gone: its model workers end on their own sockets
        root = Path(json.loads(data)["root"]).resolve()
        pid = os.fork()
        if pid == 0:
            control.close()
            _worker(root, fds[0], args.hide, flavors)
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"pid": pid}).encode())
    os._exit(0)


def _worker(root: Path, fd: int, hidden: list[Path], flavors: dict[str, str]) -> None:
    """In the forked child: confine to its own folder, then serve until the server closes
    the socket. Never returns."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # model code may wait for its children
        confinement = sandbox.confine(
            read=[root / "packages", _own_code()], write=[root / "tmp"], hidden=hidden
        )
        scratch = str(root / "tmp")
        os.environ.update(HOME=scratch, TMPDIR=scratch)
        os.chdir(scratch)
        import tempfile

        tempfile.tempdir = scratch
        Worker(socket.socket(fileno=fd), root, confinement, flavors).serve()
    except (codec.WireError, OSError):
        pass  # the server went away mid-message
    except BaseException:
        code = 1
    finally:
        sys.stdout.flush()
        os._exit(code)  # model threads may still run: they stop with the process


if __name__ == "__main__":
    main()
