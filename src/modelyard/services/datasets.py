"""Datasets: register a CSV or Parquet file (or a DataFrame) as a numbered, immutable
version, with its schema, row count and profile; look versions up; read them back; and
build a model version's baseline (the profile of its training data and of its predictions
on that data).

Order of a registration, as for models: the file is read and profiled first (a file that
does not parse changes nothing), stored in the artifact store by its content digest, and
only then does one transaction number the version, record it and append the audit event.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa

from modelyard.artifacts.store import ArtifactStore, VerifyingReader
from modelyard.domain.auth import Permission, Principal
from modelyard.domain.clock import utcnow
from modelyard.domain.datasets import (
    DatasetRef,
    DatasetVersion,
    parse_dataset_name,
    parse_dataset_ref,
)
from modelyard.domain.errors import InvalidInput, NotFound
from modelyard.domain.reports import Baseline, Signature
from modelyard.flavors.base import LoadedModel
from modelyard.monitoring.profile import CHUNK_ROWS, Profile, profile_table, summarize
from modelyard.monitoring.tables import columns_of, format_of, read_table
from modelyard.runtimes.process import failure_kind
from modelyard.services import lookup
from modelyard.services.auth import require
from modelyard.store.unit import Store, Tx

if TYPE_CHECKING:
    import pandas as pd

PREDICTION = "prediction"


class DatasetService:
    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        work_dir: Path,
        default_environment: str,
        principal: Principal,
    ) -> None:
        self.principal = principal
        self.store = store
        self.artifacts = artifacts
        self.work_dir = work_dir
        self.default_environment = default_environment

    def ref(self, text: str, environment: str | None = None) -> DatasetRef:
        return parse_dataset_ref(text, environment, self.default_environment)

    # -- registration ---------------------------------------------------------------------
    def register_dataset(
        self,
        name: str,
        source: Path | pd.DataFrame | pa.Table,
        *,
        environment: str | None = None,
        format: str | None = None,
        description: str = "",
        source_uri: str | None = None,
        shown: str | None = None,
    ) -> DatasetVersion:
        """``shown``: how errors name the file (an upload's original name)."""
        target = parse_dataset_name(name, environment, self.default_environment)
        require(self.principal, Permission.REGISTER, target.environment)
        if len(description) > 10_000:
            raise InvalidInput("description is longer than 10,000 characters")
        with self.store.read() as tx:
            lookup.check_environment(tx, target.environment)
        with self._as_file(source, format) as (path, fmt):
            label = shown or path.name
            table = read_table(path, fmt, label)
            if table.num_columns == 0 or table.num_rows == 0:
                raise InvalidInput(f"{label!r} has no rows: a dataset needs at least one")
            profile = profile_table(table)
            stored = self.artifacts.put_file(path)
        origin = source_uri or (str(source) if isinstance(source, Path) else "dataframe")
        with self.store.write() as tx:
            lookup.check_environment(tx, target.environment)
            dataset_id, _ = tx.datasets.get_or_create(
                target.environment, target.name, self.principal.name
            )
            number = tx.datasets.allocate_version(dataset_id)
            tx.datasets.insert_version(
                dataset_id,
                number,
                {
                    "digest": stored.digest,
                    "format": fmt,
                    "size_bytes": stored.size,
                    "rows": table.num_rows,
                    "columns": columns_of(table),
                    "profile": json.dumps(profile.to_dict()),
                    "source": origin,
                    "description": description,
                    "created_by": self.principal.name,
                    "created_at": utcnow(),
                },
            )
            tx.audit.append(
                actor=self.principal.name,
                action="dataset.registered",
                subject=f"dataset:{target.environment}/{target.name}:{number}",
                after={"digest": stored.digest, "rows": table.num_rows, "format": fmt},
            )
        return self.get_dataset(f"{target.environment}/{target.name}:{number}")

    @contextlib.contextmanager
    def _as_file(
        self, source: Path | pd.DataFrame | pa.Table, fmt: str | None
    ) -> Iterator[tuple[Path, str]]:
        if isinstance(source, str | Path):
            path = Path(source)
            if not path.is_file():
                raise InvalidInput(f"no such file: {str(path)!r}")
            yield path, format_of(path, fmt)
            return
        import pyarrow.parquet as pq

        scratch = self._scratch_path(".parquet")
        try:
            try:
                table = (
                    source
                    if isinstance(source, pa.Table)
                    else pa.Table.from_pandas(source, preserve_index=False)
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
                raise InvalidInput(f"cannot store this DataFrame: {e}") from None
            pq.write_table(table, scratch)
            yield scratch, "parquet"
        finally:
            scratch.unlink(missing_ok=True)

    def _scratch_path(self, suffix: str) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self.work_dir / f"dataset-{uuid.uuid4().hex}{suffix}"

    def register_stream(
        self,
        name: str,
        stream: IO[bytes],
        *,
        format: str,
        environment: str | None = None,
        description: str = "",
        source_uri: str | None = None,
    ) -> DatasetVersion:
        """A remote registration: the uploaded bytes, spooled to a scratch file."""
        target = self.ref(name, environment)
        require(self.principal, Permission.REGISTER, target.environment)
        format_of(Path("upload"), format)
        scratch = self._scratch_path(f".{format}")
        try:
            with open(scratch, "wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
            return self.register_dataset(
                name,
                scratch,
                environment=environment,
                format=format,
                description=description,
                source_uri=source_uri or "upload",
                shown=Path(source_uri).name if source_uri else f"upload.{format}",
            )
        finally:
            scratch.unlink(missing_ok=True)

    # -- safe copies ----------------------------------------------------------------------
    def snapshot(
        self,
        name: str,
        source: str,
        *,
        environment: str | None = None,
        drop: Iterable[str] = (),
        mask: Iterable[str] = (),
        description: str = "",
    ) -> DatasetVersion:
        """Copy dataset version ``source`` (e.g. ``production/invoices:7``) into
        ``environment`` (default: the default environment, the sandbox) with the columns in
        ``drop`` removed and those in ``mask`` replaced by keyed hashes."""
        found = self.get_dataset(source)
        return self.register_copy(
            name,
            self._read(found),
            environment=environment or self.default_environment,
            drop=drop,
            mask=mask,
            description=description or f"copy of {found.ref}",
            source_uri=f"dataset:{found.ref}",
        )

    def register_copy(
        self,
        name: str,
        table: pa.Table,
        *,
        environment: str,
        drop: Iterable[str] = (),
        mask: Iterable[str] = (),
        description: str,
        source_uri: str,
    ) -> DatasetVersion:
        drop, mask = list(drop), list(mask)
        require(self.principal, Permission.REGISTER, environment)
        for column in [*drop, *mask]:
            if column not in table.column_names:
                raise InvalidInput(
                    f"no column {column!r} to drop or mask (columns: "
                    f"{', '.join(table.column_names[:12])})",
                    column=column,
                )
        both = set(drop) & set(mask)
        if both:
            raise InvalidInput(f"column {sorted(both)[0]!r} is both dropped and masked")
        table = table.drop_columns(drop)
        if mask:
            key = self._mask_key()
            for column in mask:
                index = table.column_names.index(column)
                table = table.set_column(index, column, masked(table.column(column), key))
        if table.num_columns == 0:
            raise InvalidInput("every column would be dropped")
        rule = (f"; dropped {', '.join(drop)}" if drop else "") + (
            f"; masked {', '.join(mask)}" if mask else ""
        )
        return self.register_dataset(
            name,
            table,
            environment=environment,
            description=description + rule,
            source_uri=source_uri,
        )

    def _mask_key(self) -> bytes:
        """The home's secret for masking: the same value masks the same way in every copy
        (joins still work), and nobody without the key can test guesses against it."""
        path = self.work_dir.parent / "keys" / "mask.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(32))
        return path.read_bytes()

    # -- lookup ---------------------------------------------------------------------------
    def _find(self, tx: Tx, ref: DatasetRef) -> DatasetVersion:
        """A version by reference, its ``profile`` as stored."""
        lookup.check_environment(tx, ref.environment)
        dataset = tx.datasets.dataset_id(ref.environment, ref.name)
        if dataset is None:
            raise NotFound(f"dataset {ref.environment}/{ref.name} does not exist", dataset=str(ref))
        found = tx.datasets.version(dataset, ref.version)
        if found is None:
            raise NotFound(f"dataset version {ref} does not exist", dataset=str(ref))
        return found

    def _shown(self, tx: Tx, stored: DatasetVersion) -> DatasetVersion:
        """A version as callers see it: its profile summarised, the versions that use it."""
        used = tx.datasets.used_by([stored.ref])[stored.ref]
        # the store's version holds the whole profile (samples and all), shown summarised
        full = cast(dict[str, Any], stored.profile)
        return replace(stored, profile=summarize(full), used_by=tuple(used))

    def get_dataset(self, ref: str, *, environment: str | None = None) -> DatasetVersion:
        target = self.ref(ref, environment)
        require(self.principal, Permission.READ, target.environment)
        with self.store.read() as tx:
            return self._shown(tx, self._find(tx, target))

    def list_dataset_versions(
        self, name: str, *, environment: str | None = None
    ) -> list[DatasetVersion]:
        target = self.ref(name, environment)
        require(self.principal, Permission.READ, target.environment)
        with self.store.read() as tx:
            self._find(tx, DatasetRef(target.environment, target.name, None))
            dataset = tx.datasets.dataset_id(target.environment, target.name)
            assert dataset is not None
            return [self._shown(tx, v) for v in tx.datasets.versions(dataset)]

    def list_datasets(self, *, environment: str | None = None) -> list[DatasetVersion]:
        """The latest version of every dataset the caller may read."""
        with self.store.read() as tx:
            return [
                self._shown(tx, v)
                for v in tx.datasets.latest(environment)
                if self.principal.can(Permission.READ, v.environment)
            ]

    def resolve(self, tx: Tx, text: str, environment: str) -> str:
        """A lineage reference made exact (``env/name:version``), inside the caller's
        transaction; a dataset that does not exist is ``NotFound``."""
        return self._find(tx, self.ref(text, None if "/" in text else environment)).ref

    # -- content --------------------------------------------------------------------------
    def open(
        self, ref: str, *, environment: str | None = None
    ) -> tuple[DatasetVersion, VerifyingReader]:
        """The version and its stored file as a verifying stream (for downloads)."""
        version = self.get_dataset(ref, environment=environment)
        return version, self.artifacts.open(version.digest)

    def read_dataset(self, ref: str, *, environment: str | None = None) -> pa.Table:
        version = self.get_dataset(ref, environment=environment)
        return self._read(version)

    def _read(self, version: DatasetVersion) -> pa.Table:
        scratch = self._scratch_path(f".{version.format}")
        try:
            self.artifacts.get_file(version.digest, scratch)
            return read_table(scratch, version.format)
        finally:
            scratch.unlink(missing_ok=True)

    # -- baselines ------------------------------------------------------------------------
    def baseline(
        self, ref: str, model: LoadedModel, signature: Signature | None
    ) -> tuple[int, Baseline]:
        """The baseline of a model version trained on dataset ``ref`` (exact): the profile
        of the model's input columns and of its predictions on every row, in chunks."""
        with self.store.read() as tx:
            version = self._find(tx, self.ref(ref))
        table = self._read(version)
        wanted = [c["name"] for c in (signature or {}).get("inputs", [])]
        present = set(table.column_names)
        missing = [c for c in wanted if c not in present]
        if missing:
            raise InvalidInput(
                f"dataset {ref} lacks the model's input column(s) {', '.join(missing[:5])}",
                missing=missing,
            )
        inputs = wanted or table.column_names
        features = profile_table(table, inputs)
        predictions = Profile()
        for i, start in enumerate(range(0, table.num_rows, CHUNK_ROWS)):
            frame = table.slice(start, CHUNK_ROWS).select(inputs).to_pandas()
            part = Profile.of(prediction_frame(model, frame), seed=i)
            predictions = predictions.merge(part, seed=i) if predictions.features else part
        return table.num_rows, {
            "dataset": ref,
            "rows": table.num_rows,
            "features": features.to_dict()["features"],
            "predictions": predictions.to_dict()["features"],
        }


def masked(column: Any, key: bytes) -> pa.Array:
    """Each value replaced by ``h_`` + the first 20 hex digits of its HMAC-SHA256 under
    ``key``; nulls stay null. Computed once per distinct value."""
    import hmac

    import pyarrow.compute as pc

    text = pc.cast(column, pa.string())
    distinct = pc.unique(text).drop_null().to_pylist()
    mapping = {
        v: "h_" + hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:20] for v in distinct
    }
    return pa.array([None if v is None else mapping[v] for v in text.to_pylist()], pa.string())


def require_columns(frame: pd.DataFrame, columns: list[str], ref: str) -> None:
    """Refuse a dataset that lacks one of a model's input columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"dataset {ref} lacks the model's input column(s) {', '.join(missing[:5])}",
            missing=missing,
        )


def prediction_frame(model: LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions as one column: text labels for classifiers (so they are profiled as
    categories), numbers for regressors."""
    import pandas as pd

    try:
        values = np.asarray(model.predict(frame))
    except Exception as e:  # the model's own failure on the dataset: the caller's data
        raise InvalidInput(
            f"the model could not score the dataset to build its baseline: {failure_kind(e)}"
        ) from None
    if values.ndim > 1:
        values = values[:, 0]
    if model.classes is not None or values.dtype.kind not in "fiu":
        return pd.DataFrame({PREDICTION: values.astype(str)})
    return pd.DataFrame({PREDICTION: values.astype(np.float64)})
