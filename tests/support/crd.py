"""A custom resource checked against its CRD's schema, as the Kubernetes API server does
with strict field validation (``kubectl apply --validate=strict``): the types and
constraints of the schema, and no field it does not name (where the schema does not say
``x-kubernetes-preserve-unknown-fields``)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema

KSERVE = Path(__file__).parent / "kserve" / "inferenceservice-v0.20.0.schema.json.gz"


def strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` wherever it lists properties and
    neither allows other fields nor keeps unknown ones."""
    if not isinstance(schema, dict):
        return schema
    found = dict(schema)
    if "properties" in found:
        found["properties"] = {name: strict(s) for name, s in found["properties"].items()}
        if "additionalProperties" not in found and not found.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            found["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(found.get(key), dict):
            found[key] = strict(found[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in found:
            found[key] = [strict(s) for s in found[key]]
    return found


def inference_service_errors(obj: dict[str, Any]) -> list[str]:
    """What the API server would refuse in ``obj``, a KServe ``InferenceService``."""
    schema = strict(json.loads(gzip.decompress(KSERVE.read_bytes())))
    validator = jsonschema.Draft7Validator(schema)
    return sorted(
        f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(obj)
    )
