"""Rows cross to a model worker as Arrow and come back exactly as they went: the model sees
the frame it would have seen in the server's own process, and the server reads nothing
from a worker but JSON and validated Arrow."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from modelyard.runtimes import codec


def roundtrip_columns(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    header, body = codec.columns_message(columns)
    return codec.read_columns(header, memoryview(body))


def test_typed_columns_come_back_as_they_went() -> None:
    columns = {
        "amount": np.array([1.5, np.nan, np.inf]),
        "terms": np.array([1, 2, 3], dtype=np.int64),
        "late": np.array([True, False, True]),
        "when": pd.date_range("2024-01-01", periods=3).to_numpy(),
        "group": np.array(["retail", np.nan, "public"], dtype=object),  # a checked column
        "loose": np.array(["a", None, "c"], dtype=object),  # missing as None
        "mixed": np.array([1, "two", 3.0], dtype=object),  # Arrow cannot hold it: JSON
    }
    back = roundtrip_columns(columns)
    assert list(back) == list(columns)
    for name, values in columns.items():
        # the frame a model sees is what the server's own process would have built
        pd.testing.assert_frame_equal(
            pd.DataFrame({name: back[name]}), pd.DataFrame({name: values})
        )
    assert back["group"][1] is not None and np.isnan(back["group"][1])
    assert back["loose"][1] is None


def test_answers_keep_their_shape_and_labels() -> None:
    predictions = np.array(["late", "on_time"], dtype=object)
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    header, body = codec.arrays_message({"predictions": predictions, "probabilities": proba})
    back = codec.read_arrays(header, memoryview(body), 2)
    assert back["predictions"].tolist() == ["late", "on_time"]
    np.testing.assert_array_equal(back["probabilities"], proba)
    multi = np.arange(6.0).reshape(3, 2)  # a multi-output regressor
    header, body = codec.arrays_message({"values": multi})
    np.testing.assert_array_equal(codec.read_arrays(header, memoryview(body), 3)["values"], multi)


def test_an_answer_of_the_wrong_length_or_a_forged_body_is_refused() -> None:
    header, body = codec.arrays_message({"predictions": np.arange(3)})
    with pytest.raises(codec.WireError, match="answered 3 rows for 2"):
        codec.read_arrays(header, memoryview(body), 2)
    with pytest.raises(codec.WireError, match="Arrow body is invalid"):
        codec.read_arrays(header, memoryview(b"\xff" * 64), 3)
    # offsets pointing past the data: caught by full validation, not read out of bounds
    header, body = codec.arrays_message({"predictions": np.array(["a", "bb"], dtype=object)})
    offsets = np.array([0, 1, 3], dtype=np.int32).tobytes()
    forged = bytes(body).replace(offsets, np.array([0, 1, 900], dtype=np.int32).tobytes())
    assert forged != bytes(body)
    with pytest.raises(codec.WireError, match="Arrow body is invalid"):
        codec.read_arrays(header, forged, 2)


def test_messages_are_framed_and_bounded() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        codec.send(ours, {"op": "score", "n": np.int64(3)}, b"x" * 100_000)
        header, body = codec.receive(theirs)  # type: ignore[misc]
        assert header == {"op": "score", "n": 3} and bytes(body) == b"x" * 100_000
        theirs.sendall(codec.PREFIX.pack(codec.MAX_HEADER + 1, 0))
        with pytest.raises(codec.WireError, match="exceed the limits"):
            codec.receive(ours)
        theirs.close()
        assert codec.receive(ours) is None  # the other side closed between messages


def test_an_event_loop_reads_messages_in_whatever_pieces_they_arrive() -> None:
    """``Reader`` (the server's event loop reads worker replies with it) completes the
    same messages ``receive`` would, however the bytes are cut, and refuses what
    ``receive`` refuses."""
    sent = [({"id": 1}, b""), ({"id": 2, "ok": True}, b"y" * 300_000), ({"id": 3}, b"z")]
    wire = bytearray()

    class Wire:  # what ``send`` writes, kept whole
        def sendall(self, data: bytes) -> None:
            wire.extend(data)

    for header, body in sent:
        codec.send(Wire(), header, body)  # type: ignore[arg-type]
    for piece in (1, 7, 4096, len(wire)):
        reader, got = codec.Reader(), []
        for start in range(0, len(wire), piece):
            got += reader.feed(bytes(wire[start : start + piece]))
        assert [(h, bytes(b)) for h, b in got] == sent
    with pytest.raises(codec.WireError, match="exceed the limits"):
        codec.Reader().feed(codec.PREFIX.pack(0, codec.MAX_BODY + 1))
    with pytest.raises(codec.WireError, match="not JSON"):
        codec.Reader().feed(codec.PREFIX.pack(3, 0) + b"{x}")
