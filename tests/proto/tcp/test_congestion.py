"""Congestion control: slow start, Reno/NewReno halving, CUBIC's 0.7 and its curve (RFC 9438),
the integer cube root; and cwnd traces from harness runs with one loss."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.tcp.congestion import INFINITE_SSTHRESH, CongestionControl, Cubic, NewReno, icbrt
from netsim.proto.tcp.connection import CA_OPEN
from netsim.proto.tcp.settings import MS, S, TCPSettings
from netsim.wire.tcp import TCPSegment
from tests.proto.tcp.harness import App, Pair, Wire

MSS = 1448


# --- the integer cube root -------------------------------------------------------------------


@given(st.integers(0, 2**96))
def test_icbrt_is_the_floor_cube_root(value: int) -> None:
    root = icbrt(value)
    assert root >= 0 and root**3 <= value < (root + 1) ** 3


@given(st.integers(0, 2**32))
def test_icbrt_is_exact_on_cubes(n: int) -> None:
    assert icbrt(n**3) == n
    if n:
        assert icbrt(n**3 - 1) == n - 1


# --- unit rules --------------------------------------------------------------------------------


def test_slow_start_doubles_per_window_of_acks() -> None:
    for cc in (CongestionControl(MSS), NewReno(MSS), Cubic(MSS)):
        assert cc.cwnd == 10 * MSS and cc.ssthresh == INFINITE_SSTHRESH
        for _ in range(4):
            window = cc.cwnd
            for _ in range(window // (2 * MSS)):  # an ACK for every second segment (delayed ACKs)
                cc.on_ack(2 * MSS, 0, 10 * MS)
            assert cc.cwnd == 2 * window


def test_slow_start_counts_everything_a_stretch_ack_acknowledges_as_linux() -> None:
    """Linux's tcp_slow_start: cwnd + acked, no RFC 3465 limit L, up to ssthresh; what is left
    over goes to congestion avoidance."""
    cc = CongestionControl(MSS)
    cc.on_ack(10 * MSS, 0, None)  # one stretch ACK of ten segments
    assert cc.cwnd == 20 * MSS
    cc.ssthresh = 24 * MSS
    cc.on_ack(10 * MSS, 0, None)  # four to reach ssthresh, six into congestion avoidance
    assert cc.cwnd == 24 * MSS and cc._acked == 6 * MSS


def test_reno_halves_the_window_not_the_flight_as_linux() -> None:
    """tcp_reno_ssthresh: max(cwnd / 2, 2) segments, whatever is in flight (RFC 5681 says
    FlightSize: an application-limited sender would halve less than it has)."""
    cc = NewReno(MSS)
    cc.cwnd = 40 * MSS
    assert cc.on_congestion(6 * MSS, 0) == 20 * MSS
    cc.cwnd = 3 * MSS
    assert cc.on_congestion(3 * MSS, 0) == 2 * MSS


def test_reno_and_newreno_halve_on_loss_and_restart_from_one_segment_on_timeout() -> None:
    for cls in (CongestionControl, NewReno):
        cc = cls(MSS)
        cc.cwnd = 40 * MSS
        assert cc.on_congestion(40 * MSS, 0) == 20 * MSS and cc.ssthresh == 20 * MSS
        cc.on_recovery_end()
        assert cc.cwnd == 20 * MSS and not cc.in_slow_start
        cc.cwnd = 3 * MSS
        cc.on_congestion(3 * MSS, 0)
        assert cc.ssthresh == 2 * MSS  # never below 2 segments (RFC 5681 eq. 4, tcp_reno_ssthresh)
        cc.cwnd = 30 * MSS
        cc.on_timeout(30 * MSS, 0)
        assert cc.cwnd == MSS and cc.ssthresh == 15 * MSS


def test_reno_congestion_avoidance_adds_one_segment_per_window() -> None:
    cc = NewReno(MSS)
    cc.cwnd, cc.ssthresh = 20 * MSS, 20 * MSS
    for _ in range(20):
        cc.on_ack(MSS, 0, None)
    assert cc.cwnd == 21 * MSS


def test_cubic_reduces_to_0_7_and_computes_k_per_rfc_9438() -> None:
    cc = Cubic(MSS)
    cc.cwnd = 100 * MSS
    cc.ssthresh = 50 * MSS
    assert cc.on_congestion(100 * MSS, 0) == 70 * MSS
    assert cc.w_max == 100 * MSS
    cc.cwnd = cc.ssthresh  # the engine deflates to ssthresh when recovery ends
    cc.on_ack(MSS, 5 * S, 100 * MS)  # the first ACK in congestion avoidance starts the epoch
    # K = cbrt(W_max (1 - beta) / C) seconds, W in segments (RFC 9438 eq. 2): cbrt(75) s
    expected_ms = (100 * 0.3 / 0.4) ** (1 / 3) * 1000
    assert abs(cc.k_ms - expected_ms) <= 1
    assert cc.k_ms == icbrt(75 * 10**9)
    assert cc.w_cubic(cc.k_ms) == cc.w_max
    # the curve: concave below K, convex above, symmetric around W_max
    points = [cc.w_cubic(t) for t in range(0, 2 * cc.k_ms + 1, cc.k_ms // 4)]
    steps = [b - a for a, b in itertools.pairwise(points)]
    assert all(step >= 0 for step in steps)
    assert steps[:4] == sorted(steps[:4], reverse=True) and steps[4:] == sorted(steps[4:])
    assert abs(points[0] - 70 * MSS) <= MSS


def test_cubic_decrease_is_in_whole_segments_with_linux_beta() -> None:
    """bictcp_recalc_ssthresh: max(cwnd x 717 / 1024, 2) in packets, fast convergence's W_max
    cwnd x (1024 + 717) / 2048 in packets."""
    cc = Cubic(MSS)
    cc.cwnd = 15 * MSS + MSS // 2  # (a window counts whole segments)
    assert cc.on_congestion(cc.cwnd, 0) == 10 * MSS  # 15 x 717 // 1024 = 10 (0.7 x 15.5 MSS would be 10.85)
    cc.cwnd = 2 * MSS
    assert cc.on_congestion(cc.cwnd, 0) == 2 * MSS  # (never below two)
    assert cc.w_max == MSS  # fast convergence: 2 x 1741 // 2048 = 1 segment
    cc.cwnd, cc.w_max = 100 * MSS, 200 * MSS
    cc.on_congestion(cc.cwnd, 0)
    assert cc.w_max == 100 * 1741 // 2048 * MSS == 85 * MSS and cc.ssthresh == 70 * MSS


def test_cubic_fast_convergence() -> None:
    cc = Cubic(MSS)
    cc.cwnd = 100 * MSS
    cc.on_congestion(100 * MSS, 0)
    cc.cwnd = 80 * MSS  # a second loss below the last W_max: release bandwidth (§4.7)
    cc.on_congestion(80 * MSS, 0)
    assert cc.w_max == 80 * MSS * 17 // 20 and cc.ssthresh == 56 * MSS


# --- traces from harness runs ----------------------------------------------------------------


def cwnd_trace(congestion: str, lose_index: int = 60, duration: int = 14 * S) -> tuple[list[tuple[int, int]], Pair]:
    """Bulk transfer over a 100 ms path (rate-limited to 200 Mbit/s) with exactly one data segment
    lost in slow start; cwnd sampled every 50 ms from the end of that loss's recovery."""
    settings = TCPSettings(congestion_control=congestion)
    pair = Pair(Wire(delay=50 * MS, rate_bps=200_000_000), settings_a=settings, settings_b=settings)
    pair.b_kwargs = {"rcvbuf": 6 << 20}
    a = pair.connect(sndbuf=8 << 20)
    dropped: list[int] = []

    def drop(side: int, seg: TCPSegment) -> bool:
        if side == 0 and seg.payload and not dropped and (seg.seq - a.iss - 1) // MSS == lose_index:
            dropped.append(pair.now)
            return True
        return False

    pair.wire.drop_if = drop
    App(pair, "a", bytes(400 << 20), shutdown=False)
    App(pair, "b", shutdown=False)
    trace: list[tuple[int, int]] = []
    state = {"recovered": False}

    def sample() -> None:
        if dropped and (state["recovered"] or (a.ca_state == CA_OPEN and a.total_retransmits)):
            state["recovered"] = True
            trace.append((pair.now, a.cwnd))
        pair.at(pair.now + 50 * MS, sample)

    pair.at(0, sample)
    pair.run(duration)
    assert len(dropped) == 1 and a.total_retransmits == 1 and a.rto_expiries == []
    return trace, pair


def test_cubic_trace_is_concave_then_convex() -> None:
    trace, pair = cwnd_trace("cubic")
    a = pair.a
    assert a is not None and a.cc.name == "cubic"
    cc = a.cc
    assert isinstance(cc, Cubic)
    w_max, k = cc.w_max, cc.k_ms * MS
    start = trace[0][0]
    assert abs(trace[0][1] - w_max * 7 // 10) <= 2 * MSS  # recovery ended at 0.7 W_max
    # growth over successive quarter-K windows: shrinking towards W_max, then growing past it
    def at(t: int) -> int:
        return min((cw for when, cw in trace if when >= start + t), default=trace[-1][1])

    marks = [at(i * k // 4) for i in range(11)]
    steps = [b - a for a, b in itertools.pairwise(marks)]
    assert all(step >= 0 for step in steps), steps
    assert steps[0] > steps[1] > steps[2] >= steps[3], steps  # concave up to W_max
    assert abs(at(k) - w_max) <= w_max // 20  # the plateau at W_max, at K
    # past K: convex, once the cubic term outgrows the Reno-friendly line (RFC 9438 §4.3)
    half = [at(k + i * k // 2) for i in range(4)]
    growth = [b - a for a, b in itertools.pairwise(half)]
    assert growth[2] > growth[0] + growth[1] > 0, growth
    assert marks[-1] > 2 * w_max  # probing well past the old maximum


def test_newreno_trace_is_linear_after_halving() -> None:
    trace, pair = cwnd_trace("newreno", duration=14 * S)
    a = pair.a
    assert a is not None
    ssthresh = a.ssthresh
    start, first = trace[0]
    assert first == ssthresh
    # one segment per round trip: evenly spaced increments, no acceleration or slowdown
    marks = [min((cw for when, cw in trace if when >= start + i * 2 * S), default=0) for i in range(5)]
    steps = [b - a for a, b in itertools.pairwise(marks)]
    assert all(step > 0 for step in steps), steps
    assert max(steps) <= 1.3 * min(steps), steps
    srtt = a.rtt.srtt
    assert srtt is not None
    per_rtt = (marks[-1] - marks[0]) * srtt / (8 * S)
    assert 0.75 * MSS <= per_rtt <= 1.25 * MSS  # one segment per round trip (RFC 5681 §3.1)


def test_slow_start_doubles_per_rtt_on_the_wire() -> None:
    settings = TCPSettings(congestion_control="reno")
    pair = Pair(Wire(delay=50 * MS), settings_a=settings, settings_b=settings)
    pair.b_kwargs = {"rcvbuf": 6 << 20}
    pair.connect(sndbuf=8 << 20)
    App(pair, "a", bytes(4 << 20), shutdown=False)
    App(pair, "b", shutdown=False)
    pair.run(650 * MS)
    bursts: dict[int, int] = {}
    for t, d, seg in pair.log:
        if d == "A>" and seg.payload:
            bursts[t // (100 * MS)] = bursts.get(t // (100 * MS), 0) + 1
    counts = [bursts[key] for key in sorted(bursts)]
    assert counts[:5] == [10, 20, 40, 80, 160], counts


def _acked_one_by_one(conn: Any, segments: int, now: int) -> list[int]:
    """Send ``segments`` full segments, then ACK them one at a time; the windows seen."""
    from tests.proto.tcp.test_connection import PEER_ISS, inbound

    conn.send(bytes(segments * conn.mss), now)
    sent = conn.take_outbox()
    windows = []
    for index, seg in enumerate(sent):
        ack = (seg.seq + len(seg.payload)) & 0xFFFFFFFF
        conn.segment_arrives(inbound(PEER_ISS + 1, ack, 0x10), now + 10 * MS + index)
        conn.take_outbox()
        windows.append(conn.cwnd // conn.mss)
    return windows


def test_an_application_limited_sender_does_not_grow_its_window() -> None:
    """Linux's tcp_is_cwnd_limited (the spirit of RFC 7661): in slow start cwnd grows only
    while below twice the most segments the application had out; the kernel's own example:
    IW10 and 9 segments written, cwnd reaches 18 when all are ACKed, and one segment per round
    trip never grows it."""
    from tests.proto.tcp.test_connection import active_established

    conn = active_established()
    assert _acked_one_by_one(conn, 9, 20 * MS)[-1] == 18
    conn = active_established()
    for round_trip in range(20):
        assert _acked_one_by_one(conn, 1, (20 + 20 * round_trip) * MS) == [10]
    conn = active_established()  # a bulk sender (the window used up) grows as before
    assert _acked_one_by_one(conn, 10, 20 * MS)[-1] == 20


def test_the_window_restarts_after_an_idle_rto() -> None:
    """RFC 5681 §4.1 as Linux's tcp_cwnd_restart (tcp_slow_start_after_idle = 1): new data
    after more than an RTO with nothing in flight halves cwnd for every RTO idle, down to the
    initial window; ssthresh keeps 3/4 of the old window.  Shorter pauses change nothing."""
    from tests.proto.tcp.test_connection import active_established

    for on, pause, expected in ((True, 100 * MS, 20), (True, 5 * S, 10), (False, 5 * S, 20)):
        conn = active_established(TCPSettings(slow_start_after_idle=on))
        assert _acked_one_by_one(conn, 10, 20 * MS)[-1] == 20
        conn.cc.ssthresh = 12 * conn.mss  # (as after an earlier loss)
        now = 40 * MS + pause
        conn.send(bytes(conn.mss), now)
        conn.take_outbox()
        assert conn.cwnd // conn.mss == expected, (on, pause)
        assert conn.ssthresh // conn.mss == (15 if expected == 10 else 12)  # max(12, 20 x 3/4)


def test_a_restart_window_halves_once_per_idle_rto() -> None:
    from tests.proto.tcp.test_connection import active_established

    conn = active_established()
    for round_trip in range(3):  # 10 -> 20 -> 40 -> 80 segments
        _acked_one_by_one(conn, conn.cwnd // conn.mss, (20 + 20 * round_trip) * MS)
    assert conn.cwnd // conn.mss == 80
    rto = conn.rtt.rto
    conn.send(bytes(conn.mss), conn.lsndtime + 2 * rto + rto // 2)  # 2.5 RTOs idle: halved twice
    assert conn.cwnd // conn.mss == 20
