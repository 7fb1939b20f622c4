"""Batch scoring of files with a deployment's model: chunked, checked, resumable by nobody.

Rows are read in chunks (CSV, Parquet, JSON lines or a JSON array of records), checked
against the variant's signature with the same rules as online scoring (bad rows go to an
error file with their reason), scored with the same ``Scorer``, and written next to their
inputs: ``prediction``, one ``probability_<class>`` per class, the top factors when asked
(``factor_1``, ``contribution_1``, …, ``explain_base``), ``model_version``. The output
appears only when the job succeeds; past ``max_error_rate`` the job stops and removes it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelyard.domain.errors import InvalidInput
from modelyard.runtimes.scorer import Output
from modelyard.serving.schema import Columns, InputSchema

if TYPE_CHECKING:
    from modelyard.domain.deployments import BatchTarget
    from modelyard.domain.entities import ModelVersion

CHUNK_ROWS = 100_000
FORMATS = (".csv", ".parquet", ".json", ".jsonl")
Score = Callable[[pd.DataFrame], Output]
Progress = Callable[[int], None]
#: Told of each scored chunk: what the model was given (its index: the rows' positions in
#: the input), what it answered, and the rows' key columns as text.
Scored = Callable[[pd.DataFrame, Output, Columns], None]


@dataclass(frozen=True, slots=True)
class BatchResult:
    rows: int
    scored: int
    rejected: int
    output: Path
    errors: Path | None
    model_version: str


def file_format(path: Path, what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInput(f"{what} {path.name!r}: use a .csv, .parquet, .json or .jsonl file")
    return suffix


def count_rows(path: Path) -> int | None:
    """Rows in the input when cheap to know (Parquet metadata), for the progress bar."""
    if path.suffix.lower() == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    return None


def read_chunks(
    path: Path, rows: int = CHUNK_ROWS, text: tuple[str, ...] = ()
) -> Iterator[pd.DataFrame]:
    """``path`` in frames of ``rows``; the ``text`` columns of a CSV are read as text (a
    key such as ``00123`` stays what it is)."""
    if not path.is_file():
        raise InvalidInput(f"input file {str(path)!r} does not exist")
    kind = file_format(path, "input")
    try:
        if kind == ".parquet":
            for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
                yield batch.to_pandas()
        elif kind == ".csv":
            yield from pd.read_csv(path, chunksize=rows, dtype=dict.fromkeys(text, str))
        elif kind == ".jsonl":
            yield from pd.read_json(path, lines=True, chunksize=rows, precise_float=True)
        else:
            records = json.loads(path.read_text())
            if not isinstance(records, list):
                raise InvalidInput("a .json input must hold an array of records")
            frame = pd.DataFrame.from_records(records)
            for start in range(0, len(frame), rows):
                yield frame.iloc[start : start + rows]
    except (ValueError, pa.ArrowException, json.JSONDecodeError, UnicodeDecodeError) as e:
        if isinstance(e, InvalidInput):
            raise
        raise InvalidInput(f"cannot read {path.name}: {str(e).splitlines()[0][:200]}") from None


class _Writer:
    """Appends result chunks to a temporary file; ``commit`` moves it into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kind = file_format(path, "output")
        self.tmp = path.with_name(f".{path.name}.partial")
        self._parquet: pq.ParquetWriter | None = None
        self._first = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == ".parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema)
            self._parquet.write_table(table)
        elif self.kind == ".csv":
            frame.to_csv(
                self.tmp, mode="w" if self._first else "a", header=self._first, index=False
            )
        elif self.kind == ".jsonl":  # orjson: floats round-trip exactly (pandas rounds)
            with self.tmp.open("ab" if not self._first else "wb") as f:
                f.writelines(orjson.dumps(r) + b"\n" for r in _records(frame))
        else:  # one JSON array, written piecewise
            with self.tmp.open("ab" if not self._first else "wb") as f:
                body = b",".join(orjson.dumps(r) for r in _records(frame))
                f.write((b"[" if self._first else b",") + body)
        self._first = False

    def commit(self) -> None:
        self.close()
        if self._first:  # nothing scored: an empty result
            self.tmp.write_text("[]" if self.kind == ".json" else "")
        elif self.kind == ".json":
            with self.tmp.open("a") as f:
                f.write("]")
        os.replace(self.tmp, self.path)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def discard(self) -> None:
        self.close()
        self.tmp.unlink(missing_ok=True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    plain = frame.astype(object).where(frame.notna(), None)
    return plain.to_dict("records")  # type: ignore[no-any-return]


def answered(
    rows: pd.DataFrame, result: Output, classes: list[Any] | None, model_version: str
) -> pd.DataFrame:
    """``rows`` with what the model answered: ``prediction``, ``probability_<class>`` per
    class, ``model_version`` (every batch engine writes this shape)."""
    out = rows.copy()
    out["prediction"] = result.predictions
    if result.probabilities is not None and classes is not None:
        for j, label in enumerate(classes):
            out[f"probability_{label}"] = result.probabilities[:, j]
    if result.factors is not None:
        from modelyard.serving.protocols import factor_columns

        for name, values in factor_columns(result.factors).items():
            out[name] = values
    out["model_version"] = model_version
    return out


def score_file(
    source: Path,
    output: Path,
    *,
    schema: InputSchema,
    score: Score,
    classes: list[Any] | None,
    model_version: str,
    max_error_rate: float = 0.0,
    progress: Progress | None = None,
    on_scored: Scored | None = None,
) -> BatchResult:
    """Score ``source`` into ``output``; rejected rows go to ``<output>.errors.csv``."""
    if not 0 <= max_error_rate <= 1:
        raise InvalidInput("the error threshold must be between 0 and 1")
    if output.resolve() == source.resolve():
        raise InvalidInput("the output file must differ from the input file")
    writer = _Writer(output)
    errors_path = output.with_name(output.name + ".errors.csv")
    errors_tmp = errors_path.with_name(f".{errors_path.name}.partial")
    total = scored = rejected = 0
    try:
        for raw in read_chunks(source, text=schema.keys):
            chunk = raw.set_axis(pd.RangeIndex(total, total + len(raw)), axis=0)
            good, reasons = schema.frame(chunk)
            if len(reasons):
                bad = chunk.loc[reasons.index].copy()
                bad.insert(0, "error", reasons.to_numpy())
                bad.insert(0, "row", reasons.index)
                bad.to_csv(
                    errors_tmp, mode="a" if rejected else "w", header=not rejected, index=False
                )
                rejected += len(reasons)
            total += len(chunk)
            if rejected > max_error_rate * total and rejected > 0:
                raise InvalidInput(
                    f"stopped after {total} rows: {rejected} failed validation, more than the "
                    f"allowed {max_error_rate:.2%} (reasons in {errors_path.name})",
                    rejected=rejected,
                    rows=total,
                )
            if len(good):
                result = score(good)
                writer.write(answered(chunk.loc[good.index], result, classes, model_version))
                if on_scored is not None:
                    rows = chunk.loc[good.index]
                    keys = {k: rows[k].tolist() for k in schema.keys if k in rows.columns}
                    on_scored(good, result, schema.key_values(keys, len(rows)))
                scored += len(good)
            if progress is not None:
                progress(len(chunk))
        writer.commit()
    except BaseException:
        writer.discard()
        if errors_tmp.exists():
            os.replace(errors_tmp, errors_path)  # keep the reasons of a stopped job
        raise
    if rejected:
        os.replace(errors_tmp, errors_path)
    else:
        errors_path.unlink(missing_ok=True)
    return BatchResult(
        total, scored, rejected, output, errors_path if rejected else None, model_version
    )


def score_target(
    target: BatchTarget,
    version: ModelVersion,
    source: Path,
    output: Path,
    *,
    score: Score,
    max_error_rate: float = 0.0,
    progress: Progress | None = None,
    on_scored: Scored | None = None,
) -> BatchResult:
    """``score_file`` with what a deployment's variant defines: its signature and serving
    options check the rows, its classes name the probability columns (the SDK's
    ``predict_file`` and the server's batch jobs both score this way)."""
    outputs = version.signature.get("outputs", {}) if version.signature else {}
    return score_file(
        source,
        output,
        schema=InputSchema(version.signature, target.deployment.revision.options),
        score=score,
        classes=outputs.get("classes"),
        model_version=target.variant.name,
        max_error_rate=max_error_rate,
        progress=progress,
        on_scored=on_scored,
    )
