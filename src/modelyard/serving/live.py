"""What a server worker serves of one deployment: its live and shadow variants, each with
its model (wherever it runs), input schema and batcher, and how a request picks one."""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from modelyard.domain.deployments import ServingOptions, Variant
from modelyard.domain.errors import InvalidInput, ModelFailed
from modelyard.monitoring.collector import Record
from modelyard.runtimes.explain import CannotExplain
from modelyard.runtimes.host import Model
from modelyard.runtimes.process import failure_kind
from modelyard.runtimes.scorer import Output
from modelyard.serving.batcher import Batcher
from modelyard.serving.metrics import VariantSeries
from modelyard.serving.schema import InputSchema

VARIANT_HEADER = "modelyard-variant"


@dataclass(slots=True)
class LiveVariant:
    variant: Variant
    model: Model
    schema: InputSchema
    batcher: Batcher
    series: VariantSeries

    @property
    def name(self) -> str:
        return self.variant.name


@dataclass(slots=True)
class LiveDeployment:
    name: str
    environment: str
    revision: int
    options: ServingOptions
    live: list[LiveVariant]
    shadows: list[LiveVariant]
    _cumulative: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        total = 0.0
        for v in self.live:
            total += v.variant.weight
            self._cumulative.append(total)

    def choose(self, pin: str | None) -> LiveVariant:
        if pin:
            for v in (*self.live, *self.shadows):
                if v.name == pin:
                    return v
            names = ", ".join(v.name for v in (*self.live, *self.shadows))
            raise InvalidInput(
                f"{VARIANT_HEADER}: {pin!r} is not served by {self.name!r} (variants: {names})",
                variant=pin,
            )
        if len(self.live) == 1:
            return self.live[0]
        point = random.random() * self._cumulative[-1]
        for v, edge in zip(self.live, self._cumulative, strict=True):
            if point < edge:
                return v
        return self.live[-1]

    def pick_shadows(self) -> list[LiveVariant]:
        return [s for s in self.shadows if random.random() * 100 < s.variant.weight]

    @property
    def digests(self) -> set[str]:
        return {v.variant.package_digest for v in (*self.live, *self.shadows)}


@dataclass(frozen=True, slots=True)
class Scored:
    variant: LiveVariant
    output: Output
    keys: dict[str, np.ndarray]  # the request's key columns, echoed in the answer


def record(
    live: LiveDeployment,
    variant: LiveVariant,
    columns: dict[str, np.ndarray],
    keys: dict[str, np.ndarray],
    output: Output,
    request_id: str,
    started: float,
) -> Record:
    """What the collector keeps of one scored request (``started``: ``perf_counter``)."""
    return Record(
        request_id=request_id,
        time=datetime.now(UTC),
        deployment=live.name,
        revision=live.revision,
        variant=variant.name,
        role=str(variant.variant.role),
        status=200,
        latency_ms=(time.perf_counter() - started) * 1000,
        inputs=columns,
        predictions=output.predictions,
        probabilities=output.probabilities,
        rows=len(output.predictions),
        keys=keys,
    )


async def explained(
    variant: LiveVariant, columns: dict[str, np.ndarray], output: Output, top: int
) -> Output:
    """``output`` with the ``top`` factors of each scored row (``runtimes.explain``),
    computed where the variant's model runs, from the reference its revision recorded."""
    try:
        found = await variant.model.aexplain(columns, variant.variant.explain_reference)
    except CannotExplain as e:
        raise InvalidInput(
            f"{variant.name} cannot be explained: {e}", variant=variant.name
        ) from None
    except Exception as e:  # the model raised while explaining
        raise ModelFailed(f"the model failed to explain the input ({failure_kind(e)})") from None
    return dataclasses.replace(output, factors=found.top(top))
