"""The receive buffer reassembles any arrival order of segments into the exact byte stream."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.tcp.buffers import ReceiveBuffer, SendBuffer
from netsim.proto.tcp.seq import seq_add


def test_send_buffer_write_peek_acknowledge() -> None:
    buffer = SendBuffer(10)
    assert buffer.write(b"0123456789ABC") == 10
    assert buffer.peek(3, 4) == b"3456" and buffer.free == 0
    buffer.acknowledge(5)
    assert buffer.peek(0, 100) == b"56789" and buffer.free == 5
    with pytest.raises(ValueError, match="acknowledge"):
        buffer.acknowledge(6)


_SEND_OPS = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 9000)),
    st.tuples(st.just("ack"), st.integers(0, 9000)),
)


@given(st.integers(1, 20_000), st.lists(_SEND_OPS, max_size=40), st.integers(0, 30_000), st.integers(0, 3000))
def test_send_buffer_is_the_unacknowledged_stream(capacity: int, ops: list[tuple[str, int]], at: int,
                                                  size: int) -> None:
    # past the head's compaction threshold (4096 acknowledged bytes) and through it: what the
    # buffer holds, frees and peeks is always the written stream less its acknowledged front
    buffer, model, written = SendBuffer(capacity), b"", 0
    for op, amount in ops:
        if op == "write":
            chunk = bytes((written + i) % 251 for i in range(amount))
            taken = buffer.write(memoryview(chunk))
            assert taken == min(amount, capacity - len(model))
            model += chunk[:taken]
            written += taken
        else:
            count = min(amount, len(model))
            buffer.acknowledge(count)
            model = model[count:]
        assert len(buffer) == len(model) and buffer.free == capacity - len(model)
        assert buffer.peek(at % (len(model) + 1), size) == model[at % (len(model) + 1) :][:size]
    with pytest.raises(ValueError, match="acknowledge"):
        buffer.acknowledge(len(model) + 1)


@st.composite
def segmented(draw: st.DrawFn) -> tuple[int, bytes, list[tuple[int, bytes]]]:
    isn = draw(st.integers(0, 2**32 - 1))
    stream = draw(st.binary(min_size=1, max_size=3000))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(stream)), max_size=12))) | {0, len(stream)})
    segments = [(seq_add(isn, a), stream[a:b]) for a, b in itertools.pairwise(cuts) if b > a]
    extra = draw(st.lists(st.sampled_from(segments), max_size=5))  # duplicates
    overlaps = []
    for _ in range(draw(st.integers(0, 3))):  # overlapping re-cuts of the same bytes
        a = draw(st.integers(0, len(stream) - 1))
        b = draw(st.integers(a + 1, len(stream)))
        overlaps.append((seq_add(isn, a), stream[a:b]))
    arrivals = draw(st.permutations(segments + extra + overlaps))
    return isn, stream, list(arrivals)


@given(case=segmented())
def test_any_arrival_order_reassembles_the_stream(case: tuple[int, bytes, list[tuple[int, bytes]]]) -> None:
    isn, stream, arrivals = case
    buffer = ReceiveBuffer(1 << 20, isn)
    for seq, data in arrivals:
        buffer.insert(seq, data)
    assert buffer.read(len(stream) + 10) == stream
    assert buffer.rcv_nxt == seq_add(isn, len(stream))
    assert buffer.out_of_order_bytes == 0 and buffer.sack_blocks() == []


def test_out_of_order_data_waits_and_is_reported_as_sack_blocks() -> None:
    buffer = ReceiveBuffer(100, 2**32 - 5)  # across the wrap
    assert buffer.insert(3, b"dd") == 0
    assert buffer.insert(seq_add(2**32 - 5, 12), b"ff") == 0
    assert buffer.sack_blocks() == [(3, 5), (7, 9)]
    assert buffer.window == 96
    assert buffer.insert(2**32 - 5, b"abcde") == 5
    assert buffer.insert(0, b"ccc") == 5  # fills the gap, releases "dd" too
    assert buffer.read(100) == b"abcdecccdd"
    assert buffer.sack_blocks() == [(7, 9)]


def test_data_beyond_the_window_is_cut() -> None:
    buffer = ReceiveBuffer(4, 0)
    assert buffer.insert(0, b"abcdef") == 4
    assert buffer.window == 0 and buffer.insert(4, b"g") == 0
    assert buffer.read(10) == b"abcd"
