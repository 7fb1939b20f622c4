"""The JSON shapes of the HTTP API, defined once.

A resource's shape is its domain entity (a frozen dataclass): pydantic derives the JSON,
the OpenAPI schema and the decoding from its fields, so no field is listed twice. The API
declares the entity as the route's ``response_model``; the HTTP SDK decodes the body into
the same entity with ``Codec``. Request bodies, which have no entity, are the pydantic
models of ``wire.bodies``. Errors travel as ``{"error": {"code", "message", "details"}}``
and come back as the same exception class through ``wire.errors``.
"""

from modelyard.wire.codec import Codec
from modelyard.wire.errors import ErrorBody, ErrorDetail, error_class

__all__ = ["Codec", "ErrorBody", "ErrorDetail", "error_class"]
