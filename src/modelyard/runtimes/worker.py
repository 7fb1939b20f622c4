"""A model worker: the only process that runs model code a user uploaded (a ``score.py``, a
pickle) on behalf of the server.

Started by ``runtimes.process`` with an environment that holds no secret, it confines
itself (``runtimes.sandbox``) before it imports anything else, then answers requests on
the socket it inherited: load a package from its folder, score columns, predict on a
frame, unload. Each loaded model scores on a thread of its own, so one slow model does not
hold up another; the main thread only reads requests. It exits when the server closes the
socket (or dies).

Run as ``python -I -m modelyard.runtimes.worker --fd N --root DIR --hide DIR``.
"""

from __future__ import annotations

import argparse
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
    def __init__(self, sock: socket.socket, root: Path, confinement: str) -> None:
        self.sock = sock
        self.root = root
        self.confinement = confinement
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
            work = {"score": self._score, "predict": self._predict}.get(str(op))
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
        model = Flavors().get(manifest.flavor).load(folder, manifest.entrypoint, manifest.options)
        scorer = Scorer(model, manifest.signature)
        if body:
            scorer.warm_up(scorer.frame(codec.read_columns(header["warmup"], body)))
        self._models[str(header["handle"])] = (scorer, executor)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="modelyard-model-worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--hide", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when this one stops
    root = args.root.resolve()
    sandbox.drop_capabilities()
    confinement = sandbox.confine(read=[root / "packages"], write=[root / "tmp"], hidden=args.hide)
    sock = socket.socket(fileno=args.fd)
    try:
        Worker(sock, root, confinement).serve()
    except (codec.WireError, OSError):
        pass  # the server went away mid-message
    finally:
        sys.stdout.flush()
        os._exit(0)  # model threads may still run: they stop with the process


if __name__ == "__main__":
    main()
