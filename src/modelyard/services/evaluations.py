"""Evaluations: a version scored on a dataset version, its metrics stored with both.

The dataset must hold the model's input columns and a label column (``label=``, else a
column named ``label``, else the one column that is not an input). Rows without a label
are left out. The evaluation is recorded in the version's lineage (role ``evaluation``)
and audited (``evaluation.created``). It stores global importance too: each input's mean
absolute contribution over up to ``IMPORTANCE_ROWS`` rows (``runtimes.explain``), when
the model can be explained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.errors import InvalidInput, NotFound
from modelyard.domain.promotions import Comparison, Evaluation
from modelyard.domain.reports import Importance
from modelyard.monitoring import metrics
from modelyard.runtimes.explain import reference_row
from modelyard.runtimes.host import Model, ModelHost
from modelyard.runtimes.process import failure_kind
from modelyard.services import lookup
from modelyard.services.auth import require
from modelyard.services.datasets import DatasetService, require_columns
from modelyard.services.registry import RegistryService
from modelyard.store.unit import Store

IMPORTANCE_ROWS = 200  # rows explained for an evaluation's global importance
if TYPE_CHECKING:
    import pandas as pd

SCALARS = (
    "accuracy",
    "naive_accuracy",
    "f1_macro",
    "roc_auc_ovr",
    "log_loss",
    "mae",
    "rmse",
    "r2",
)


class EvaluationService:
    def __init__(
        self,
        store: Store,
        registry: RegistryService,
        datasets: DatasetService,
        models: ModelHost,
        principal: Principal,
    ) -> None:
        self.principal = principal
        self.models = models
        self.store = store
        self.registry = registry
        self.datasets = datasets

    def evaluate(
        self,
        ref: str,
        dataset: str,
        *,
        label: str | None = None,
        environment: str | None = None,
    ) -> Evaluation:
        version = self.registry.get_version(ref, environment=environment)
        require(self.principal, Permission.REGISTER, version.environment)
        data = self.datasets.get_dataset(
            dataset, environment=None if "/" in dataset else version.environment
        )
        frame = self.datasets.read_dataset(data.ref).to_pandas()
        inputs = [c["name"] for c in (version.signature or {}).get("inputs", [])]
        label = label or _label_column(list(frame.columns), inputs, data.ref)
        if label not in frame.columns:
            raise InvalidInput(f"dataset {data.ref} has no column {label!r}", column=label)
        require_columns(frame, inputs, data.ref)
        frame = frame[frame[label].notna()]
        if frame.empty:
            raise InvalidInput(f"dataset {data.ref} has no rows with a {label!r} value")
        features = frame[inputs] if inputs else frame.drop(columns=[label])
        folder, manifest = self.registry.package_folder(version.package_digest)
        with self.store.read() as tx:
            found_id = lookup.version(tx, self.registry.ref(version.ref)).version_id
            reference = reference_row(tx.datasets.baseline(found_id), list(features.columns))
        with self.models.job(folder, manifest) as model:  # the model's code runs there
            try:
                predicted = np.asarray(model.predict(features))
                wants = model.classes is not None
                probabilities = model.predict_proba(features) if wants else None
            except Exception as e:  # the model's own failure on this data: the caller's data
                raise InvalidInput(
                    f"{version.ref} could not score dataset {data.ref}: {failure_kind(e)}"
                ) from None
            importance = _importance(model, features, reference)
        if model.classes is not None or predicted.dtype.kind not in "fc":
            found = metrics.classification(frame[label], predicted, probabilities, model.classes)
        else:
            actual = np.asarray(frame[label], dtype=np.float64)
            result = metrics.regression(actual, predicted)
            if result is None:
                raise InvalidInput(f"dataset {data.ref} has no numeric {label!r} values")
            found = result
        scalars = {k: float(found[k]) for k in SCALARS if k in found}
        details = {k: v for k, v in found.items() if k not in SCALARS}
        if importance is not None:
            details["importance"] = importance
        with self.store.write() as tx:
            version_id = lookup.version(tx, self.registry.ref(version.ref)).version_id
            evaluation_id = tx.evaluations.add(
                version_id,
                dataset=data.ref,
                label=label,
                kind=str(found["kind"]),
                rows=int(found["rows"]),
                metrics=scalars,
                details=details,
                created_by=self.principal.name,
            )
            tx.evaluations.add_to_lineage(version_id, data.ref)
            tx.audit.append(
                actor=self.principal.name,
                action="evaluation.created",
                subject=f"model_version:{version.ref}",
                after={"evaluation_id": evaluation_id, "dataset": data.ref, "metrics": scalars},
            )
            evaluation = tx.evaluations.get(evaluation_id)
        assert evaluation is not None
        return evaluation

    def list_evaluations(
        self, ref: str | None = None, *, environment: str | None = None
    ) -> list[Evaluation]:
        version = None if ref is None else self.registry.get_version(ref, environment=environment)
        with self.store.read() as tx:
            version_id = (
                None
                if version is None
                else lookup.version(tx, self.registry.ref(version.ref)).version_id
            )
            found = tx.evaluations.list_evaluations(version_id)
        return [e for e in found if self.principal.can(Permission.READ, _environment(e))]

    def get_evaluation(self, evaluation_id: int) -> Evaluation:
        with self.store.read() as tx:
            found = tx.evaluations.get(evaluation_id)
        if found is None:
            raise NotFound(f"evaluation {evaluation_id} does not exist")
        require(self.principal, Permission.READ, _environment(found))
        return found

    def compare_versions(self, refs: list[str], *, dataset: str | None = None) -> Comparison:
        """The newest evaluation of each version (on ``dataset`` when given, else on the
        newest dataset they were all evaluated on), metrics side by side."""
        if len(refs) < 2:
            raise InvalidInput("compare needs at least two versions")
        found = {r: self.list_evaluations(r) for r in refs}
        names = [self.registry.get_version(r).ref for r in refs]
        if dataset is None:
            common = set.intersection(*({e.dataset for e in v} for v in found.values()))
            if not common:
                raise InvalidInput(
                    "these versions share no evaluation dataset: evaluate them on the same "
                    "dataset, or name one with --dataset"
                )
            newest = {
                d: max(e.id for v in found.values() for e in v if e.dataset == d) for d in common
            }
            dataset = max(newest, key=newest.__getitem__)
        chosen: dict[str, Evaluation] = {}
        for ref, name in zip(refs, names, strict=True):
            matching = [e for e in found[ref] if same_dataset(e.dataset, dataset)]
            if not matching:
                raise InvalidInput(f"{name} has no evaluation on {dataset}")
            chosen[name] = matching[-1]
        metric_names = sorted({m for e in chosen.values() for m in e.metrics})
        return {
            "dataset": dataset,
            "versions": list(chosen),
            "metrics": {m: {v: e.metrics.get(m) for v, e in chosen.items()} for m in metric_names},
            "evaluations": chosen,
        }


def same_dataset(found: str, wanted: str) -> bool:
    """Does evaluation dataset ``found`` (``env/name:ver``) match ``wanted``
    (``[env/]name[:ver]``)?"""
    if ":" in wanted:
        return found == wanted or found.endswith(f"/{wanted}")
    base = found.rsplit(":", 1)[0]
    return base == wanted or base.endswith(f"/{wanted}")


def _environment(evaluation: Evaluation) -> str:
    return evaluation.version.split("/", 1)[0]


def _label_column(columns: list[str], inputs: list[str], ref: str) -> str:
    if "label" in columns:
        return "label"
    rest = [c for c in columns if c not in inputs]
    if len(rest) == 1:
        return rest[0]
    raise InvalidInput(
        f"which column of {ref} is the label? name it with --label (candidates: "
        f"{', '.join(rest[:8]) or 'none'})"
    )


def _importance(
    model: Model, features: pd.DataFrame, reference: dict[str, Any] | None
) -> Importance | None:
    """Each input's mean absolute contribution over a sample of ``features``; None when
    the model cannot be explained (no baseline to start from, no probabilities)."""
    sample = features.sample(min(len(features), IMPORTANCE_ROWS), random_state=0)
    columns = {str(c): sample[c].to_numpy() for c in sample.columns}
    try:
        found = model.explain(columns, reference)
    except Exception:  # importance is extra: the metrics stand without it (CannotExplain…)
        return None
    means = np.abs(found.contributions).mean(axis=0)
    ranked = sorted(zip(found.features, means.tolist(), strict=True), key=lambda kv: -kv[1])
    return {
        "method": found.method,
        "output": found.output,
        "rows": len(sample),
        "features": dict(ranked),
    }
