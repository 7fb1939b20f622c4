"""Where a model runs: the one place that decides.

- ``WorkerHost`` (the server): every model runs in a model worker process
  (``runtimes.worker``) that holds no secret and is confined by the kernel. Deployed models
  share one long-lived worker per environment (``load``): deployers of one environment
  cannot touch another's. An evaluation or a baseline gets a worker of its own that ends
  with it (``job``): a developer's code never shares a process with anyone else's.
  A worker that dies is started again, and its models loaded again, on the next call.
- ``InProcessHost`` (embedded use: the CLI or SDK without a server): the model runs in the
  caller's own process, which already holds every credential the caller has.

Either way, a model whose pinned requirements the running environment does not satisfy
(``runtimes.environments.plan``) runs in a model worker started by its own environment's
interpreter, built first if needed: the same rule for serving, batch scoring, evaluations
and baselines, because they all load models here.

Both give a ``Model``: a ``LoadedModel`` (``predict``, ``predict_proba``, ``classes``) that
also scores typed columns, from a thread (``score``) or the event loop (``ascore``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modelyard.domain.errors import NotReady
from modelyard.domain.runtimes import EnvironmentCheck
from modelyard.runtimes import codec, sandbox
from modelyard.runtimes.environments import Environments, plan
from modelyard.runtimes.local import Columns, in_server, local_model, rows_of
from modelyard.runtimes.process import (
    ForkServer,
    Interpreter,
    WorkerProcess,
    checked,
    link_package,
    sweep,
)

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.domain.reports import Signature
    from modelyard.flavors.package import Manifest
    from modelyard.flavors.registry import Flavors
    from modelyard.runtimes.explain import Explanation
    from modelyard.runtimes.scorer import Output


class Model(Protocol):
    classes: list[Any] | None
    feature_names: list[str] | None
    warmup_error: str | None
    seconds: float  # how long loading and warming up took

    def predict(self, data: Any) -> Any: ...

    def predict_proba(self, data: Any) -> Any | None: ...

    def score(self, data: Columns | pd.DataFrame) -> Output:
        """Predictions (and probabilities) for typed columns or a frame."""
        ...

    async def ascore(self, columns: Columns) -> Output: ...

    def explain(self, columns: Columns, reference: dict[str, Any] | None) -> Explanation:
        """Each input's contribution to each row's answer (``runtimes.explain``);
        ``CannotExplain`` saying why not."""
        ...

    async def aexplain(self, columns: Columns, reference: dict[str, Any] | None) -> Explanation: ...

    def compile(self, flavor: str, signature: Signature | None) -> list[tuple[str, bytes]]:
        """The model converted to ONNX, one candidate per input precision (``flavors.convert``);
        ``ConversionFailed`` naming the step or operator when it cannot be."""
        ...


class ModelHost(Protocol):
    confinement: str  # how model code is contained, for the server's log

    def load(
        self, pool: str, folder: Path, manifest: Manifest, warmup: Columns | None = None
    ) -> Model:
        """A verified package folder loaded for serving, shared with ``pool``'s models."""
        ...

    def release(self, model: Model) -> None: ...

    def must_build(self, manifest: Manifest) -> bool:
        """Whether loading this package first builds its environment (seconds to minutes)."""
        ...

    def check(self, manifest: Manifest, version: str) -> EnvironmentCheck:
        """Where this package's model runs, and what differs from this environment."""
        ...

    def job(self, folder: Path, manifest: Manifest) -> contextlib.AbstractContextManager[Model]:
        """A package loaded for one piece of work, alone."""
        ...

    def close(self) -> None: ...


# -- in the caller's process ---------------------------------------------------------------
class InProcessHost:
    confinement = "in the caller's process (embedded use)"

    def __init__(self, flavors: Flavors, workers: WorkerHost | None = None) -> None:
        self.flavors = flavors
        # where models whose environment differs from this one run (started on first use)
        self.workers = workers

    def _elsewhere(self, manifest: Manifest) -> WorkerHost | None:
        if self.workers is None or plan(manifest.requirements).in_process:
            return None
        return self.workers

    def load(
        self, pool: str, folder: Path, manifest: Manifest, warmup: Columns | None = None
    ) -> Model:
        elsewhere = self._elsewhere(manifest)
        if elsewhere is not None:
            return elsewhere.load(pool, folder, manifest, warmup)
        return local_model(
            lambda: self.flavors.get(manifest.flavor).load(
                folder, manifest.entrypoint, manifest.options
            ),
            manifest,
            warmup,
        )

    def release(self, model: Model) -> None:
        if self.workers is not None:
            self.workers.release(model)

    def must_build(self, manifest: Manifest) -> bool:
        return self.workers is not None and self.workers.must_build(manifest)

    def check(self, manifest: Manifest, version: str) -> EnvironmentCheck:
        if self.workers is None:
            raise NotReady("this process runs models only in its own environment")
        return self.workers.check(manifest, version)

    @contextlib.contextmanager
    def job(self, folder: Path, manifest: Manifest) -> Iterator[Model]:
        elsewhere = self._elsewhere(manifest)
        if elsewhere is not None:
            with elsewhere.job(folder, manifest) as model:
                yield model
            return
        yield self.load("", folder, manifest)

    def close(self) -> None:
        if self.workers is not None:
            self.workers.close()


# -- in model workers ----------------------------------------------------------------------
class RemoteModel:
    def __init__(self, pool: Pool, handle: str, info: dict[str, Any]) -> None:
        self.pool = pool
        self.handle = handle
        classes = info.get("classes")
        self.classes = None if classes is None else list(classes)
        names = info.get("feature_names")
        self.feature_names = None if names is None else [str(n) for n in names]
        self.warmup_error = info.get("warmup_error")
        self.seconds = float(info.get("seconds") or 0.0)

    def predict(self, data: Any) -> Any:
        return self._values("predict", data)

    def predict_proba(self, data: Any) -> Any | None:
        return self._values("predict_proba", data)

    def _values(self, what: str, frame: pd.DataFrame) -> Any:
        header = {"op": "predict", "handle": self.handle, "what": what}
        reply, body = self.pool.call(header, codec.frame_body(frame))
        return codec.read_arrays(reply, body, len(frame)).get("values")

    def score(self, data: Columns | pd.DataFrame) -> Output:
        # a frame goes as its columns: the worker rebuilds it as it does for online requests
        columns = data if isinstance(data, dict) else {str(c): data[c].to_numpy() for c in data}
        header, body = self._columns(columns)
        return _output(*self.pool.call(header, body), rows_of(columns))

    async def ascore(self, columns: Columns) -> Output:
        header, body = self._columns(columns)
        return _output(*await self._asubmit(header, body), rows_of(columns))

    def explain(self, columns: Columns, reference: dict[str, Any] | None) -> Explanation:
        header, body = self._explaining(columns, reference)
        return _explanation(*self.pool.call(header, body), rows_of(columns))

    async def aexplain(self, columns: Columns, reference: dict[str, Any] | None) -> Explanation:
        header, body = self._explaining(columns, reference)
        return _explanation(*await self._asubmit(header, body), rows_of(columns))

    async def _asubmit(self, header: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
        """The reply to one message, from the event loop (a dead worker started again)."""
        if not self.pool.alive:
            await asyncio.to_thread(self.pool.revive)
        return checked(await asyncio.wrap_future(self.pool.submit(header, body)))

    def _explaining(
        self, columns: Columns, reference: dict[str, Any] | None
    ) -> tuple[dict[str, Any], Any]:
        described, body = codec.columns_message(columns)
        header = {"op": "explain", "handle": self.handle, "input": described}
        return {**header, "reference": reference}, body

    def compile(self, flavor: str, signature: Signature | None) -> list[tuple[str, bytes]]:
        from modelyard.flavors.convert import ConversionFailed

        header = {"op": "compile", "handle": self.handle, "flavor": flavor, "signature": signature}
        reply, body = self.pool.call(header, b"")
        if reply.get("failed"):
            raise ConversionFailed(str(reply["failed"]))
        found, start, data = [], 0, bytes(body)
        for precision, size in reply.get("candidates") or []:
            found.append((str(precision), data[start : start + int(size)]))
            start += int(size)
        return found

    def _columns(self, columns: Columns) -> tuple[dict[str, Any], Any]:
        described, body = codec.columns_message(columns)
        return {"op": "score", "handle": self.handle, "input": described}, body


def _output(header: dict[str, Any], body: Any, rows: int | None) -> Output:
    import numpy as np

    from modelyard.runtimes.scorer import Output

    arrays = codec.read_arrays(header, body, rows)
    proba = arrays.get("probabilities")
    return Output(arrays["predictions"], None if proba is None else proba.astype(np.float64))


def _explanation(header: dict[str, Any], body: Any, rows: int | None) -> Explanation:
    from modelyard.runtimes.explain import CannotExplain, Explanation

    if header.get("refused"):
        raise CannotExplain(str(header["refused"]))
    arrays = codec.read_arrays(header, body, rows)
    features = [str(f) for f in header.get("features") or []]
    contributions = arrays["contributions"].astype("float64").reshape(rows or 0, len(features))
    base = arrays["base"].astype("float64")
    return Explanation(str(header["method"]), str(header["output"]), features, base, contributions)


class Pool:
    """One worker process and the models loaded in it; started again when it dies."""

    def __init__(self, host: WorkerHost, name: str, python: str = "") -> None:
        self.host = host
        self.name = name
        self.python = python  # "": the server's interpreter
        self._lock = threading.Lock()
        self._handles = itertools.count(1)
        self._loaded: dict[str, tuple[str, Any]] = {}  # handle -> (package, warm-up)
        self.process = host.spawn(python)

    @property
    def alive(self) -> bool:
        return self.process.alive

    def load(self, folder: Path, warmup: Columns | None) -> RemoteModel:
        package = link_package(folder, self.process.root / "packages")
        warm = codec.columns_message(warmup) if warmup else ({}, b"")
        handle = str(next(self._handles))
        with self._lock:
            self._loaded[handle] = (package, warm)
        try:
            info = self._load(handle, package, warm)
        except BaseException:
            with self._lock:
                self._loaded.pop(handle, None)
            raise
        return RemoteModel(self, handle, info)

    def _load(self, handle: str, package: str, warm: tuple[dict[str, Any], Any]) -> dict[str, Any]:
        header = {"op": "load", "handle": handle, "package": package, "warmup": warm[0]}
        reply, _ = self.process.call(header, warm[1])
        return reply

    def submit(self, header: dict[str, Any], body: Any) -> Any:
        return self.process.submit(header, body)

    def call(self, header: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
        if not self.alive:
            self.revive()
        return self.process.call(header, body)

    def revive(self) -> None:
        """A new worker in place of a dead one, with every model loaded again."""
        with self._lock:
            if self.process.alive:
                return
            self.process.close()
            self.process = self.host.spawn(self.python)
            loaded = dict(self._loaded)
        for handle, (package, warm) in loaded.items():
            source = self.host.packages / package
            link_package(source, self.process.root / "packages")
            self._load(handle, package, warm)

    def unload(self, handle: str) -> None:
        with self._lock:
            self._loaded.pop(handle, None)
        with contextlib.suppress(Exception):
            self.process.submit({"op": "unload", "handle": handle})

    def close(self) -> None:
        self.process.close()


def confinement() -> str:
    """How a server contains model code here, said once at its start."""
    version = sandbox.abi()
    if version:
        return (
            f"in model workers confined by Landlock ABI {version}, without any secret or capability"
        )
    return (
        "in model workers without any secret or capability but NOT confined (this kernel "
        "has no Landlock): model code can read the files this user can read"
    )


class WorkerHost:
    def __init__(
        self,
        folder: Path,
        packages: Path,
        hidden: list[Path],
        loop: asyncio.AbstractEventLoop | None = None,
        environments: Environments | None = None,
    ) -> None:
        self.folder = folder  # each worker's own folder is made under it
        self.packages = packages  # the verified package cache (``Packager.materialize``)
        self.hidden = hidden
        self.loop = loop  # the server's event loop, which reads the workers' replies
        self.environments = environments or Environments(folder.parent / "envs")
        self._pools: dict[tuple[str, str], Pool] = {}
        self._lock = threading.Lock()
        # by interpreter ("": the server's), each started with its first worker
        self._forks: dict[str, ForkServer] = {}
        self._forking = threading.Lock()
        sweep(folder)
        self.confinement = confinement()
        # a worker may share this process's user: it must not read its environment or
        # memory through /proc (with no capability, it cannot read a non-dumpable one)
        sandbox.shield_environment()

    def spawn(self, python: str = "") -> WorkerProcess:
        with self._forking:
            forks = self._forks.get(python)
            if forks is None or not forks.alive:
                if forks is not None:
                    forks.close()
                forks = self._forks[python] = ForkServer(
                    self.folder, self.hidden, self._interpreter(python)
                )
        root = self.folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        return WorkerProcess(forks, root, self.loop)

    def _interpreter(self, python: str) -> Interpreter:
        if not python:
            return Interpreter()
        from modelyard.flavors.registry import Flavors

        flavors = tuple(f"{n}={v}" for n, v in sorted(Flavors().entry_points().items()))
        return Interpreter(python, self._code(), flavors)

    def _code(self) -> Path:
        """A folder holding only a link to modelyard's package: what an environment's
        interpreter adds to its search path (``Interpreter``)."""
        import modelyard

        code = self.folder / "code"
        link = code / "modelyard"
        target = Path(modelyard.__file__).resolve().parent
        if not (link.is_symlink() and link.resolve() == target):
            code.mkdir(parents=True, exist_ok=True)
            staging = code / f".modelyard-{uuid.uuid4().hex[:8]}"
            staging.symlink_to(target, target_is_directory=True)
            os.replace(staging, link)
        return code

    def _python(self, manifest: Manifest) -> str:
        """The interpreter this package's model runs under: "" (the server's) when the
        server's environment satisfies its pins, else its own environment's (built here
        first if needed)."""
        found = plan(manifest.requirements)
        return "" if found.in_process else str(self.environments.python(found))

    def must_build(self, manifest: Manifest) -> bool:
        found = plan(manifest.requirements)
        return not found.in_process and self.environments.built(found) is None

    def check(self, manifest: Manifest, version: str) -> EnvironmentCheck:
        return self.environments.check(manifest.requirements, version)

    def load(
        self, pool: str, folder: Path, manifest: Manifest, warmup: Columns | None = None
    ) -> Model:
        python = self._python(manifest)
        if not python and in_server(manifest):
            from modelyard.flavors.onnx import load_graph

            content = (folder / manifest.entrypoint).read_bytes()
            return local_model(
                lambda: load_graph(content, manifest.options), manifest, warmup, inline=True
            )
        with self._lock:
            found = self._pools.get((pool, python))
            if found is None:
                found = self._pools[(pool, python)] = Pool(self, pool, python)
        if not found.alive:
            found.revive()
        return found.load(folder, warmup)

    def release(self, model: Model) -> None:
        if isinstance(model, RemoteModel):
            model.pool.unload(model.handle)

    @contextlib.contextmanager
    def job(self, folder: Path, manifest: Manifest) -> Iterator[Model]:
        pool = Pool(self, "job", self._python(manifest))
        try:
            yield pool.load(folder, None)
        finally:
            pool.close()

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        with self._forking:
            forks, self._forks = list(self._forks.values()), {}
        for pool in pools:
            pool.close()
        for server in forks:
            server.close()
