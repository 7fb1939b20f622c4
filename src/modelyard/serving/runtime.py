"""The scoring runtime of one server worker.

- Follows the database: every ``poll_seconds`` it reads each deployment's current revision
  and scoring keys. A new revision is loaded and warmed in the background while the old one
  keeps serving, then swapped in one assignment; requests already holding the old revision
  finish on it.
- Loads each package once per digest; deployments and variants that pin the same version
  share the model (each variant keeps its own batcher and options).
- Routes by weight, or to the variant named in the ``modelyard-variant`` header; copies a
  share of requests to shadow variants off the request path and counts how often they agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.deployments import (
    WORKER_REPORT_SECONDS,
    ServingOptions,
    ServingState,
    Variant,
)
from modelyard.domain.errors import (
    ModelyardError,
    NotFound,
    NotReady,
    PermissionDenied,
    StorageUnavailable,
    Unauthenticated,
)
from modelyard.domain.reports import Signature
from modelyard.flavors.package import Manifest
from modelyard.monitoring.collector import Collector
from modelyard.runtimes.host import Model, ModelHost
from modelyard.runtimes.process import failure_kind
from modelyard.runtimes.scorer import Output
from modelyard.services.deployments import KEY_PREFIX, key_matches
from modelyard.serving import snapshot
from modelyard.serving.batcher import Batcher
from modelyard.serving.live import LiveDeployment, LiveVariant, Scored, explained, record
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.protocols import Parsed
from modelyard.serving.schema import InputSchema

log = logging.getLogger("modelyard.serving")
RETRY_FAILED_LOAD_SECONDS = 10.0
RELEASE_AFTER_SECONDS = 60.0  # a retired model answers what its batchers still hold


@dataclass(slots=True)
class _Loaded:
    model: Model
    signature: Signature | None
    seconds: float


class Backend(Protocol):
    """What the runtime needs of the installation, and nothing more."""

    @property
    def auth_enabled(self) -> bool:
        """False: the server runs without authentication (loopback only)."""
        ...

    def serving_states(self) -> list[ServingState]:
        """Every deployment's current revision."""
        ...

    def serving_changes(self) -> int:
        """A count that moves whenever ``serving_states`` would answer differently (one
        row to poll, however many deployments)."""
        ...

    @property
    def models(self) -> ModelHost:
        """Where models run (model workers, for a server)."""
        ...

    def package_folder(self, digest: str) -> tuple[Path, Manifest]:
        """A stored package's verified local folder."""
        ...

    def authenticate(self, secret: str | None) -> Principal:
        """The user a token belongs to."""
        ...

    def cached_principal(self, secret: str) -> Principal | None:
        """The user of a token that authenticated moments ago, without any I/O."""
        ...

    def report_serving(self, worker: str, served: dict[str, Any]) -> None:
        """Record what this worker serves (``ServingRuntime.served``), for those waiting
        until every worker serves a revision."""
        ...

    def forget_worker(self, worker: str) -> None:
        """This worker stops: it serves nothing any more."""
        ...


class ServingRuntime:
    def __init__(
        self,
        services: Backend,
        metrics: ServingMetrics,
        *,
        poll_seconds: float = 0.5,
        collector: Collector | None = None,
        snapshot: Path | None = None,
    ) -> None:
        self.services = services
        self.collector = collector
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.snapshot = snapshot  # where the last states read are kept (``serving.snapshot``)
        self._saved: list[ServingState] | None = None
        self._states: list[ServingState] = []  # as read last
        self._changes: int | None = None  # the backend's change count when they were read
        self.deployments: dict[str, LiveDeployment] = {}
        self.failures: dict[str, str] = {}  # deployment -> why its current revision won't load
        # every deployment read, loaded or not: its environment and scoring key hashes
        self.access: dict[str, tuple[str, tuple[str, str]]] = {}
        # by (environment, package digest): each environment's models share its own worker
        self._models: dict[tuple[str, str], _Loaded] = {}
        self._model_loads: dict[tuple[str, str], asyncio.Task[_Loaded]] = {}
        self._activations: dict[str, tuple[int, asyncio.Task[None], set[str]]] = {}
        self._failed_at: dict[tuple[str, int], float] = {}
        self._building: set[str] = set()  # package digests whose environment is being built
        self._background: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        # one sync at a time: a read that started before a change must not be applied
        # after a newer read (it would retire a deployment created in between)
        self._syncing = asyncio.Lock()
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._reported: tuple[dict[str, Any], float] | None = None  # what, and when

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Read the deployments once (their models load in the background), then poll."""
        try:
            await self.sync()
            await self._report()
        except StorageUnavailable:  # logged once per outage where it is noticed
            saved = snapshot.load(self.snapshot) if self.snapshot else None
            if saved is not None:
                log.warning(
                    "serving the %d deployments read last, until the database answers", len(saved)
                )
                async with self._syncing:
                    self._apply(saved)
        except Exception:
            log.warning("could not read deployments at start; retrying", exc_info=True)
        self._poller = asyncio.create_task(self._poll_forever())

    async def stop(self) -> None:
        with contextlib.suppress(Exception):  # best effort: a silent worker is gone anyway
            await asyncio.to_thread(self.services.forget_worker, self.worker)
        tasks: list[asyncio.Task[Any]] = [t for t in (self._poller,) if t is not None]
        tasks += [a[1] for a in self._activations.values()] + list(self._background)
        tasks += self._model_loads.values()  # a load in flight ends with its worker
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for loaded in self._models.values():
            self.services.models.release(loaded.model)

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.sync(if_changed=True)
                await self._report()
            except StorageUnavailable:  # keep serving what is loaded; logged once per outage
                pass
            except Exception:
                log.warning("could not read deployments; serving what is loaded", exc_info=True)

    def served(self) -> dict[str, Any]:
        """What this worker serves: each deployment's revision and, when a newer one failed
        to load here, which one and why."""
        out: dict[str, Any] = {
            name: {"revision": live.revision} for name, live in self.deployments.items()
        }
        for name, why in self.failures.items():
            failed = max(revision for (known, revision) in self._failed_at if known == name)
            out.setdefault(name, {"revision": None}).update(failed=failed, failure=why)
        for name in self._activations:
            building = self.building(name)
            if building is not None:
                out.setdefault(name, {"revision": None})["building"] = building
        return out

    def building(self, name: str) -> int | None:
        """The revision of ``name`` that waits here for its model environment to be built;
        None: none does."""
        pending = self._activations.get(name)
        if pending is None or not pending[2] & self._building:
            return None
        return pending[0]

    async def _report(self) -> None:
        """Tell the database what this worker serves, when that changed and at least every
        ``WORKER_REPORT_SECONDS`` (waiters count a silent worker as gone)."""
        served, now = self.served(), time.monotonic()
        if self._reported is not None:
            last, at = self._reported
            if last == served and now - at < WORKER_REPORT_SECONDS:
                return
        await asyncio.to_thread(self.services.report_serving, self.worker, served)
        self._reported = (served, now)

    async def sync(self, *, if_changed: bool = False) -> None:
        """Read every deployment's current revision and start what changed. The poller
        reads them only when the backend's change count moved (``if_changed``): a worker's
        poll is one row, not one per deployment."""
        async with self._syncing:
            changes = await asyncio.to_thread(self.services.serving_changes)
            if not if_changed or changes != self._changes:
                states = await asyncio.to_thread(self.services.serving_states)
                self._states, self._changes = states, changes
                if self.snapshot is not None and states != self._saved:
                    await asyncio.to_thread(snapshot.save, self.snapshot, states)
                    self._saved = states
            self._apply(self._states)  # also retries a failed load when its time has come

    def _apply(self, states: list[ServingState]) -> None:
        seen = set()
        self.access = {s.name: (s.environment, s.key_hashes) for s in states}
        for state in states:
            seen.add(state.name)
            live = self.deployments.get(state.name)
            if live is not None and live.revision == state.revision:
                continue
            pending = self._activations.get(state.name)
            if pending is not None and pending[0] == state.revision:
                continue
            if pending is not None:
                pending[1].cancel()  # superseded by a newer revision
            failed = self._failed_at.get((state.name, state.revision))
            if failed is not None and time.monotonic() - failed < RETRY_FAILED_LOAD_SECONDS:
                continue
            digests = {v["package_digest"] for v in state.variants}
            task = asyncio.create_task(self._activate(state))
            self._activations[state.name] = (state.revision, task, digests)
        for name in list(self.deployments):
            if name not in seen:
                del self.deployments[name]
                self.failures.pop(name, None)
        for name in list(self._activations):
            if name not in seen:
                self._activations.pop(name)[1].cancel()
        self._evict()
        self._synced.set()

    # -- loading --------------------------------------------------------------------------
    async def _activate(self, state: ServingState) -> None:
        try:
            options = ServingOptions.from_dict(state.options)
            live: list[LiveVariant] = []
            shadows: list[LiveVariant] = []
            for data in state.variants:
                variant = Variant.from_dict(data)
                loaded = await self._model(state.environment, variant.package_digest)
                schema = InputSchema(loaded.signature, options)
                batcher = Batcher(loaded.model, options, self._observer(state.name, variant.name))
                self.metrics.load_seconds.labels(state.name, variant.name).set(loaded.seconds)
                series = self.metrics.variant(state.name, variant.name)
                entry = LiveVariant(variant, loaded.model, schema, batcher, series)
                (live if variant.role == "live" else shadows).append(entry)
            self.deployments[state.name] = LiveDeployment(
                state.name,
                state.environment,
                state.revision,
                options,
                live,
                shadows,
            )
            self.failures.pop(state.name, None)
            self.metrics.revision.labels(state.name).set(state.revision)
            log.info("deployment %s serves revision %d", state.name, state.revision)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            message = e.message if isinstance(e, ModelyardError) else failure_kind(e)
            self.failures[state.name] = f"revision {state.revision} failed to load: {message}"
            self._failed_at[(state.name, state.revision)] = time.monotonic()
            log.error(
                "deployment %s: revision %d failed to load: %s", state.name, state.revision, message
            )
        finally:
            current = self._activations.get(state.name)
            if current is not None and current[0] == state.revision:
                del self._activations[state.name]
            self._evict()

    async def _model(self, environment: str, digest: str) -> _Loaded:
        key = (environment, digest)
        loaded = self._models.get(key)
        if loaded is not None:
            return loaded
        task = self._model_loads.get(key)
        if task is None:
            task = asyncio.create_task(self._load(environment, digest))
            self._model_loads[key] = task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                self._model_loads.pop(key, None)

    async def _load(self, environment: str, digest: str) -> _Loaded:
        started = time.perf_counter()
        folder, manifest = await asyncio.to_thread(self.services.package_folder, digest)
        warmup = InputSchema(manifest.signature).warmup_columns()
        if await asyncio.to_thread(self.services.models.must_build, manifest):
            log.info("package %s: building its model environment", digest)
            self._building.add(digest)
        try:
            model = await asyncio.to_thread(
                self.services.models.load, environment, folder, manifest, warmup
            )
        finally:
            self._building.discard(digest)
        if model.warmup_error:
            log.warning("package %s: warm-up failed (%s)", digest, model.warmup_error)
        loaded = _Loaded(model, manifest.signature, time.perf_counter() - started)
        self._models[(environment, digest)] = loaded
        return loaded

    def _evict(self) -> None:
        wanted: set[tuple[str, str]] = set()
        for live in self.deployments.values():
            wanted |= {(live.environment, d) for d in live.digests}
        for name, (_, _, digests) in self._activations.items():
            environment = self.access.get(name, ("", ()))[0]
            wanted |= {(environment, d) for d in digests}
        loop = asyncio.get_running_loop()
        for key in [k for k in self._models if k not in wanted]:
            # Requests that took the old revision may still be queued in its batchers:
            # the model leaves its worker once they are answered or timed out.
            model = self._models.pop(key).model
            loop.call_later(RELEASE_AFTER_SECONDS, self.services.models.release, model)

    def _observer(self, deployment: str, variant: str) -> Callable[[int, int, float], None]:
        rows_h = self.metrics.batch_rows.labels(deployment, variant)
        requests_h = self.metrics.batch_requests.labels(deployment, variant)
        seconds_h = self.metrics.model_seconds.labels(deployment, variant)

        def observe(rows: int, requests: int, seconds: float) -> None:
            rows_h.observe(rows)
            requests_h.observe(requests)
            seconds_h.observe(seconds)

        return observe

    # -- serving --------------------------------------------------------------------------
    async def get(self, name: str) -> LiveDeployment:
        """The deployment as this worker serves it; one created a moment ago (not yet seen
        by the poller) is loaded now, and the request waits for it."""
        live = self.deployments.get(name)
        if live is not None:
            return live
        pending = self._activations.get(name)
        if pending is None:
            await self.sync()
            pending = self._activations.get(name)
        if pending is not None:
            building = self.building(name)
            if building is not None:  # minutes, maybe: answer now rather than hold the request
                raise NotReady(
                    f"deployment {name!r} is not ready: revision {building} is building its "
                    "model environment"
                )
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(pending[1])
        live = self.deployments.get(name)
        if live is not None:
            return live
        if name in self.failures:
            raise NotReady(f"deployment {name!r} is not ready: {self.failures[name]}")
        raise NotFound(f"deployment {name!r} does not exist", deployment=name)

    async def authorize(self, name: str, secret: str | None) -> None:
        """A scoring key of deployment ``name``, or a token whose user may score in its
        environment; checked before the deployment is looked up, so a caller without valid
        credentials gets the same 401 whether the name exists or not. A name this worker has
        not read costs a database read (a deployment created a moment ago?) only for a
        signed-in user or a caller with a well-formed scoring key, whose failures count
        towards the address's brake."""
        if not self.services.auth_enabled:
            return
        if not secret:
            raise Unauthenticated(
                "missing credentials: send 'Authorization: Bearer <scoring key or token>'"
            )
        if secret.startswith(KEY_PREFIX):
            if name not in self.access:
                await self.sync()
            found = self.access.get(name)
            if found is not None and key_matches(secret, found[1]):
                return
            raise Unauthenticated(f"invalid scoring key for deployment {name!r}")
        principal = await self.principal(secret)
        if name not in self.access:
            await self.sync()  # a signed-in user: created a moment ago?
        found = self.access.get(name)
        if found is not None and not principal.can(Permission.SCORE, found[0]):
            raise PermissionDenied(
                f"user {principal.name!r} may not score in {found[0]!r}",
                user=principal.name,
                environment=found[0],
            )
        # a signed-in user may learn that a name does not exist (404 from ``get``)

    async def principal(self, secret: str) -> Principal:
        known = self.services.cached_principal(secret)  # no thread hop for a known token
        if known is not None:
            return known
        return await asyncio.to_thread(self.services.authenticate, secret)

    async def score(
        self, live: LiveDeployment, parsed: Parsed, pin: str | None, request_id: str = ""
    ) -> Scored:
        started = time.perf_counter()
        variant = live.choose(pin)
        columns = variant.schema.columns(parsed.columns, parsed.rows)
        keys = variant.schema.key_values(parsed.columns, parsed.rows)
        variant.series.queue.set(variant.batcher.depth)
        output = await variant.batcher.submit(columns, parsed.rows)
        if parsed.explain:
            output = await explained(variant, columns, output, parsed.explain)
        sampled = random.random() < live.options.sampling
        if sampled and self.collector is not None:
            self.collector.add(record(live, variant, columns, keys, output, request_id, started))
        if live.shadows and pin is None:
            for shadow in live.pick_shadows():
                self._spawn(self._shadow(live, shadow, parsed, output, request_id, sampled))
        return Scored(variant, output, keys)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _shadow(
        self,
        live: LiveDeployment,
        shadow: LiveVariant,
        parsed: Parsed,
        answer: Output,
        request_id: str,
        sampled: bool,
    ) -> None:
        started = time.perf_counter()
        if shadow.batcher.depth >= shadow.batcher.options.max_queue // 2:
            self.metrics.dropped_shadow.labels(live.name, shadow.name).inc()
            return  # shadows never take the capacity live traffic needs
        try:
            columns = shadow.schema.columns(parsed.columns, parsed.rows)
            output = await shadow.batcher.submit(columns, parsed.rows)
        except ModelyardError:
            self.metrics.dropped_shadow.labels(live.name, shadow.name).inc()
            return
        if sampled and self.collector is not None:  # beside the live answer, same request id
            keys = shadow.schema.key_values(parsed.columns, parsed.rows)
            self.collector.add(record(live, shadow, columns, keys, output, request_id, started))
        mine, theirs = np.asarray(output.predictions), np.asarray(answer.predictions)
        same = int(np.sum(mine == theirs)) if mine.shape == theirs.shape else 0
        counter = self.metrics.shadow
        if same:
            counter.labels(live.name, shadow.name, "same").inc(same)
        if parsed.rows - same:
            counter.labels(live.name, shadow.name, "different").inc(parsed.rows - same)

    @property
    def loaded_models(self) -> list[str]:
        """Package digests loaded in this worker (each once, whoever serves it)."""
        return sorted({digest for _, digest in self._models})

    @property
    def ready(self) -> bool:
        """Every current revision is loaded and answering in this worker."""
        return self._synced.is_set() and not self._activations and not self.failures
