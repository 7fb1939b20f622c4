"""Models that run in the caller's own process (``runtimes.host``): embedded use, and a
self-contained ONNX graph inside a server worker (``in_server``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from modelyard.domain.reports import Signature
    from modelyard.flavors.package import Manifest
    from modelyard.runtimes.explain import Explanation
    from modelyard.runtimes.scorer import Output, Scorer

Columns = dict[str, "np.ndarray"]


def rows_of(columns: Columns) -> int | None:
    return len(next(iter(columns.values()))) if columns else None


INLINE_ROWS = 64  # an in-server graph scores this many rows on the event loop itself


class LocalModel:
    def __init__(self, scorer: Scorer, seconds: float, inline: bool = False) -> None:
        self.inline = inline  # a few rows cost microseconds: no hop to a thread
        self.scorer = scorer
        self.model = scorer.model
        self.classes = scorer.classes
        self.feature_names = getattr(scorer.model, "feature_names", None)
        self.warmup_error = scorer.warmup_error
        self.seconds = seconds

    def predict(self, data: Any) -> Any:
        return self.model.predict(data)

    def predict_proba(self, data: Any) -> Any | None:
        return self.model.predict_proba(data)

    def score(self, data: Columns | pd.DataFrame) -> Output:
        frame = self.scorer.frame(data) if isinstance(data, dict) else data
        return self.scorer.score(frame)

    async def ascore(self, columns: Columns) -> Output:
        if self.inline and (rows_of(columns) or 0) <= INLINE_ROWS:
            return self.score(columns)
        return await asyncio.to_thread(self.score, columns)

    def explain(self, columns: Columns, reference: dict[str, Any] | None) -> Explanation:
        from modelyard.runtimes.explain import explain

        return explain(self.scorer, columns, reference)

    async def aexplain(self, columns: Columns, reference: dict[str, Any] | None) -> Explanation:
        return await asyncio.to_thread(self.explain, columns, reference)

    def compile(self, flavor: str, signature: Signature | None) -> list[tuple[str, bytes]]:
        from modelyard.flavors.convert import candidates

        return candidates(self.model, flavor, signature)


def local_model(
    load: Any, manifest: Manifest, warmup: Columns | None, inline: bool = False
) -> LocalModel:
    """``load()``'s model, ready to score in this process (warmed up on ``warmup``)."""
    import time

    from modelyard.runtimes.scorer import Scorer

    started = time.perf_counter()
    scorer = Scorer(load(), manifest.signature)
    if warmup is not None:
        scorer.warm_up(scorer.frame(warmup))
    return LocalModel(scorer, time.perf_counter() - started, inline)


def in_server(manifest: Manifest) -> bool:
    """A self-contained ONNX graph (its one file) runs in the server worker itself: ONNX
    Runtime executes only its own operators (no custom-operator library is registered),
    and loaded from bytes it reads no file. That saves a model call the hop to a model
    worker and back, two wake-ups across CPUs (docs/runtimes.md)."""
    return manifest.flavor == "onnx" and set(manifest.files) == {manifest.entrypoint}
