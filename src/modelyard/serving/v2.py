"""The Open Inference Protocol (V2) as KServe and Triton speak it: one input tensor per
column, shape ``[n]`` or ``[n, 1]``, as JSON or with the binary tensor data extension.

The extension (Triton's, which ``tritonclient.http`` uses by default): the body is a JSON
header of ``Inference-Header-Content-Length`` bytes followed by raw tensor bytes; an input
whose ``parameters.binary_data_size`` is set takes its data from there, in input order
(numbers little-endian, ``BOOL`` one byte, ``BYTES`` each element a 4-byte little-endian
length and its bytes). Outputs come back the same way when the request asks for binary
data (``parameters.binary_data_output``, or ``binary_data`` on a requested output).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from modelyard.domain.errors import InvalidInput
from modelyard.runtimes.scorer import Output
from modelyard.serving.protocols import Parsed, RawColumns, check_width, json_values, load_json

HEADER_LENGTH = "inference-header-content-length"
#: V2 datatypes and their little-endian numpy types (``BYTES``: length-prefixed strings).
DTYPES: dict[str, str | None] = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
    "BYTES": None,
}


@dataclass(frozen=True, slots=True)
class Request:
    parsed: Parsed
    id: str | None
    wanted: list[str]  # outputs asked for by name (none: all)
    binary: set[str] | bool  # outputs to send as binary data (True: all)


def parse(body: bytes, header_length: str | None) -> Request:
    """The body is JSON (and binary tensors) whatever its content type says, as in Triton
    and KServe: ``curl -d`` sends a form type, tritonclient none."""
    payload, raw = _split(body, header_length)
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise InvalidInput('expected {"inputs": [{"name", "shape", "datatype", "data"}, ...]}')
    check_width(len(payload["inputs"]), "inputs")
    columns: RawColumns = {}
    rows = None
    offset = 0
    for i, tensor in enumerate(payload["inputs"]):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise InvalidInput(f"inputs[{i}] must be a tensor with a name")
        name = tensor["name"]
        where = f"inputs[{i}] ({name})"
        datatype, shape = tensor.get("datatype"), tensor.get("shape")
        if datatype not in DTYPES:
            raise InvalidInput(f"{where}: unknown datatype {datatype!r}")
        if not isinstance(shape, list) or not all(isinstance(s, int) for s in shape):
            raise InvalidInput(f"{where}: shape must be a list of integers")
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
            raise InvalidInput(f"{where}: one column per tensor, shape [n] or [n, 1]")
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is None:
            flat = _json_data(tensor.get("data"), where)
        else:
            if not isinstance(size, int) or size < 0 or offset + size > len(raw):
                raise InvalidInput(f"{where}: binary_data_size {size!r} overruns the body")
            flat = _binary_data(raw[offset : offset + size], datatype, where)
            offset += size
        if shape[0] != len(flat) or not flat:
            raise InvalidInput(f"{where}: shape {shape} does not match {len(flat)} values")
        if rows is not None and rows != len(flat):
            raise InvalidInput("every input tensor must have the same number of rows")
        rows = len(flat)
        columns[name] = flat
    if rows is None:
        raise InvalidInput("inputs must hold at least one tensor")
    if offset != len(raw):
        raise InvalidInput(f"{len(raw) - offset} bytes of binary data belong to no input")
    request_id = payload.get("id")
    outputs = [o for o in payload.get("outputs") or [] if isinstance(o, dict)]
    binary: set[str] | bool = bool((payload.get("parameters") or {}).get("binary_data_output"))
    if outputs:
        binary = {
            str(o.get("name")) for o in outputs if (o.get("parameters") or {}).get("binary_data")
        }
    return Request(
        Parsed(columns, rows),
        request_id if isinstance(request_id, str) else None,
        [str(o.get("name")) for o in outputs],
        binary,
    )


def _split(body: bytes, header_length: str | None) -> tuple[Any, memoryview]:
    if header_length is None:
        return load_json(body), memoryview(b"")
    if not header_length.strip().isdigit() or int(header_length) > len(body):
        raise InvalidInput(
            f"Inference-Header-Content-Length {header_length!r} is not a length within the body"
        )
    n = int(header_length)
    return load_json(body[:n]), memoryview(body)[n:]


def _json_data(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        raise InvalidInput(f"{where}: data must be a list")
    if data and isinstance(data[0], list):
        return [v for row in data for v in (row if isinstance(row, list) else [row])]
    return data


def _binary_data(chunk: memoryview, datatype: str, where: str) -> list[Any]:
    dtype = DTYPES[datatype]
    if dtype is not None:
        width = np.dtype(dtype).itemsize
        if len(chunk) % width:
            raise InvalidInput(f"{where}: {len(chunk)} bytes is not a whole number of {datatype}")
        return np.frombuffer(chunk, dtype=dtype).tolist()  # type: ignore[no-any-return]
    values: list[Any] = []
    at = 0
    while at < len(chunk):
        if at + 4 > len(chunk):
            raise InvalidInput(f"{where}: a BYTES element's length is cut off")
        (length,) = struct.unpack_from("<I", chunk, at)
        at += 4
        if at + length > len(chunk):
            raise InvalidInput(f"{where}: a BYTES element runs past its tensor")
        try:
            values.append(bytes(chunk[at : at + length]).decode())
        except UnicodeDecodeError:
            raise InvalidInput(f"{where}: a BYTES element is not UTF-8 text") from None
        at += length
    return values


# -- rendering --------------------------------------------------------------------------
def datatype_of(array: np.ndarray) -> str:
    kind = array.dtype.kind
    if kind == "b":
        return "BOOL"
    if kind in "iu":
        return "INT64"
    if kind == "f":
        return "FP64"
    return "BYTES"


def _raw(array: np.ndarray, datatype: str) -> bytes:
    if datatype == "BYTES":
        encoded = [("" if v is None else str(v)).encode() for v in array.ravel().tolist()]
        return b"".join(struct.pack("<I", len(e)) + e for e in encoded)
    dtype = DTYPES[datatype]
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


def body(
    output: Output,
    request: Request,
    *,
    model_name: str,
    model_version: str,
    request_id: str,
    keys: dict[str, np.ndarray] | None = None,
) -> tuple[bytes, list[tuple[str, str]]]:
    """The answer's bytes, and the headers it needs (the JSON header's length when some
    output is sent as binary data). Key columns come back as BYTES outputs of their own
    name (a missing key as an empty string)."""
    tensors: list[tuple[str, np.ndarray, str]] = []
    predictions = output.predictions
    if not request.wanted or "predict" in request.wanted:
        tensors.append(("predict", predictions, datatype_of(predictions)))
    proba = output.probabilities
    if proba is not None and (not request.wanted or "predict_proba" in request.wanted):
        tensors.append(("predict_proba", np.asarray(proba, dtype=np.float64), "FP64"))
    for name, values in (keys or {}).items():
        if not request.wanted or name in request.wanted:
            text = np.array(["" if v is None else v for v in values.tolist()], dtype=object)
            tensors.append((name, text, "BYTES"))
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name, array, datatype in tensors:
        tensor: dict[str, Any] = {"name": name, "shape": list(array.shape), "datatype": datatype}
        if request.binary is True or (request.binary and name in request.binary):
            blob = _raw(array, datatype)
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = array.ravel() if name == "predict_proba" else json_values(array)
        outputs.append(tensor)
    header = orjson.dumps(
        {"model_name": model_name, "model_version": model_version, "id": request_id,
         "outputs": outputs},
        option=orjson.OPT_SERIALIZE_NUMPY,
    )  # fmt: skip
    if not blobs:
        return header, []
    return header + b"".join(blobs), [(HEADER_LENGTH, str(len(header)))]
