"""The wire formats: each parses a body into columns of JSON values, and renders an answer.

- native:  ``{"inputs": [{col: v}, ...]}``, ``{"dataframe_split": {...}}`` or ``text/csv``
- mlflow:  ``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``
- v2:      the Open Inference Protocol, in ``serving/v2.py``
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from modelyard.domain.errors import InvalidInput, UnsupportedMediaType
from modelyard.runtimes.explain import Factors, explain_count
from modelyard.runtimes.scorer import Output

RawColumns = dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class Parsed:
    columns: RawColumns
    rows: int
    explain: int = 0  # top factors asked for each row (native protocol only)


def media_type(content_type: str | None) -> str:
    return (content_type or "application/json").split(";", 1)[0].strip().lower()


def load_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidInput(f"the body is not valid JSON: {e}") from None


# -- parsing ----------------------------------------------------------------------------
# A request is refused before any work per column when it names more columns than this:
# a million-column CSV header or JSON record held a worker for seconds and hundreds of MB.
MAX_COLUMNS = 10_000


def check_width(n: int, what: str) -> None:
    if n > MAX_COLUMNS:
        raise InvalidInput(f"{what} has {n} columns; a request takes at most {MAX_COLUMNS}")


def from_records(records: Any, what: str) -> Parsed:
    if not isinstance(records, list) or not records:
        raise InvalidInput(f"{what} must be a non-empty list of records")
    names: list[str] = []
    seen: set[str] = set()
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidInput(f"{what}[{i}] must be an object of column: value")
        check_width(len(record), f"{what}[{i}]")
        if len(seen) + len(record) > MAX_COLUMNS:  # new names only count
            check_width(len(seen | record.keys()), what)
        for key in record:
            if key not in seen:
                seen.add(key)
                names.append(key)
    columns = {name: [r.get(name) for r in records] for name in names}
    return Parsed(columns, len(records))


def from_split(split: Any, what: str = "dataframe_split") -> Parsed:
    if not isinstance(split, dict) or "columns" not in split or "data" not in split:
        raise InvalidInput(f"{what} must be an object with 'columns' and 'data'")
    names, data = split["columns"], split["data"]
    if not isinstance(names, list):
        raise InvalidInput(f"{what}.columns must be a list of column names")
    check_width(len(names), what)
    if not all(isinstance(n, str) for n in names):
        raise InvalidInput(f"{what}.columns must be a list of column names")
    if not isinstance(data, list) or not data:
        raise InvalidInput(f"{what}.data must be a non-empty list of rows")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(names):
            raise InvalidInput(f"{what}.data[{i}] must be a list of {len(names)} values")
    columns = {name: [row[j] for row in data] for j, name in enumerate(names)}
    return Parsed(columns, len(data))


def from_column_dict(inputs: dict[str, Any], what: str) -> Parsed:
    columns: RawColumns = {}
    lengths = set()
    check_width(len(inputs), what)
    for name, given in inputs.items():
        values = given if isinstance(given, list) else [given]
        columns[name] = values
        lengths.add(len(values))
    if len(lengths) != 1 or 0 in lengths:
        raise InvalidInput(f"{what}: every column needs the same, non-zero number of values")
    return Parsed(columns, lengths.pop())


def _json_or_csv(body: bytes, content_type: str | None) -> Parsed | Any:
    """A CSV body parsed, or a JSON body loaded (the caller reads its shape)."""
    kind = media_type(content_type)
    if kind == "text/csv":
        return parse_csv(body)
    if kind != "application/json":
        raise UnsupportedMediaType(
            f"unsupported media type {kind!r}: send application/json or text/csv"
        )
    return load_json(body)


def parse_native(body: bytes, content_type: str | None, explain: int = 0) -> Parsed:
    """A native request; ``explain``: the top factors the URL asks for (``?explain=N``),
    which an ``explain`` field of a JSON body may set instead."""
    payload = _json_or_csv(body, content_type)
    if isinstance(payload, Parsed):
        return _explained(payload, explain)
    if isinstance(payload, dict) and "explain" in payload:
        explain = explain_count(payload["explain"])
    if isinstance(payload, dict) and "inputs" in payload:
        parsed = from_records(payload["inputs"], "inputs")
    elif isinstance(payload, dict) and "dataframe_split" in payload:
        parsed = from_split(payload["dataframe_split"])
    else:
        raise InvalidInput('expected {"inputs": [records]} or {"dataframe_split": {...}}')
    return _explained(parsed, explain)


#: rows one request may ask top factors for (each costs tens of model rows): a file goes
#: through ``modelyard predict --explain``, which sends it in parts of this size
MAX_EXPLAIN_ROWS = 1000


def _explained(parsed: Parsed, explain: int) -> Parsed:
    if explain and parsed.rows > MAX_EXPLAIN_ROWS:
        raise InvalidInput(
            f"explain answers at most {MAX_EXPLAIN_ROWS} rows a request, this one has "
            f"{parsed.rows}: send fewer, or score the file with modelyard predict --explain"
        )
    return dataclasses.replace(parsed, explain=explain)


def parse_mlflow(body: bytes, content_type: str | None) -> Parsed:
    payload = _json_or_csv(body, content_type)
    if isinstance(payload, Parsed):
        return payload
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object")
    keys = [
        k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in payload
    ]
    if len(keys) != 1:
        raise InvalidInput(
            "give exactly one of dataframe_split, dataframe_records, instances, inputs"
        )
    key = keys[0]
    value = payload[key]
    if key == "dataframe_split":
        return from_split(value)
    if key in ("instances", "inputs") and isinstance(value, dict):
        return from_column_dict(value, key)
    return from_records(value, key)


def parse_csv(body: bytes) -> Parsed:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV body is not UTF-8 text") from None
    end = text.find("\n")
    commas = text.count(",", 0, end if end >= 0 else len(text))
    if commas >= MAX_COLUMNS:  # counted before the header is split (quoted commas too)
        raise InvalidInput(f"the CSV header has over {MAX_COLUMNS} columns; at most {MAX_COLUMNS}")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        rows = [r for r in reader if r]
    except (StopIteration, csv.Error):
        raise InvalidInput("the CSV body needs a header row and at least one data row") from None
    if not rows:
        raise InvalidInput("the CSV body needs a header row and at least one data row")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise InvalidInput(f"CSV row {i + 1} has {len(row)} fields, the header {len(header)}")
    columns = {
        name: [row[j] if row[j] != "" else None for row in rows] for j, name in enumerate(header)
    }
    return Parsed(columns, len(rows))


# -- rendering --------------------------------------------------------------------------
def json_values(array: np.ndarray) -> list[Any]:
    values = array.tolist()
    if array.dtype.kind == "f":
        return [None if isinstance(v, float) and math.isnan(v) else v for v in values]
    return values  # type: ignore[no-any-return]


Keys = dict[str, np.ndarray]  # a request's key columns (text or None), echoed back


def native_body(
    output: Output,
    classes: list[Any] | None,
    model_version: str,
    request_id: str,
    keys: Keys,
    inputs: RawColumns | None = None,
) -> bytes:
    """The native JSON answer; with the output's factors, each row's top factors and the
    value the request gave each (``inputs``: the request's columns as sent)."""
    body: dict[str, Any] = {"predictions": json_values(output.predictions)}
    if output.probabilities is not None and classes is not None:
        body["probabilities"] = np.ascontiguousarray(output.probabilities, dtype=np.float64)
        body["classes"] = classes
    if keys:
        body["keys"] = {name: values.tolist() for name, values in keys.items()}
    if output.factors is not None:
        body["explanations"] = explanations(output.factors, inputs or {})
    body["model_version"] = model_version
    body["request_id"] = request_id
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def explanations(factors: Factors, inputs: RawColumns) -> dict[str, Any]:
    """``{"method", "output", "rows": [{"base", "factors": [{"feature", "value",
    "contribution"}]}]}``: each row's top factors, largest first."""
    rows = []
    for i, (base, names, moved) in enumerate(
        zip(factors.base.tolist(), factors.features.tolist(), factors.contributions.tolist(),
            strict=True)
    ):  # fmt: skip
        given = [inputs[n][i] if n in inputs else None for n in names]
        rows.append(
            {
                "base": base,
                "factors": [
                    {"feature": n, "value": v, "contribution": c}
                    for n, v, c in zip(names, given, moved, strict=True)
                ],
            }
        )
    return {"method": factors.method, "output": factors.output, "rows": rows}


def factor_columns(factors: Factors) -> dict[str, list[Any]]:
    """The top factors as table columns: ``factor_1``, ``contribution_1``, … and
    ``explain_base`` (batch outputs and CSV answers)."""
    found: dict[str, list[Any]] = {}
    for k in range(factors.features.shape[1]):
        found[f"factor_{k + 1}"] = factors.features[:, k].tolist()
        found[f"contribution_{k + 1}"] = factors.contributions[:, k].tolist()
    found["explain_base"] = factors.base.tolist()
    return found


def csv_body(output: Output, classes: list[Any] | None, keys: Keys) -> bytes:
    """The key columns first, then ``prediction``, ``probability_<class>`` and, when asked,
    the top factors (``factor_columns``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = [*keys, "prediction"]
    proba = output.probabilities if classes is not None else None
    if proba is not None and classes is not None:
        header += [f"probability_{c}" for c in classes]
    extra = factor_columns(output.factors) if output.factors is not None else {}
    writer.writerow([*header, *extra])
    columns: list[list[Any]] = [v.tolist() for v in keys.values()]
    columns.append(json_values(output.predictions))
    if proba is not None:
        columns += [list(map(repr, c)) for c in proba.T.tolist()]
    for values in extra.values():
        columns.append([repr(v) if isinstance(v, float) else v for v in values])
    writer.writerows(zip(*columns, strict=True))
    return buffer.getvalue().encode()


def mlflow_body(output: Output, keys: Keys) -> bytes:
    """MLflow's answer, and the key columns beside it (``keys``) when there are any."""
    body: dict[str, Any] = {"predictions": json_values(output.predictions)}
    if keys:
        body["keys"] = {name: values.tolist() for name, values in keys.items()}
    return orjson.dumps(body)
