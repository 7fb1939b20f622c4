"""The ONNX flavor: an ``onnx.ModelProto`` or a bare ``.onnx`` file, run by ONNX Runtime.

A frame is fed either whole, as the model's single rank-2 input, or one column per model
input (``[n, 1]`` tensors, matched by name). The first output holds the predictions; a
second output holding probabilities (a tensor, or the list of dicts skl2onnx's ZipMap
produces) gives ``predict_proba``, with the class labels read from the graph.
onnxruntime is imported lazily, so this module imports without it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.errors import InvalidInput, InvalidPackage, describe
from modelyard.flavors.base import LoadedModel, Saved

ENTRYPOINT = "model.onnx"
REQUIREMENTS = ("onnxruntime", "onnx", "numpy")
ELEMENT_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8,
    "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
PROBABILITY_TENSORS = ("tensor(float)", "tensor(double)", "tensor(float16)")


def _session(model: bytes | Path, name: str, threads: int | None = None) -> Any:
    """An ONNX Runtime session; from a path, external tensor files next to it are found.
    ``threads``: its intra-op threads (default: ONNX Runtime's, one per core)."""
    try:
        import onnxruntime
    except ImportError:
        raise InvalidPackage(
            "the onnx flavor needs onnxruntime: pip install 'modelyard[onnx]'"
        ) from None
    try:
        source = str(model) if isinstance(model, Path) else model
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # InvalidProtobuf, InvalidGraph, Fail...
        raise InvalidPackage(f"{name} cannot be loaded: {describe(e)}") from None


def graph_classes(content: bytes) -> list[Any] | None:
    """Class labels from a ZipMap or a classifier node of the graph, when ``onnx`` is present."""
    try:
        import onnx
    except ImportError:
        return None
    try:
        graph = onnx.load_from_string(content).graph
    except Exception:  # the session already parsed it; a second parser's opinion is moot
        return None
    nodes = sorted(graph.node, key=lambda n: n.op_type != "ZipMap")
    for node in nodes:
        if node.op_type != "ZipMap" and not node.op_type.endswith("Classifier"):
            continue
        for attr in node.attribute:
            if attr.name == "classlabels_strings" and attr.strings:
                return [s.decode() for s in attr.strings]
            if attr.name == "classlabels_int64s" and attr.ints:
                return [int(i) for i in attr.ints]
    return None


def _column(values: pd.Series | np.ndarray, element_type: str, name: str) -> np.ndarray:
    """A frame's column, or a typed column (``serving.schema``'s), as the graph's input
    type; text for a string input."""
    dtype = ELEMENT_TYPES.get(element_type)
    if dtype is None:
        raise InvalidInput(f"model input {name!r} has an unsupported type {element_type}")
    try:
        if dtype is np.object_:
            if isinstance(values, np.ndarray) and values.dtype == object:
                return values  # the schema's string columns hold text already
            return np.asarray(values).astype(str).astype(object)
        if isinstance(values, pd.Series):
            return np.asarray(values.to_numpy(dtype=dtype))
        return values.astype(dtype, copy=False)
    except (TypeError, ValueError):
        raise InvalidInput(f"column {name!r} cannot be read as {element_type}") from None


class OnnxModel:
    """A loaded ONNX model; ``raw`` is the ``onnxruntime.InferenceSession``."""

    def __init__(self, raw: Any, classes: list[Any] | None) -> None:
        self.raw = raw
        self.inputs = raw.get_inputs()
        outputs = raw.get_outputs()
        self.has_proba = len(outputs) > 1 and (
            outputs[1].type.startswith("seq(map(")
            or (outputs[1].type in PROBABILITY_TENSORS and len(outputs[1].shape) == 2)
        )
        # ZipMap values arrive as Python floats: give them back the type the graph computed
        self._map_dtype = (
            np.float64 if len(outputs) > 1 and "double" in outputs[1].type else np.float32
        )
        self._classes = classes if self.has_proba else None
        # one [n, 1] input per column: typed columns can be fed without a DataFrame
        self.takes_columns = len(self.inputs) > 1 and all(len(i.shape) == 2 for i in self.inputs)

    @property
    def classes(self) -> list[Any] | None:
        return self._classes

    @property
    def feature_names(self) -> list[str] | None:
        """The graph's inputs when each is one column; one tensor of them names none."""
        return [i.name for i in self.inputs] if len(self.inputs) > 1 else None

    def _feeds(self, data: Any) -> dict[str, np.ndarray]:
        if (
            isinstance(data, dict)
            and self.takes_columns
            and all(i.name in data for i in self.inputs)
        ):
            return {
                i.name: _column(data[i.name], i.type, i.name).reshape(-1, 1) for i in self.inputs
            }
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        first = self.inputs[0]
        if len(self.inputs) == 1 and len(first.shape) == 2:
            dtype = ELEMENT_TYPES.get(first.type)
            if dtype is None:
                raise InvalidInput(f"model input {first.name!r} has an unsupported type")
            if dtype is np.object_:
                return {first.name: frame.astype(str).to_numpy(dtype=object)}
            try:
                return {first.name: frame.to_numpy(dtype=dtype)}
            except (TypeError, ValueError):
                raise InvalidInput(f"the input columns cannot be read as {first.type}") from None
        names = [i.name for i in self.inputs]
        if not set(names) <= set(map(str, frame.columns)):
            if len(names) != len(frame.columns):
                missing = sorted(set(names) - set(map(str, frame.columns)))
                raise InvalidInput(f"the model expects input columns {', '.join(missing)}")
            frame = frame.set_axis(names, axis=1)  # same count: match by position
        feeds = {}
        for spec in self.inputs:
            values = _column(frame[spec.name], spec.type, spec.name)
            feeds[spec.name] = values.reshape(-1, 1) if len(spec.shape) == 2 else values
        return feeds

    def predict(self, data: Any) -> Any:
        output_name = self.raw.get_outputs()[0].name
        result = self.raw.run([output_name], self._feeds(data))[0]
        if isinstance(result, np.ndarray) and result.ndim == 2 and result.shape[1] == 1:
            return result.ravel()  # a regressor's [n, 1] output, as scikit-learn returns it
        return result

    def predict_proba(self, data: Any) -> Any | None:
        if not self.has_proba:
            return None
        output_name = self.raw.get_outputs()[1].name
        result = self.raw.run([output_name], self._feeds(data))[0]
        if isinstance(result, np.ndarray):
            return result
        rows: list[dict[Any, float]] = list(result)  # ZipMap: one {class: probability} a row
        if not rows:
            return np.empty((0, len(self._classes or ())), dtype=self._map_dtype)
        if self._classes is None or set(self._classes) != set(rows[0]):
            self._classes = list(rows[0])  # the keys are the truth when the graph said nothing
        return np.array([[row[c] for c in self._classes] for row in rows], dtype=self._map_dtype)


class OnnxFlavor:
    name: str = "onnx"
    file_suffixes: tuple[str, ...] = (".onnx",)

    def accepts_object(self, obj: Any) -> bool:
        try:
            import onnx
        except ImportError:
            return False
        return isinstance(obj, onnx.ModelProto)

    def accepts_file(self, path: Path) -> bool:
        return path.suffix.lower() in self.file_suffixes and path.is_file()

    def save(self, obj: Any, folder: Path) -> Saved:
        if not self.accepts_object(obj):
            raise InvalidInput(
                f"the onnx flavor cannot save a {type(obj).__qualname__}: expected onnx.ModelProto"
            )
        content = obj.SerializeToString()
        _session(content, ENTRYPOINT)  # refuse a model ONNX Runtime cannot run
        (folder / ENTRYPOINT).write_bytes(content)
        return self._saved(content)

    def save_file(self, path: Path, folder: Path) -> Saved:
        _session(path, path.name)
        shutil.copyfile(path, folder / ENTRYPOINT)
        return self._saved(path.read_bytes())

    def _saved(self, content: bytes) -> Saved:
        classes = graph_classes(content)
        options = {"classes": classes} if classes is not None else {}
        return Saved(entrypoint=ENTRYPOINT, options=options, distributions=REQUIREMENTS)

    def load(self, folder: Path, entrypoint: str, options: dict[str, Any]) -> LoadedModel:
        path = folder / entrypoint
        session = _session(path, entrypoint)
        classes = options.get("classes")
        if classes is None:
            classes = graph_classes(path.read_bytes())
        return OnnxModel(session, list(classes) if classes is not None else None)


def load_graph(content: bytes, options: dict[str, Any], threads: int = 1) -> OnnxModel:
    """A self-contained graph loaded from its bytes: with no path, ONNX Runtime resolves no
    external data, so loading reads no file (``runtimes.host`` runs such graphs in the
    server worker)."""
    session = _session(content, ENTRYPOINT, threads)
    classes = options.get("classes")
    if classes is None:
        classes = graph_classes(content)
    return OnnxModel(session, list(classes) if classes is not None else None)
