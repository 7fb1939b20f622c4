"""Adaptive batching: requests that queue while the model is busy become one model call.

- A request that finds the model idle is dispatched at once: no added delay by default.
- While a call runs, arriving requests wait; the next call takes all of them, counted in
  rows and capped by ``max_batch_size`` (a single larger request is scored alone).
- ``max_wait_ms`` optionally holds an idle dispatch to let a batch fill.
- The queue is bounded: a full queue sheds load with ``Overloaded`` (503, Retry-After).
- A request that waits past ``timeout_ms`` gets ``ModelTimeout`` (504); its rows are
  dropped from the call if it has not started.
- The model runs where its host put it (``runtimes.host``: a model worker process for the
  server); the event loop only awaits the answer, so it keeps parsing the next requests
  while the model scores, on another core. Up to ``IN_FLIGHT`` calls are outstanding: the
  next batch is on its way while the worker scores one, so neither side waits for the
  other (the worker scores them in turn).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from modelyard.domain.deployments import ServingOptions
from modelyard.domain.errors import ModelFailed, ModelTimeout, Overloaded
from modelyard.runtimes.host import Model
from modelyard.runtimes.process import failure_kind
from modelyard.runtimes.scorer import Output
from modelyard.serving.schema import Columns

SETTLE_TURNS = 4
IN_FLIGHT = 2
BatchObserver = Callable[[int, int, float], None]  # rows, requests, seconds


@dataclass(slots=True)
class _Pending:
    columns: Columns
    rows: int
    future: asyncio.Future[Output]
    queued_at: float = field(default_factory=time.perf_counter)


class Batcher:
    def __init__(
        self, model: Model, options: ServingOptions, observe: BatchObserver | None = None
    ) -> None:
        self.model = model
        self.options = options
        self.observe = observe
        self._queue: deque[_Pending] = deque()
        self._busy = False

    @property
    def depth(self) -> int:
        return len(self._queue)

    async def submit(self, columns: Columns, rows: int) -> Output:
        if len(self._queue) >= self.options.max_queue:
            raise Overloaded(
                f"the model is overloaded ({len(self._queue)} requests queued): retry shortly",
                retry_after=1,
            )
        loop = asyncio.get_running_loop()
        pending = _Pending(columns, rows, loop.create_future())
        self._queue.append(pending)
        if not self._busy:
            self._busy = True
            self._drainer = asyncio.ensure_future(self._drain())
        # a timer on the future itself, not ``asyncio.wait_for`` (a task and a shield per
        # request: 4 % of a worker's CPU at 2,400 req/s); a request that times out is done,
        # so ``_take`` drops its rows if its call has not started
        timer = loop.call_later(self.options.timeout_ms / 1000, _expire, pending, self.options)
        try:
            return await pending.future
        finally:
            timer.cancel()

    async def _drain(self) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            while self._queue or running:
                if not self._queue or len(running) >= IN_FLIGHT:
                    _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if self.options.max_wait_ms > 0:
                    await self._fill()
                else:
                    await self._settle()
                batch = self._take()
                if batch:
                    running.add(asyncio.ensure_future(self._run(batch)))
        finally:
            self._busy = False

    async def _settle(self) -> None:
        """Let the event loop finish reading what has already arrived (a few loop turns,
        tens of microseconds, no timer): requests sent together then share one call
        instead of the first taking a call of its own."""
        for _ in range(SETTLE_TURNS):
            if sum(p.rows for p in self._queue) >= self.options.max_batch_size:
                return
            await asyncio.sleep(0)

    async def _fill(self) -> None:
        deadline = self._queue[0].queued_at + self.options.max_wait_ms / 1000
        while sum(p.rows for p in self._queue) < self.options.max_batch_size:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.0005))

    def _take(self) -> list[_Pending]:
        batch: list[_Pending] = []
        rows = 0
        while self._queue:
            head = self._queue[0]
            if head.future.done():  # timed out or cancelled while queued
                self._queue.popleft()
                continue
            if batch and rows + head.rows > self.options.max_batch_size:
                break
            batch.append(self._queue.popleft())
            rows += head.rows
        return batch

    async def _run(self, batch: list[_Pending]) -> None:
        rows = sum(p.rows for p in batch)
        started = time.perf_counter()
        try:
            if len(batch) == 1:
                columns = batch[0].columns
            else:
                columns = {
                    name: np.concatenate([p.columns[name] for p in batch])
                    for name in batch[0].columns
                }
            output = await self.model.ascore(columns)
        except Exception as e:  # the model raised: every caller in the batch is told
            message = f"the model failed to score the input ({failure_kind(e)})"
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(ModelFailed(message))
            return
        took = time.perf_counter() - started
        if self.observe is not None:
            self.observe(rows, len(batch), took)
        offset = 0
        for p in batch:
            part = _slice(output, offset, p.rows) if len(batch) > 1 else output
            offset += p.rows
            if not p.future.done():
                p.future.set_result(part)


def _expire(pending: _Pending, options: ServingOptions) -> None:
    if not pending.future.done():
        message = f"the model did not answer within {options.timeout_ms:g} ms"
        pending.future.set_exception(ModelTimeout(message))


def _slice(output: Output, start: int, rows: int) -> Output:
    stop = start + rows
    proba = output.probabilities
    return Output(output.predictions[start:stop], None if proba is None else proba[start:stop])
