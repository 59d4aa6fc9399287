"""Byte-stream integrity through an impaired wire: what the receiver reads is exactly what the
sender wrote, in order — or the connection fails with a clean errno.  Never wrong bytes, never
a silent hang.

Two engines on the harness's wire, with random payload sizes (0..300 KB), write patterns, MSS,
loss, duplication, reordering and corruption (0..0.2 each; corrupted segments fail the checksum
and are dropped, as a kernel drops them), timestamps / SACK / window scaling on or off, and
Reno, NewReno or CUBIC; one direction, and both at once.
"""

from __future__ import annotations

import errno

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.proto.tcp.settings import MS, S, TCPSettings
from netsim.proto.tcp.states import TCPState, legal
from tests.proto.tcp.harness import App, Pair, Wire

CLEAN_ERRORS = (errno.ETIMEDOUT, errno.ECONNRESET)
# Past every give-up time (127 s of SYNs, then tcp_retries2's 924.6 s without progress), and long
# enough for 300 KB at 20 % of every impairment, where RTOs of tens of seconds are the norm
# (RFC 7323 timestamps echo the last in-order segment, so lost ACKs inflate the RTT samples).
LIMIT = 30000 * S


def payload(size: int, salt: int) -> bytes:
    return bytes(((i * 2654435761 + salt) >> 11) & 0xFF for i in range(size))


rates = st.sampled_from([0.0, 0.0, 0.01, 0.05, 0.1, 0.2])
impairments = st.fixed_dictionaries({
    "loss": rates, "duplicate": rates, "reorder": rates, "corrupt": rates,
    "delay": st.sampled_from([1 * MS, 5 * MS, 40 * MS]), "seed": st.integers(0, 2**16),
    "rate_bps": st.sampled_from([None, None, 10_000_000, 100_000_000]),
})
options = st.fixed_dictionaries({
    "timestamps": st.booleans(), "sack": st.booleans(), "window_scaling": st.booleans(),
    "congestion_control": st.sampled_from(["reno", "newreno", "cubic"]),
    # loss detection (RACK, RACK without the 3-SACKed shortcut, RFC 6675), F-RTO, probes,
    # receive-buffer autotuning: every recovery path must deliver the same bytes
    "recovery": st.sampled_from([1, 1, 5, 0]), "frto": st.sampled_from([2, 0]),
    "early_retrans": st.sampled_from([3, 0]), "moderate_rcvbuf": st.booleans(),
})
chunk_patterns = st.lists(st.sampled_from([1, 7, 100, 536, 1448, 1460, 4096, 65536]), min_size=1, max_size=4)
sizes = st.one_of(st.sampled_from([0, 1, 1448, 65537, 150_000, 300_000]), st.integers(0, 300_000))
mss_values = st.sampled_from([536, 1000, 1460])


def build(wire: dict, opts: dict, opts_b: dict | None, mss_a: int, mss_b: int,  # type: ignore[type-arg]
          small_buffers: bool) -> Pair:
    settings_a = TCPSettings(**opts)
    settings_b = TCPSettings(**(opts_b if opts_b is not None else opts))
    pair = Pair(Wire(**wire), settings_a=settings_a, settings_b=settings_b)
    buffers = {"rcvbuf": 8192, "sndbuf": 8192} if small_buffers else {}
    pair.b_kwargs = {"local_mss": mss_b, **buffers}
    pair.connect(local_mss=mss_a, **buffers)
    return pair


def check(pair: Pair, apps: list[tuple[App, bytes]]) -> None:
    """Run to completion or failure, then judge."""
    def finished() -> bool:
        if all(reader.done_reading for reader, _ in apps):
            return True
        conns = [c for c in (pair.a, pair.b) if c is not None]
        return any(c.error for c in conns) or (pair.b is None and pair.a is not None
                                                and pair.a.state is TCPState.CLOSED)

    pair.run(LIMIT, stop=finished)
    a, b = pair.a, pair.b
    assert finished() or pair.now >= LIMIT, "stalled: nothing on the wire and no timer armed"
    assert a is not None
    for conn in (a, b):
        if conn is None:
            continue
        for _, old, new, cause in conn.transitions:
            assert legal(old, new, cause)
        assert conn.error in (0, *CLEAN_ERRORS), conn.error
    for reader, data in apps:
        got = bytes(reader.got)
        assert got == data[: len(got)], "wrong bytes reached the application"
    complete = all(bytes(reader.got) == data and reader.done_reading for reader, data in apps)
    failed = a.error in CLEAN_ERRORS or (b is not None and b.error in CLEAN_ERRORS)
    assert complete or failed, f"neither finished nor failed by {LIMIT // S} s (A {a.state}, B {b and b.state})"


@settings(max_examples=120)
@given(size=sizes, chunks=chunk_patterns, wire=impairments, opts=options, mss_a=mss_values, mss_b=mss_values,
       small_buffers=st.booleans(), read_size=st.sampled_from([1 << 20, 1000, 1]))
def test_one_direction(size: int, chunks: list[int], wire: dict, opts: dict, mss_a: int,  # type: ignore[type-arg]
                       mss_b: int, small_buffers: bool, read_size: int) -> None:
    pair = build(wire, opts, None, mss_a, mss_b, small_buffers)
    data = payload(size, wire["seed"])
    App(pair, "a", data, chunks=tuple(chunks))
    reader = App(pair, "b", shutdown=False, read_size=read_size)
    check(pair, [(reader, data)])


@settings(max_examples=60)
@given(size_ab=sizes, size_ba=sizes, chunks=chunk_patterns, wire=impairments, opts=options, opts_b=options,
       mss_a=mss_values, mss_b=mss_values)
def test_both_directions(size_ab: int, size_ba: int, chunks: list[int], wire: dict, opts: dict,  # type: ignore[type-arg]
                         opts_b: dict, mss_a: int, mss_b: int) -> None:  # type: ignore[type-arg]
    pair = build(wire, opts, opts_b, mss_a, mss_b, False)
    data_ab, data_ba = payload(size_ab, 1), payload(size_ba, 2)
    app_a = App(pair, "a", data_ab, chunks=tuple(chunks))
    app_b = App(pair, "b", data_ba, chunks=tuple(reversed(chunks)))
    check(pair, [(app_b, data_ab), (app_a, data_ba)])


def test_heavy_impairment_example() -> None:
    """One fixed hard case: 200 KB through 20 % of everything, every option on, CUBIC."""
    pair = build({"loss": 0.2, "duplicate": 0.2, "reorder": 0.2, "corrupt": 0.2, "delay": 5 * MS, "seed": 7},
                 {"congestion_control": "cubic"}, None, 1460, 1460, False)
    data = payload(200_000, 3)
    App(pair, "a", data, chunks=(1000, 65536))
    reader = App(pair, "b", shutdown=False)
    check(pair, [(reader, data)])
    assert pair.a is not None and pair.a.total_retransmits > 0 and pair.corrupted_dropped > 0


def test_a_dead_wire_fails_cleanly() -> None:
    """Loss 100 % after the handshake: ETIMEDOUT, not a hang and not partial garbage."""
    pair = build({"delay": 5 * MS}, {"congestion_control": "newreno"}, None, 1460, 1460, False)
    pair.run(100 * MS)
    pair.wire.loss = 1.0
    data = payload(50_000, 9)
    App(pair, "a", data)
    reader = App(pair, "b", shutdown=False)
    check(pair, [(reader, data)])
    assert pair.a is not None and pair.a.error == errno.ETIMEDOUT and reader.got == b""
