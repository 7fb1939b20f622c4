"""Scoring input checked against a version's signature, and turned into typed columns.

Two paths give the same typed columns for the same valid rows:

- ``InputSchema.columns`` for online requests (a few rows of JSON values): checks value by
  value and raises ``InvalidData`` at the first problem, naming the field, the expected type
  and the row.
- ``InputSchema.frame`` for files (batch scoring): vectorised; returns the good rows and
  a reason for each bad one, so a job can write rejects aside and go on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.deployments import NonFinite, ServingOptions, UnseenCategories
from modelyard.domain.errors import InvalidData
from modelyard.domain.reports import Signature

Columns = dict[str, np.ndarray]
_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}
_DTYPES = {"float": np.float64, "integer": np.int64, "boolean": np.bool_}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

LISTED = 20  # names an error lists at most (its count says how many there were)
WARMUP_ROWS = 8


class NotFinite(ValueError):
    """A number that is NaN or infinite: never a value a model should see."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str  # boolean | integer | float | string | datetime
    nullable: bool
    categories: frozenset[str] | None


class InputSchema:
    def __init__(self, signature: Signature | None, options: ServingOptions | None = None) -> None:
        options = options or ServingOptions()
        inputs = (signature or {}).get("inputs") or []
        self.fields = [
            Field(
                str(f["name"]),
                str(f.get("type", "string")),
                bool(f.get("nullable", True)),
                frozenset(f["categories"]) if f.get("categories") is not None else None,
            )
            for f in inputs
        ]
        self.names = [f.name for f in self.fields]
        self._by_name = {f.name: f for f in self.fields}
        self.reject_unseen = options.unseen_categories is UnseenCategories.REJECT
        self.allow_non_finite = options.non_finite is NonFinite.ALLOW
        self.checked = bool(self.fields)
        self.keys = options.keys  # ride along: taken out before the model sees the row

    def warmup_columns(self) -> Columns | None:
        """A few synthetic rows of the right types (None without a signature), scored once
        when a model loads: first code paths, lazy imports, thread pools."""
        if not self.checked:
            return None
        data: Columns = {}
        for i, f in enumerate(self.fields):
            if f.type == "float":
                data[f.name] = np.linspace(0.0, 1.0 + i, WARMUP_ROWS)
            elif f.type == "integer":
                data[f.name] = np.arange(WARMUP_ROWS, dtype=np.int64)
            elif f.type == "boolean":
                data[f.name] = np.arange(WARMUP_ROWS) % 2 == 0
            elif f.type == "datetime":
                data[f.name] = pd.date_range("2024-01-01", periods=WARMUP_ROWS).to_numpy()
            else:
                known = sorted(f.categories) if f.categories else ["x"]
                data[f.name] = np.array(
                    [known[j % len(known)] for j in range(WARMUP_ROWS)], dtype=object
                )
        return data

    # -- online: JSON values -------------------------------------------------------------
    def columns(self, data: dict[str, list[Any]], n: int) -> Columns:
        """Typed columns in signature order from ``{column: [values]}`` (all of length n);
        key columns are not among them."""
        if self.keys:
            data = {k: v for k, v in data.items() if k not in self.keys}
        if not self.checked:  # no signature: pass what came, as pandas would read it
            return {k: _loose(v) for k, v in data.items()}
        self._check_names(data.keys())
        return {f.name: self._column(f, data[f.name]) for f in self.fields}

    def key_values(self, data: dict[str, list[Any]], n: int) -> Columns:
        """The key columns of a request, as text (a key the request lacks is null)."""
        return {k: _keys(data.get(k), n) for k in self.keys}

    def _check_names(self, given: Any) -> None:
        given = list(given)
        missing = [n for n in self.names if n not in given]
        if missing:
            f = self._by_name[missing[0]]
            raise InvalidData(
                f"missing column {f.name!r} ({f.type})"
                + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""),
                field=f.name,
                expected=f.type,
                missing=missing[:LISTED],  # an error body stays small: the first few
                missing_count=len(missing),
            )
        extra = [n for n in given if n not in self._by_name]
        if extra:
            raise InvalidData(
                f"unexpected column {_show(extra[0])}"
                + (f" and {len(extra) - 1} more" if len(extra) > 1 else "")
                + f": the model takes {', '.join(self.names)}",
                field=str(extra[0])[:200],
                unexpected=[str(e)[:200] for e in extra[:LISTED]],
                unexpected_count=len(extra),
            )

    def _column(self, f: Field, values: list[Any]) -> np.ndarray:
        convert = _CONVERTERS[f.type]
        if f.type == "float" and self.allow_non_finite:
            convert = _any_float
        out: list[Any] = []
        has_null = False
        for row, value in enumerate(values):
            if value is None or (type(value) is float and math.isnan(value)):
                if not f.nullable:
                    raise InvalidData(
                        f"{f.name!r} is required ({f.type}) but row {row} has no value",
                        field=f.name,
                        expected=f.type,
                        row=row,
                    )
                has_null = True
                out.append(None)
                continue
            try:
                converted = convert(value)
            except (TypeError, ValueError, OverflowError) as e:
                kind = "wrong type" if not isinstance(value, str) else "cannot convert"
                if isinstance(e, OverflowError):
                    kind = "beyond a 64-bit integer"
                elif isinstance(e, NotFinite):
                    kind = "not a finite number"
                raise InvalidData(
                    f"{f.name!r} expects {f.type}, row {row} has {_show(value)} ({kind})",
                    field=f.name,
                    expected=f.type,
                    row=row,
                    value=_show(value),
                ) from None
            if self.reject_unseen and f.categories is not None and converted not in f.categories:
                raise InvalidData(
                    f"{f.name!r} has unseen category {_show(value)} in row {row} "
                    f"(known: {_few(f.categories)})",
                    field=f.name,
                    expected=f.type,
                    row=row,
                    value=_show(value),
                )
            out.append(converted)
        return _array(f.type, out, has_null)

    # -- files: a whole frame at once ----------------------------------------------------
    def frame(self, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        """(typed rows that passed, reasons of those that failed, indexed by row)."""
        if not self.checked:
            return df.drop(columns=[k for k in self.keys if k in df]), pd.Series([], dtype=object)
        self._check_names([str(c) for c in df.columns if str(c) not in self.keys])
        reasons = pd.Series(pd.NA, index=df.index, dtype=object)
        typed: dict[str, Any] = {}
        for f in self.fields:
            raw = df[f.name]
            missing = raw.isna()
            if f.type in ("float", "integer"):
                if pd.api.types.is_bool_dtype(raw.dtype):
                    bad = ~missing
                    values = pd.Series(np.nan, index=df.index)
                else:
                    values = pd.to_numeric(raw, errors="coerce")
                    bad = values.isna() & ~missing
                    if not self.allow_non_finite:
                        infinite = values.abs() == np.inf
                        bad |= infinite
                        values = values.where(~infinite, np.nan)
                if f.type == "integer":
                    values = values.astype(np.float64)  # a huge int arrives as object
                    fractional = values.notna() & (values != np.floor(values.fillna(0)))
                    # float64 rounds 2**63 - 1 up to 2**63: refuse at and beyond 2**63
                    beyond = values.notna() & ((values < INT64_MIN) | (values >= 2.0**63))
                    bad |= fractional | beyond
                    values = values.where(~beyond, np.nan)
            elif f.type == "boolean":
                values = raw.map(_to_bool_or_na)
                bad = values.isna() & ~missing
            elif f.type == "datetime":
                values = pd.to_datetime(raw, errors="coerce", utc=False)
                bad = values.isna() & ~missing
            else:
                values = raw.astype(str).where(~missing, np.nan)
                bad = pd.Series(False, index=df.index)
            _note(reasons, bad, f"{f.name!r} expects {f.type}")
            if not f.nullable:
                _note(reasons, missing, f"{f.name!r} is required ({f.type})")
            if self.reject_unseen and f.categories is not None:
                unseen = ~missing & ~values.astype(str).isin(f.categories)
                _note(reasons, unseen, f"{f.name!r} has an unseen category")
            typed[f.name] = values
        good = reasons.isna()
        out = {}
        for f in self.fields:
            values = typed[f.name][good]
            has_null = bool(values.isna().any())
            if f.type == "string":
                out[f.name] = values.to_numpy(dtype=object)
            elif f.type == "datetime":
                out[f.name] = values
            elif f.type == "boolean":
                out[f.name] = values.to_numpy(dtype=object if has_null else np.bool_)
            elif f.type == "integer" and not has_null:
                out[f.name] = values.to_numpy(dtype=np.int64)
            else:
                out[f.name] = values.to_numpy(dtype=np.float64)
        return pd.DataFrame(out, columns=self.names, index=df.index[good]), reasons[~good]


def _note(reasons: pd.Series, mask: pd.Series, reason: str) -> None:
    fresh = mask & reasons.isna()
    if fresh.any():
        reasons[fresh] = reason


def _to_bool_or_na(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return pd.NA
    try:
        return _bool(value)
    except (TypeError, ValueError):
        return pd.NA


def _float(value: Any) -> float:
    if type(value) is float or type(value) is int or isinstance(value, str):
        number = float(value)
    else:
        raise TypeError
    if not math.isfinite(number):  # "nan", "inf" as text, or an int beyond a float
        raise NotFinite
    return number


def _any_float(value: Any) -> float:
    """A float, NaN and infinities included (the deployment's ``non_finite=allow``)."""
    if type(value) is float or type(value) is int or isinstance(value, str):
        return float(value)
    raise TypeError


def _int(value: Any) -> int:
    if type(value) is int:
        number = value
    elif type(value) is float or isinstance(value, str):
        as_float = float(value)
        if not as_float.is_integer():
            raise ValueError
        number = int(as_float)
    else:
        raise TypeError
    if not INT64_MIN <= number <= INT64_MAX:
        raise OverflowError
    return number


def _bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError
    raise TypeError


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError


def _datetime(value: Any) -> Any:
    if not isinstance(value, str):
        raise TypeError
    return pd.Timestamp(value)


_CONVERTERS = {
    "float": _float,
    "integer": _int,
    "boolean": _bool,
    "string": _str,
    "datetime": _datetime,
}


def _array(kind: str, values: list[Any], has_null: bool) -> np.ndarray:
    if kind == "float" or (kind == "integer" and has_null):
        filled = [np.nan if v is None else v for v in values] if has_null else values
        return np.array(filled, dtype=np.float64)
    if kind in _DTYPES and not has_null:
        return np.array(values, dtype=_DTYPES[kind])
    if kind == "datetime":
        return np.array(pd.to_datetime(values))
    return np.array([np.nan if v is None else v for v in values], dtype=object)


def _keys(values: list[Any] | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, None, dtype=object)
    return np.array(
        [None if v is None or (type(v) is float and math.isnan(v)) else str(v) for v in values],
        dtype=object,
    )


def _loose(values: list[Any]) -> np.ndarray:
    loose: np.ndarray = pd.Series(values).to_numpy()
    return loose


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _few(categories: frozenset[str]) -> str:
    shown = sorted(categories)[:8]
    return ", ".join(shown) + (", ..." if len(categories) > 8 else "")
