"""Every successful answer is described field by field in ``/openapi.json``: no object of
unknown shape (``dict[str, Any]``), no list of anything, so a generated client and the
HTTP SDK know what they get. Read from the app's own document: a new route is covered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard import Settings
from modelyard.api import create_app

KEYWORDS = ("$ref", "anyOf", "oneOf", "allOf", "enum", "const", "type")


def untyped(
    schema: dict[str, Any], where: str, schemas: dict[str, Any], seen: set[str]
) -> list[str]:
    """The places in ``schema`` that say nothing of their shape."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return untyped(schemas[name], name, schemas, seen | {name})
    if not any(k in schema for k in KEYWORDS):
        return [where or "the body"]
    found = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += untyped(sub, where, schemas, seen)
    if schema.get("type") == "object":
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        if (not properties and not isinstance(extra, dict)) or extra == {}:
            found.append(where or "the body")
        for name, sub in properties.items():
            found += untyped(sub, f"{where}.{name}", schemas, seen)
        if isinstance(extra, dict) and extra:
            found += untyped(extra, f"{where}[*]", schemas, seen)
    if schema.get("type") == "array":
        found += untyped(schema.get("items") or {}, f"{where}[]", schemas, seen)
    return found


def test_no_successful_answer_has_an_untyped_part() -> None:
    spec = create_app(Settings(home=Path("/nonexistent"))).openapi()
    schemas = spec["components"]["schemas"]
    problems = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                for media, content in response.get("content", {}).items():
                    if media != "application/json":
                        continue
                    for where in untyped(content.get("schema", {}), "", schemas, set()):
                        problems.append(f"{method.upper()} {path} {status}: {where}")
    assert problems == []


def test_the_check_finds_an_untyped_answer() -> None:
    """The walk above does see ``dict[str, Any]`` and ``list[Any]`` where they hide."""
    schemas = {"Report": {"type": "object", "properties": {"extra": {"type": "object"}}}}
    assert untyped({"$ref": "#/components/schemas/Report"}, "", schemas, set()) == ["Report.extra"]
    assert untyped({"type": "array", "items": {}}, "", {}, set()) == ["[]"]
    assert (
        untyped({"type": "object", "additionalProperties": {"type": "integer"}}, "", {}, set())
        == []
    )
