"""The engine alone against a hostile peer: a Hypothesis state machine.

One connection (opened actively, or passively from a SYN) is driven by random user calls
(send, recv, shutdown, close, abort, time passing) and random inbound segments, valid and not:
sequence numbers in and out of the receive window, ACKs below, at and above SND.NXT, any mix of
SYN/RST/FIN/ACK/PSH, data, timestamps (fresh and stale), SACK blocks (sensible and not) and
zero windows.  The peer's data follows a fixed pattern of its sequence number, so whatever the
application reads can be checked byte by byte.

After every step: every recorded transition is legal for its cause and continues the last one;
SND.UNA <= SND.NXT and SND.UNA never passes what was emitted; pipe, flight and the SACK/loss
accounting are consistent and non-negative; every outgoing segment encodes to bytes that decode
back; after CLOSED no timer is left; no exception escapes.
"""

from __future__ import annotations

import itertools
from ipaddress import IPv4Address

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from netsim.proto.tcp.connection import _SENDING_STATES, ACK, FIN, PSH, RST, SYN, TCPConnection
from netsim.proto.tcp.seq import seq_add, seq_le, seq_lt, seq_sub
from netsim.proto.tcp.settings import MS, S, TCPSettings
from netsim.proto.tcp.states import TCPState, legal
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp_options import (
    TCPOption,
    TCPOptionMSS,
    TCPOptionNOP,
    TCPOptionSACK,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionWindowScale,
)

LOCAL, REMOTE = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
MASK = 0xFFFFFFFF


def pattern(seq: int, size: int) -> bytes:
    """The peer's byte at sequence number s is a function of s (mod 2**32)."""
    return bytes(((s * 2654435761) >> 13) & 0xFF for s in ((seq + i) & MASK for i in range(size)))


def syn_options(draw_mss: int | None, sack: bool, ts: tuple[int, int] | None, ws: int | None) -> tuple[TCPOption, ...]:
    options: list[TCPOption] = []
    if draw_mss is not None:
        options.append(TCPOptionMSS(draw_mss))
    if sack:
        options += [TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACKPermitted()]
    if ts is not None:
        options += [TCPOptionNOP(), TCPOptionNOP(), TCPOptionTimestamps(*ts)]
    if ws is not None:
        options += [TCPOptionNOP(), TCPOptionWindowScale(ws)]
    while len(b"".join(o.to_bytes() for o in options)) % 4:
        options.append(TCPOptionNOP())
    return tuple(options)


SEQ_KINDS = ("next", "next", "next", "in-window", "edge", "below", "far", "random")
ACK_KINDS = ("nxt", "nxt", "una", "between", "below", "above", "far", "random", "none")


class EngineMachine(RuleBasedStateMachine):
    conn: TCPConnection

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.peer_iss = 0
        self.emitted_end = 0  # the highest sequence number (+ length) the engine ever emitted
        self.emitted_any = False
        self.emitted_segs: list[tuple[int, int]] = []
        self.peer_ts = 1000
        self.read_offset = 0  # how far into the peer's stream the application has read
        self.seen_transitions = 0
        self.settings = TCPSettings()

    # --- starting ----------------------------------------------------------------------------

    @initialize(active=st.booleans(), iss=st.integers(0, MASK), peer_iss=st.integers(0, MASK),
                ts=st.booleans(), sack=st.booleans(), ws=st.sampled_from([None, 0, 2, 7, 14, 15]),
                mss=st.sampled_from([None, 88, 536, 1000, 1460, 9000]), rcvbuf=st.sampled_from([None, 4096, 20000]),
                congestion=st.sampled_from(["reno", "newreno", "cubic"]), nodelay=st.booleans(),
                keepalive=st.booleans(), time_wait=st.sampled_from([60 * S, 2 * S]),
                complete=st.sampled_from([True, True, True, False]), recovery=st.sampled_from([1, 1, 5, 0]),
                frto=st.sampled_from([2, 0]))
    def start(self, active: bool, iss: int, peer_iss: int, ts: bool, sack: bool, ws: int | None,
              mss: int | None, rcvbuf: int | None, congestion: str, nodelay: bool, keepalive: bool,
              time_wait: int, complete: bool, recovery: int, frto: int) -> None:
        self.settings = TCPSettings(time_wait=time_wait, keepalive_time=30 * S, keepalive_intvl=5 * S,
                                    retries2=6, syn_retries=3, recovery=recovery, frto=frto)
        self.peer_iss = peer_iss
        self.peer_opts = syn_options(mss, sack, (self.peer_ts, 0) if ts else None, ws)
        kwargs = {"settings": self.settings, "iss": iss, "now": 0, "rcvbuf": rcvbuf, "sndbuf": 20000,
                  "congestion": congestion, "nodelay": nodelay, "keepalive": keepalive}
        if active:
            self.conn = TCPConnection.active(40000, 9000, **kwargs)  # type: ignore[arg-type]
        else:
            syn = TCPSegment(src_port=9000, dst_port=40000, seq=peer_iss, flags=SYN, window=29200,
                             options=self.peer_opts)
            self.conn = TCPConnection.passive(syn, **kwargs)  # type: ignore[arg-type]
        self._collect()
        if complete:
            self.handshake(65535)

    # --- the peer's segments -------------------------------------------------------------------

    def _peer_seq(self, kind: str, offset: int) -> int:
        conn = self.conn
        base = self.peer_iss if conn.state is TCPState.SYN_SENT else conn.rcv_nxt
        window = max(conn.rcv_wnd, 1)
        if kind == "next":
            return base
        if kind == "in-window":
            return seq_add(base, offset % window)
        if kind == "edge":
            return seq_add(base, window)
        if kind == "below":
            return seq_add(base, -1 - offset % 70000)
        if kind == "far":
            return seq_add(base, 1 << 30)
        return offset & MASK

    def _peer_ack(self, kind: str, offset: int) -> tuple[int, bool]:
        conn = self.conn
        una, nxt = conn.snd_una, conn.snd_nxt
        if kind == "none":
            return 0, False
        if kind == "nxt":
            return nxt, True
        if kind == "una":
            return una, True
        if kind == "between":
            span = seq_sub(nxt, una)
            return seq_add(una, offset % (span + 1)), True
        if kind == "below":
            return seq_add(una, -1 - offset % 100_000), True
        if kind == "above":
            return seq_add(nxt, 1 + offset % 100_000), True
        if kind == "far":
            return seq_add(una, 1 << 31), True
        return offset & MASK, True

    def _options(self, ts_kind: str, sack_kind: str, offset: int) -> tuple[TCPOption, ...]:
        options: list[TCPOption] = []
        if ts_kind != "none":
            if ts_kind == "fresh":
                self.peer_ts = (self.peer_ts + 1 + offset % 50) & MASK
                tsval = self.peer_ts
            elif ts_kind == "stale":
                tsval = (self.peer_ts - 1 - offset % 5000) & MASK
            else:
                tsval = offset & MASK
            options += [TCPOptionNOP(), TCPOptionNOP(), TCPOptionTimestamps(tsval, (offset * 7) & MASK)]
        if sack_kind != "none":
            conn = self.conn
            una, span = conn.snd_una, max(1, seq_sub(conn.snd_nxt, conn.snd_una))
            blocks: list[tuple[int, int]] = []
            for i in range(1 if ts_kind != "none" else 2):
                live = [(a, b) for a, b in self.emitted_segs if seq_lt(una, b) and seq_le(b, conn.snd_nxt)]
                if sack_kind == "inside" and live:
                    # what a real receiver would report: whole segments we emitted, above SND.UNA
                    first = (offset >> (4 * i)) % len(live)
                    last = min(len(live) - 1, first + (offset >> (4 * i + 2)) % 3)
                    blocks.append((live[first][0], live[last][1]))
                elif sack_kind == "inside":
                    lo = (offset * (i + 3)) % span
                    hi = lo + 1 + (offset * (i + 5)) % max(1, span - lo)
                    blocks.append((seq_add(una, lo), seq_add(una, hi)))
                elif sack_kind == "dsack":
                    blocks.append((seq_add(una, -100), una))
                else:
                    left = (offset * (i + 11)) & MASK
                    blocks.append((left, seq_add(left, offset % 5000)))
            options += [TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACK(tuple(blocks))]
        return tuple(options)

    @rule(seq_kind=st.sampled_from(SEQ_KINDS), ack_kind=st.sampled_from(ACK_KINDS),
          flags=st.sampled_from([ACK, ACK, ACK, ACK | PSH, ACK | PSH, ACK | FIN, FIN, SYN, SYN | ACK, RST, RST | ACK,
                                 ACK | SYN | FIN, RST | SYN, 0]) | st.integers(0, 0x3F),
          size=st.sampled_from([0, 0, 1, 100, 536, 1460, 3000]),
          window=st.sampled_from([0, 1, 100, 1000, 29200, 65535]),
          ts_kind=st.sampled_from(["none", "fresh", "fresh", "stale", "random"]),
          sack_kind=st.sampled_from(["none", "inside", "inside", "dsack", "random"]),
          offset=st.integers(0, MASK), delay=st.sampled_from([0, 1, MS, 10 * MS]))
    def segment(self, seq_kind: str, ack_kind: str, flags: int, size: int, window: int, ts_kind: str,
                sack_kind: str, offset: int, delay: int) -> None:
        conn = self.conn
        seq = self._peer_seq(seq_kind, offset)
        ack, has_ack = self._peer_ack(ack_kind, offset)
        flags = (flags | ACK) if has_ack and flags & ACK else flags & ~ACK
        if not flags & ACK:
            ack = 0
        if flags & SYN:
            options = self.peer_opts if offset & 1 else ()
        else:
            options = self._options(ts_kind if conn.ts_ok else "none", sack_kind if conn.sack_ok else "none", offset)
        payload = pattern(seq, size)
        seg = TCPSegment(src_port=9000, dst_port=40000, seq=seq, ack=ack, flags=flags, window=window,
                         options=options, payload=payload)
        self.now += delay
        conn.segment_arrives(seg, self.now)
        self._collect()

    @precondition(lambda self: self.conn.state in (TCPState.SYN_SENT, TCPState.SYN_RECEIVED))
    @rule(window=st.sampled_from([0, 1000, 29200, 65535]))
    def handshake(self, window: int) -> None:
        """The segment that completes the handshake (a SYN-ACK, or the third ACK)."""
        conn = self.conn
        if conn.state is TCPState.SYN_SENT:
            seg = TCPSegment(src_port=9000, dst_port=40000, seq=self.peer_iss, ack=conn.snd_nxt, flags=SYN | ACK,
                             window=window, options=self.peer_opts)
        else:
            options = self._options("fresh" if conn.ts_ok else "none", "none", 0)
            seg = TCPSegment(src_port=9000, dst_port=40000, seq=conn.rcv_nxt, ack=conn.snd_nxt, flags=ACK,
                             window=window, options=options)
        self.now += MS
        conn.segment_arrives(seg, self.now)
        self._collect()

    @precondition(lambda self: self.conn.state.synchronized)
    @rule(size=st.sampled_from([1, 200, 1460, 5000]), fin=st.booleans(), gap=st.sampled_from([0, 0, 0, 1, 1000]),
          ack_all=st.booleans(), window=st.sampled_from([0, 65535]))
    def peer_data(self, size: int, fin: bool, gap: int, ack_all: bool, window: int) -> None:
        """Well-formed peer data at (or a little past) RCV.NXT, acknowledging some or all we sent."""
        conn = self.conn
        seq = seq_add(conn.rcv_nxt, gap)
        ack = conn.snd_nxt if ack_all else conn.snd_una
        options = self._options("fresh" if conn.ts_ok else "none", "none", size)
        seg = TCPSegment(src_port=9000, dst_port=40000, seq=seq, ack=ack, flags=ACK | PSH | (FIN if fin else 0),
                         window=window, options=options, payload=pattern(seq, size))
        self.now += MS
        conn.segment_arrives(seg, self.now)
        self._collect()

    @precondition(lambda self: self.conn.state.synchronized and self.conn.flight > 0)
    @rule(picks=st.lists(st.integers(0, 63), min_size=0, max_size=3), advance=st.integers(0, 40))
    def peer_sack(self, picks: list[int], advance: int) -> None:
        """A duplicate ACK of SND.UNA, with SACK blocks for segments we emitted (when SACK is on)."""
        conn = self.conn
        una = conn.snd_una
        live = [(a, b) for a, b in self.emitted_segs if seq_lt(una, b) and seq_le(b, conn.snd_nxt)
                and not seq_lt(a, una)]
        options: list[TCPOption] = []
        if conn.ts_ok:
            self.peer_ts = (self.peer_ts + 1) & MASK
            options += [TCPOptionNOP(), TCPOptionNOP(), TCPOptionTimestamps(self.peer_ts, 0)]
        if conn.sack_ok and live and picks:
            blocks = [live[p % len(live)] for p in picks[: 3 if conn.ts_ok else 4]]
            options += [TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACK(tuple(blocks))]
        seg = TCPSegment(src_port=9000, dst_port=40000, seq=conn.rcv_nxt, ack=una, flags=ACK,
                         window=conn.snd_wnd >> conn.snd_wscale if conn.snd_wnd else 65535, options=tuple(options))
        self.now += advance * MS // 10
        conn.segment_arrives(seg, self.now)
        self._collect()

    # --- the application and the clock -----------------------------------------------------------

    @rule(size=st.sampled_from([1, 10, 100, 1000, 1460, 5000, 30000]))
    def send(self, size: int) -> None:
        taken = self.conn.send(bytes(size), self.now)
        assert 0 <= taken <= size
        self._collect()

    @rule(size=st.sampled_from([1, 100, 5000, 1 << 20]))
    def recv(self, size: int) -> None:
        data = self.conn.recv(size, self.now)
        assert len(data) <= size
        if data:
            start = seq_add(self.conn.irs, 1 + self.read_offset)
            assert data == pattern(start, len(data)), "the application read bytes the peer never sent there"
            self.read_offset += len(data)
        self._collect()

    @rule(call=st.sampled_from(["shutdown", "shutdown", "close", "abort"]), go=st.integers(0, 5))
    def finish(self, call: str, go: int) -> None:
        """shutdown(), close() or abort(), rarely (they end most of the interesting runs)."""
        if go == 5:
            getattr(self.conn, call)(self.now)
        self._collect()

    @rule(step=st.sampled_from([1, MS, 40 * MS, 200 * MS, S, 10 * S, 100 * S]))
    def advance(self, step: int) -> None:
        self.now += step
        deadline = self.conn.next_deadline()
        if deadline is not None and deadline <= self.now:
            self.conn.on_timer(self.now)
        self._collect()

    @rule()
    def next_timer(self) -> None:
        deadline = self.conn.next_deadline()
        if deadline is not None:
            assert deadline >= self.now or deadline >= 0
            self.now = max(self.now, deadline)
            self.conn.on_timer(self.now)
        self._collect()

    @rule(mtu=st.sampled_from([576, 1000, 1280, 1400]))
    def pmtu(self, mtu: int) -> None:
        before = self.conn.mss
        self.conn.set_pmtu(mtu, self.now)
        assert self.conn.mss <= before
        self._collect()

    # --- checks ------------------------------------------------------------------------------

    def _collect(self) -> None:
        for seg in self.conn.take_outbox():
            data = seg.to_bytes(src=LOCAL, dst=REMOTE)
            back = TCPSegment.parse(data, src=LOCAL, dst=REMOTE, verify=True)
            assert (back.seq, back.ack, back.flags, back.window, back.options, back.payload) == (
                seg.seq, seg.ack, seg.flags, seg.window, seg.options, seg.payload)
            assert seg.src_port == 40000 and seg.dst_port == 9000
            if seg.flags & RST:
                continue  # a reset's sequence number may be the peer's ack (RFC 9293 §3.10.7.1)
            end = seq_add(seg.seq, seg.seg_len)
            if seg.payload:
                self.emitted_segs.append((seg.seq, end))
                del self.emitted_segs[:-64]
            if not self.emitted_any or seq_lt(self.emitted_end, end):
                self.emitted_end = end
                self.emitted_any = True

    @invariant()
    def transitions_are_legal(self) -> None:
        conn = self.conn
        transitions = conn.transitions
        for now, old, new, cause in transitions[self.seen_transitions:]:
            assert legal(old, new, cause), (old, new, cause)
            assert now <= self.now
        for (_, _, previous, _), (_, old, _, _) in itertools.pairwise(transitions):
            assert previous is old
        if transitions:
            assert transitions[-1][2] is conn.state
        self.seen_transitions = len(transitions)

    @invariant()
    def sequence_space(self) -> None:
        conn = self.conn
        assert seq_le(conn.snd_una, conn.snd_nxt)
        assert 0 <= conn._una <= conn._max
        if self.emitted_any:
            assert seq_le(conn.snd_una, self.emitted_end), "acknowledged beyond anything sent"
            assert seq_le(conn.snd_nxt, self.emitted_end)
        assert conn.flight >= 0 and conn.pipe >= 0

    @invariant()
    def accounting(self) -> None:
        conn = self.conn
        rtx = list(conn.rtx)
        assert conn._sacked_bytes == sum(s.end - s.start for s in rtx if s.sacked)
        assert conn._lost_bytes == sum(s.end - s.start for s in rtx if s.lost)
        assert conn._retrans_bytes == sum(s.end - s.start for s in rtx if s.retrans_out)
        for earlier, later in itertools.pairwise(rtx):
            assert earlier.end <= later.start
        for seg in rtx:
            assert conn._una <= seg.start < seg.end <= conn._max or (seg.start < conn._una < seg.end)
        assert conn.cwnd >= 1 and conn.ssthresh >= 1

    @invariant()
    def closed_means_quiet(self) -> None:
        conn = self.conn
        if conn.state is TCPState.CLOSED:
            assert conn.next_deadline() is None
        if conn.error:
            assert conn.state is TCPState.CLOSED

    @invariant()
    def timers_are_sane(self) -> None:
        conn = self.conn
        deadline = conn.next_deadline()
        if deadline is not None:
            assert deadline >= 0
        if conn.state in _SENDING_STATES and conn.rtx:
            # something sent and not acknowledged: a timer will resend it (never a stall)
            assert (conn.t_rtx is not None or conn.t_tlp is not None or conn.t_reo is not None
                    or conn.t_persist is not None)
        # the probe timer and RACK's reordering timer stand in for the RTO: one of the three at most
        assert [conn.t_rtx, conn.t_tlp, conn.t_reo].count(None) >= 2
        # the scoreboard's byte counts are what the queue's marks add up to
        assert conn._lost_bytes == sum(s.end - s.start for s in conn.rtx if s.lost)
        assert conn._retrans_bytes == sum(s.end - s.start for s in conn.rtx if s.retrans_out)
        assert conn._sacked_bytes == sum(s.end - s.start for s in conn.rtx if s.sacked)


EngineMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestEngine = EngineMachine.TestCase


def test_pattern_is_a_function_of_the_sequence_number() -> None:
    assert pattern(MASK, 2) == pattern(MASK, 1) + pattern(0, 1)
