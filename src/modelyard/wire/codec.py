"""Entities to JSON values and back, through pydantic: one ``TypeAdapter`` per type, made
on first use (building one costs about a millisecond; a CLI call needs one or two)."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any, TypeVar, cast

from pydantic import BaseModel, TypeAdapter, ValidationError

from modelyard.domain.errors import InvalidInput
from modelyard.wire.errors import invalid_body

T = TypeVar("T")


class Codec:
    def __init__(self) -> None:
        self._adapters: dict[Any, TypeAdapter[Any]] = {}

    def adapter(self, kind: Any) -> TypeAdapter[Any]:
        found = self._adapters.get(kind)
        if found is None:
            found = self._adapters[kind] = TypeAdapter(kind)
        return found

    def decode(self, kind: type[T], data: Any) -> T:
        """A decoded JSON value (``response.json()``) as ``kind``."""
        return cast(T, self.adapter(kind).validate_python(data))

    def encode(self, value: Any, kind: Any = None) -> Any:
        """``value`` as JSON-ready Python (dicts, lists, strings, numbers): an entity in its
        wire shape, and containers of entities element by element."""
        if kind is None:
            if is_dataclass(value) and bool(getattr(type(value), "__parameters__", None)):
                # a generic container (``Page[T]``): its items in their own shapes
                return {f.name: self.encode(getattr(value, f.name)) for f in fields(value)}
            if isinstance(value, dict):
                return {str(k): self.encode(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [self.encode(v) for v in value]
            kind = type(value)
        return self.adapter(kind).dump_python(value, mode="json")


B = TypeVar("B", bound=BaseModel)


def body(kind: type[B], **fields: Any) -> B:
    """A request body, checked here as the server would check it: a mistake is the same
    ``InvalidInput`` either way, raised before anything is sent."""
    try:
        return kind(**fields)
    except ValidationError as e:
        message, problems = invalid_body(e.errors())  # type: ignore[arg-type]
        raise InvalidInput(message, problems=problems) from None
