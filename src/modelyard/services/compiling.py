"""``models compile``: a version converted to ONNX, verified against its source, and
registered as the next version of the same model with lineage ``compiled_from``.

1. The source loads in a model worker of its own environment, which converts it
   (``flavors.convert``: one candidate per input precision).
2. Rows to compare on: synthetic rows of the signature's types and categories (the
   input example is not stored), the version's training dataset when it names one, and
   the dataset version given with ``--dataset`` (at most ``MAX_ROWS`` of each).
3. Each candidate, packaged as an ONNX version with the source's signature, loads in a
   model worker; its answers are compared with the source's: probabilities within
   ``TOLERANCE``, labels identical except on rows whose two most probable classes are
   within ``TOLERANCE`` of each other (a tie either may break); a regressor's
   predictions within ``TOLERANCE`` (relative above 1). The first candidate that
   passes is registered, the comparison in its ``params``; if none passes, nothing is.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelyard.domain.auth import Permission
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import InvalidInput, ModelyardError
from modelyard.flavors.base import Saved
from modelyard.flavors.onnx import ENTRYPOINT
from modelyard.flavors.onnx import REQUIREMENTS as ONNX_REQUIREMENTS
from modelyard.flavors.package import Manifest, write_manifest
from modelyard.flavors.staging import StagedPackage
from modelyard.runtimes.process import ModelRaised, failure_kind
from modelyard.services.auth import require
from modelyard.services.datasets import require_columns
from modelyard.services.metadata import draft

if TYPE_CHECKING:
    from modelyard.services.registry import RegistryService

TOLERANCE = 1e-5
MAX_ROWS = 100_000
SYNTHETIC_ROWS = 512


@dataclass(frozen=True, slots=True)
class Comparison:
    rows: int
    max_difference: float  # probabilities (classifiers) or predictions (regressors)
    labels_at_ties: int  # labels that differ where the source's top two are within TOLERANCE
    failure: str | None  # why it does not verify

    def params(self, precision: str) -> dict[str, str]:
        return {
            "compiled.rows": str(self.rows),
            "compiled.max_difference": f"{self.max_difference:.3g}",
            "compiled.labels_differing_at_ties": str(self.labels_at_ties),
            "compiled.input_precision": precision,
        }


def compare(
    expected: tuple[Any, Any], found: tuple[Any, Any], classes: list[Any] | None
) -> Comparison:
    """The rule of the module docstring."""
    labels, proba = np.asarray(expected[0]), expected[1]
    rows = len(labels)
    if proba is None or classes is None:
        mine, theirs = np.asarray(found[0], dtype=np.float64), labels.astype(np.float64)
        scale = np.maximum(1.0, np.abs(theirs))
        worst = float(np.max(np.abs(mine - theirs) / scale)) if rows else 0.0
        why = None if worst <= TOLERANCE else f"predictions differ by up to {worst:.3g}"
        return Comparison(rows, worst, 0, why)
    if found[1] is None:
        return Comparison(rows, float("inf"), 0, "the compiled model gives no probabilities")
    p, q = np.asarray(proba, np.float64), np.asarray(found[1], np.float64)
    if p.shape != q.shape:
        return Comparison(rows, float("inf"), 0, f"probabilities of shape {q.shape}, not {p.shape}")
    worst = float(np.max(np.abs(p - q))) if rows else 0.0
    top = np.sort(p, axis=1)
    tied = (top[:, -1] - top[:, -2] <= TOLERANCE) if p.shape[1] > 1 else np.zeros(rows, bool)
    differ = np.asarray(found[0]).astype(str) != labels.astype(str)
    at_ties, elsewhere = int(np.sum(differ & tied)), int(np.sum(differ & ~tied))
    if worst > TOLERANCE:
        failure: str | None = f"probabilities differ by up to {worst:.3g}"
    elif elsewhere:
        failure = f"{elsewhere} labels differ where the source is not tied"
    else:
        failure = None
    return Comparison(rows, worst, at_ties, failure)


def synthetic_rows(manifest: Manifest) -> pd.DataFrame:
    """Rows of the signature's types: numbers spread over several scales, every known
    category of a string column."""
    rng = np.random.default_rng(0)
    data: dict[str, Any] = {}
    for column in (manifest.signature or {}).get("inputs") or []:
        kind, name = column.get("type"), column["name"]
        if kind == "float":
            data[name] = rng.choice([1.0, 10.0, 1000.0], SYNTHETIC_ROWS) * rng.random(
                SYNTHETIC_ROWS
            )
        elif kind == "integer":
            data[name] = rng.integers(0, 1000, SYNTHETIC_ROWS)
        else:
            known = sorted(column.get("categories") or ["x"])
            data[name] = np.array([known[i % len(known)] for i in range(SYNTHETIC_ROWS)], object)
    return pd.DataFrame(data)


def compile_version(
    registry: RegistryService,
    ref: str,
    *,
    to: str = "onnx",
    dataset: str | None = None,
    environment: str | None = None,
) -> ModelVersion:
    if to != "onnx":
        raise InvalidInput(f"cannot compile to {to!r}: the one target is onnx")
    version, _, manifest = registry.version_package(ref, environment=environment)
    require(registry.principal, Permission.REGISTER, version.environment)
    if manifest.flavor in ("onnx", "ensemble"):
        raise InvalidInput(
            f"{version.ref} is an {manifest.flavor} version: there is nothing to compile"
        )
    rows = _rows(registry, version, manifest, dataset)
    models = registry.versions.models
    folder, _ = registry.package_folder(version.package_digest)
    with models.job(folder, manifest) as source:
        converted = source.compile(manifest.flavor, manifest.signature)
        expected = (source.predict(rows), source.predict_proba(rows))
        classes = source.classes
    failures = []
    for precision, data in converted:
        with _package(registry, manifest, data) as staged:
            try:
                with models.job(staged.folder, staged.manifest) as compiled:
                    found = (compiled.predict(rows), compiled.predict_proba(rows))
            except (ModelyardError, ModelRaised) as e:
                why = e.message if isinstance(e, ModelyardError) else failure_kind(e)
                failures.append(f"{precision} precision: the compiled model does not load ({why})")
                continue
            result = compare(expected, found, classes)
            if result.failure is not None:
                failures.append(f"{precision} precision: {result.failure}")
                continue
            metadata = draft(  # its training data too: its baseline, reference of
                params=result.params(precision),  # monitoring and of top factors
                description=f"{version.ref} compiled to ONNX",
                compiled_from=version.ref,
                datasets=list(version.lineage.datasets[:1]),
            )
            name = f"{version.environment}/{version.name}"
            return registry.versions.add(name, staged, metadata, None)
    raise InvalidInput(f"the compiled model does not verify: {'; '.join(failures)}")


def _rows(
    registry: RegistryService, version: ModelVersion, manifest: Manifest, dataset: str | None
) -> pd.DataFrame:
    inputs = [c["name"] for c in (manifest.signature or {}).get("inputs") or []]
    parts = [synthetic_rows(manifest)]
    named = [dataset] if dataset else []
    named += [d for d in version.lineage.datasets[:1] if d not in named]
    datasets = registry.versions.datasets
    for ref in named:
        found = datasets.get_dataset(ref, environment=version.environment)
        frame = datasets.read_dataset(found.ref).to_pandas()
        require_columns(frame, inputs, found.ref)
        parts.append(frame[inputs].head(MAX_ROWS))
    return pd.concat(parts, ignore_index=True)[inputs]


@contextlib.contextmanager
def _package(registry: RegistryService, source: Manifest, data: bytes) -> Iterator[StagedPackage]:
    """An ONNX package of ``data`` with the source's signature, staged in a temporary
    folder."""
    packager = registry.versions.packager
    packager.work_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="compiled-", dir=packager.work_dir))
    try:
        (folder / ENTRYPOINT).write_bytes(data)
        pins = packager.requirements.pin(Saved(ENTRYPOINT, distributions=ONNX_REQUIREMENTS))
        manifest = write_manifest(
            folder,
            flavor="onnx",
            entrypoint=ENTRYPOINT,
            signature=source.signature,
            requirements=pins,
        )
        yield StagedPackage(folder, manifest, manifest.to_bytes())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
