"""Unit tests of the sans-I/O TCP engine: handshake options, segmentation, Nagle, delayed ACKs,
opening and closing (simultaneous ones too), every state, TIME-WAIT, RFC 5961, wraparound,
zero windows, the retransmission and keepalive timers, recovery, PMTU and window scaling.

Two ways in: by hand (a connection and segments we build, to see exactly what it answers), and
through the two-engine harness (real bytes on a wire with delay and chosen drops)."""

from __future__ import annotations

import errno
import itertools

import pytest

from netsim.proto.tcp.connection import ACK, CA_LOSS, CA_OPEN, EV_EOF, EV_ERROR, FIN, PSH, RST, SYN, TCPConnection
from netsim.proto.tcp.seq import seq_add, seq_sub
from netsim.proto.tcp.settings import MS, S, TCPSettings
from netsim.proto.tcp.states import TCPState, legal
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp_options import (
    TCPOptionMSS,
    TCPOptionNOP,
    TCPOptionSACK,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionWindowScale,
)
from tests.proto.tcp.harness import App, Pair, Wire

PEER_ISS = 7_000_000


# --- helpers ---------------------------------------------------------------------------------


def inbound(seq: int, ack: int, flags: int, payload: bytes = b"", window: int = 65535,
            options: tuple = ()) -> TCPSegment:  # type: ignore[type-arg]
    """A segment from the peer (9000) to our connection (40000)."""
    return TCPSegment(src_port=9000, dst_port=40000, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF, flags=flags,
                      window=window, options=options, payload=payload)


def active_established(settings: TCPSettings | None = None, *, peer_options: tuple = (),  # type: ignore[type-arg]
                       peer_window: int = 65535, **kwargs: object) -> TCPConnection:
    """A connection opened actively and completed by a hand-made SYN-ACK at t = 10 ms."""
    conn = TCPConnection.active(40000, 9000, settings=settings or TCPSettings(), iss=1000, now=0, **kwargs)  # type: ignore[arg-type]
    conn.take_outbox()
    conn.segment_arrives(inbound(PEER_ISS, 1001, SYN | ACK, window=peer_window, options=peer_options), 10 * MS)
    assert conn.state is TCPState.ESTABLISHED
    conn.take_outbox()
    return conn


def passive_established(settings: TCPSettings | None = None, *, syn_options: tuple = (),  # type: ignore[type-arg]
                        **kwargs: object) -> TCPConnection:
    """A connection opened by a hand-made SYN and completed by a hand-made ACK."""
    syn = TCPSegment(src_port=40000, dst_port=9000, seq=PEER_ISS, flags=SYN, window=65535, options=syn_options)
    conn = TCPConnection.passive(syn, settings=settings or TCPSettings(), iss=5000, now=0, **kwargs)  # type: ignore[arg-type]
    conn.take_outbox()
    ack = TCPSegment(src_port=40000, dst_port=9000, seq=PEER_ISS + 1, ack=5001, flags=ACK, window=65535)
    conn.segment_arrives(ack, 10 * MS)
    assert conn.state is TCPState.ESTABLISHED
    return conn


def data_in(conn: TCPConnection, offset: int, payload: bytes, flags: int = ACK) -> TCPSegment:
    """Peer data at ``offset`` bytes into the peer's stream, acking everything we sent."""
    return TCPSegment(src_port=conn.remote_port, dst_port=conn.local_port, seq=seq_add(conn.irs, 1 + offset),
                      ack=conn.snd_nxt, flags=flags, window=65535, payload=payload)


def established_pair(wire: Wire | None = None, *, settings_a: TCPSettings | None = None,
                     settings_b: TCPSettings | None = None, b_kwargs: dict | None = None,  # type: ignore[type-arg]
                     **kwargs: object) -> Pair:
    pair = Pair(wire, settings_a=settings_a, settings_b=settings_b)
    if b_kwargs:
        pair.b_kwargs = b_kwargs
    pair.connect(**kwargs)
    pair.run(pair.now + 100 * MS)
    assert pair.a is not None and pair.b is not None
    assert pair.a.state is TCPState.ESTABLISHED and pair.b.state is TCPState.ESTABLISHED
    return pair


def sent_by(pair: Pair, who: str, since: int = 0) -> list[TCPSegment]:
    return [seg for t, d, seg in pair.log if d == who + ">" and t >= since]


def check_transitions(conn: TCPConnection) -> None:
    previous = None
    for _, old, new, cause in conn.transitions:
        assert legal(old, new, cause), (old, new, cause)
        if previous is not None:
            assert old is previous
        previous = new


def transfer(pair: Pair, size: int, until: int = 60 * S, **app: object) -> tuple[App, App]:
    data = bytes((i * 7 + i // 256) & 0xFF for i in range(size))
    sender = App(pair, "a", data, **app)  # type: ignore[arg-type]
    receiver = App(pair, "b", shutdown=False)
    pair.run(pair.now + until, stop=lambda: receiver.done_reading)
    assert bytes(receiver.got) == data
    return sender, receiver


# --- the handshake ---------------------------------------------------------------------------


def test_syn_carries_linux_options_in_linux_order() -> None:
    conn = TCPConnection.active(40000, 9000, settings=TCPSettings(), iss=1000, now=0)
    [syn] = conn.take_outbox()
    assert syn.flags == SYN and syn.seq == 1000 and syn.ack == 0
    assert [type(o) for o in syn.options] == [TCPOptionMSS, TCPOptionSACKPermitted, TCPOptionTimestamps,
                                              TCPOptionNOP, TCPOptionWindowScale]
    assert syn.options[0] == TCPOptionMSS(1460)
    assert syn.options[4] == TCPOptionWindowScale(7)
    assert syn.window == 64240  # 44 * 1460, the free space rounded to the MSS
    assert len(syn.to_bytes(src=__import__("ipaddress").IPv4Address("10.0.0.1"),
                            dst=__import__("ipaddress").IPv4Address("10.0.0.2"))) == 40


def test_syn_without_timestamps_pads_with_nops() -> None:
    conn = TCPConnection.active(40000, 9000, settings=TCPSettings(timestamps=False), iss=1, now=0)
    [syn] = conn.take_outbox()
    assert [type(o) for o in syn.options] == [TCPOptionMSS, TCPOptionNOP, TCPOptionNOP, TCPOptionSACKPermitted,
                                              TCPOptionNOP, TCPOptionWindowScale]


def test_syn_ack_answers_only_the_options_offered() -> None:
    syn = TCPSegment(src_port=40000, dst_port=9000, seq=PEER_ISS, flags=SYN, window=65535,
                     options=(TCPOptionMSS(1400), TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACKPermitted()))
    conn = TCPConnection.passive(syn, settings=TCPSettings(), iss=5000, now=0)
    [synack] = conn.take_outbox()
    assert synack.flags == SYN | ACK and synack.ack == PEER_ISS + 1 and synack.seq == 5000
    kinds = [type(o) for o in synack.options]
    assert TCPOptionTimestamps not in kinds and TCPOptionWindowScale not in kinds
    assert TCPOptionSACKPermitted in kinds and synack.options[0] == TCPOptionMSS(1460)
    assert conn.mss == 1400 and conn.sack_ok and not conn.ts_ok and not conn.ws_ok
    assert conn.state is TCPState.SYN_RECEIVED
    assert conn.transitions == [(0, TCPState.LISTEN, TCPState.SYN_RECEIVED, "rcv SYN")]


def test_mss_1448_with_timestamps_and_1460_without() -> None:
    for timestamps, expected in ((True, 1448), (False, 1460)):
        settings = TCPSettings(timestamps=timestamps)
        pair = established_pair(settings_a=settings, settings_b=settings)
        assert pair.a is not None and pair.b is not None
        assert pair.a.mss == expected and pair.b.mss == expected
        start = pair.now
        transfer(pair, 20 * expected)
        sizes = [len(s.payload) for s in sent_by(pair, "A", start) if s.payload]
        assert max(sizes) == expected


def test_default_mss_536_when_the_peer_sends_none() -> None:
    conn = active_established()  # the hand-made SYN-ACK has no options
    assert conn.mss == 536 and not conn.ts_ok and not conn.sack_ok and not conn.ws_ok
    conn.send(b"x" * 2000, 20 * MS)
    sizes = [len(s.payload) for s in conn.take_outbox()]
    assert sizes == [536, 536, 536, 392]
    syn = TCPSegment(src_port=40000, dst_port=9000, seq=1, flags=SYN, window=65535)
    assert TCPConnection.passive(syn, settings=TCPSettings(), iss=1, now=0).mss == 536


@pytest.mark.parametrize("congestion", ["reno", "cubic"])
def test_a_megabyte_send_leaves_as_mss_sized_segments(congestion: str) -> None:
    pair = established_pair(sndbuf=2 << 20, congestion=congestion)
    a = pair.a
    assert a is not None
    start = pair.now
    sender, _ = transfer(pair, 1 << 20, chunks=(1 << 20,))
    assert sender.writes == 1  # one send() of the whole megabyte
    sizes = [len(s.payload) for s in sent_by(pair, "A", start) if s.payload]
    assert sum(sizes) == 1 << 20  # no retransmissions on a clean wire
    assert sizes == [1448] * ((1 << 20) // 1448) + [(1 << 20) % 1448]


def test_simultaneous_open() -> None:
    settings = TCPSettings()
    a = TCPConnection.active(40000, 9000, settings=settings, iss=1000, now=0)
    b = TCPConnection.active(9000, 40000, settings=settings, iss=90000, now=0)
    [syn_a], [syn_b] = a.take_outbox(), b.take_outbox()
    a.segment_arrives(syn_b, 5 * MS)
    b.segment_arrives(syn_a, 5 * MS)
    assert a.state is TCPState.SYN_RECEIVED and b.state is TCPState.SYN_RECEIVED
    synack_a, synack_b = a.take_outbox(), b.take_outbox()
    assert [s.flags for s in synack_a] == [SYN | ACK] and synack_a[0].seq == 1000 and synack_a[0].ack == 90001
    a.segment_arrives(synack_b[0], 10 * MS)
    b.segment_arrives(synack_a[0], 10 * MS)
    assert a.state is TCPState.ESTABLISHED and b.state is TCPState.ESTABLISHED
    assert a.snd_una == 1001 and a.rcv_nxt == 90001 and b.snd_una == 90001 and b.rcv_nxt == 1001
    assert [(old, new) for _, old, new, _ in a.transitions] == [
        (TCPState.CLOSED, TCPState.SYN_SENT), (TCPState.SYN_SENT, TCPState.SYN_RECEIVED),
        (TCPState.SYN_RECEIVED, TCPState.ESTABLISHED)]
    check_transitions(a)
    check_transitions(b)
    # and data flows both ways afterwards
    for seg in a.take_outbox():
        b.segment_arrives(seg, 11 * MS)
    for seg in b.take_outbox():
        a.segment_arrives(seg, 11 * MS)
    a.send(b"hello", 12 * MS)
    for seg in a.take_outbox():
        b.segment_arrives(seg, 15 * MS)
    assert b.recv(100, 16 * MS) == b"hello"


def test_normal_close_walks_both_sides_through_their_states() -> None:
    pair = established_pair()
    a, b = pair.a, pair.b
    assert a is not None and b is not None
    a.close(pair.now)
    pair.flush()
    assert a.state is TCPState.FIN_WAIT_1
    pair.run(pair.now + 100 * MS)
    assert a.state is TCPState.FIN_WAIT_2 and b.state is TCPState.CLOSE_WAIT and b.eof
    b.close(pair.now)
    pair.flush()
    assert b.state is TCPState.LAST_ACK
    pair.run(pair.now + 100 * MS)
    assert b.state is TCPState.CLOSED and a.state is TCPState.TIME_WAIT and b.error == 0
    assert b.next_deadline() is None
    check_transitions(a)
    check_transitions(b)


def test_simultaneous_close_goes_through_closing() -> None:
    pair = established_pair()
    a, b = pair.a, pair.b
    assert a is not None and b is not None
    a.shutdown(pair.now)
    b.shutdown(pair.now)
    pair.flush()
    pair.run(pair.now + 100 * MS)
    for conn in (a, b):
        states = [new for _, _, new, _ in conn.transitions]
        assert states[-3:] == [TCPState.FIN_WAIT_1, TCPState.CLOSING, TCPState.TIME_WAIT]
        check_transitions(conn)


def test_half_close_keeps_receiving() -> None:
    pair = established_pair()
    a, b = pair.a, pair.b
    assert a is not None and b is not None
    a.shutdown(pair.now)
    pair.flush()
    pair.run(pair.now + 100 * MS)
    assert a.state is TCPState.FIN_WAIT_2 and b.state is TCPState.CLOSE_WAIT
    assert a.send(b"too late", pair.now) == 0
    data = bytes(range(256)) * 200
    sender = App(pair, "b", data)
    reader = App(pair, "a", shutdown=False)
    pair.run(pair.now + 10 * S, stop=lambda: reader.done_reading)
    assert bytes(reader.got) == data and sender.shut
    pair.run(pair.now + 100 * MS)
    assert a.state is TCPState.TIME_WAIT and b.state is TCPState.CLOSED


def test_every_state_is_reached() -> None:
    seen: set[TCPState] = set()

    def note(*conns: TCPConnection | None) -> None:
        for conn in conns:
            assert conn is not None
            check_transitions(conn)
            for _, old, new, _ in conn.transitions:
                seen.update((old, new))

    pair = established_pair()
    assert pair.a is not None and pair.b is not None
    pair.a.close(pair.now)
    pair.flush()
    pair.run(pair.now + 100 * MS)
    pair.b.close(pair.now)
    pair.flush()
    pair.run(pair.now + 61 * S)
    note(pair.a, pair.b)
    assert pair.a.state is TCPState.CLOSED  # TIME-WAIT has run out
    pair = established_pair()
    assert pair.a is not None and pair.b is not None
    pair.a.shutdown(pair.now)
    pair.b.shutdown(pair.now)
    pair.flush()
    pair.run(pair.now + 100 * MS)
    note(pair.a, pair.b)
    a = TCPConnection.active(1, 2, settings=TCPSettings(), iss=1, now=0)
    b = TCPConnection.active(2, 1, settings=TCPSettings(), iss=2, now=0)
    b.segment_arrives(a.take_outbox()[0], 1)
    note(b)
    assert seen == set(TCPState)


# --- TIME-WAIT -------------------------------------------------------------------------------


@pytest.mark.parametrize("time_wait", [60 * S, 5 * S])
def test_time_wait_lasts_its_setting_and_reacks_a_retransmitted_fin(time_wait: int) -> None:
    settings = TCPSettings(time_wait=time_wait) if time_wait != 60 * S else TCPSettings()
    pair = established_pair(settings_a=settings)
    a, b = pair.a, pair.b
    assert a is not None and b is not None
    a.close(pair.now)
    pair.flush()
    pair.run(pair.now + 100 * MS)
    b.close(pair.now)
    pair.flush()
    [fin] = [s for _, d, s in pair.log if d == "B>" and s.flags & FIN]
    pair.run(pair.now + 100 * MS, stop=lambda: a.state is TCPState.TIME_WAIT)
    entered = a.transitions[-1][0]
    assert a.state is TCPState.TIME_WAIT and a.next_deadline() == entered + time_wait
    # the FIN again (our ACK was lost): ACKed again, and the 2 MSL timer restarts
    later = entered + time_wait // 2
    a.segment_arrives(fin, later)
    [again] = a.take_outbox()
    assert again.flags == ACK and again.ack == seq_add(fin.seq, 1)
    assert a.next_deadline() == later + time_wait
    a.on_timer(later + time_wait - 1)
    assert a.state is TCPState.TIME_WAIT
    a.on_timer(later + time_wait)
    assert a.state is TCPState.CLOSED and a.next_deadline() is None
    assert a.transitions[-1][1:] == (TCPState.TIME_WAIT, TCPState.CLOSED, "timeout")


# --- RFC 5961 ---------------------------------------------------------------------------------


def test_rst_with_the_exact_sequence_number_resets() -> None:
    conn = active_established()
    conn.segment_arrives(inbound(conn.rcv_nxt, 0, RST), 20 * MS)
    assert conn.state is TCPState.CLOSED and conn.error == errno.ECONNRESET and conn.events & EV_ERROR
    assert conn.outbox == [] and conn.next_deadline() is None


def test_rst_in_window_gets_a_challenge_ack() -> None:
    conn = active_established()
    for offset in (1, 100, conn.rcv_wnd - 1):
        conn.segment_arrives(inbound(conn.rcv_nxt + offset, 0, RST), 20 * MS)
        assert conn.state is TCPState.ESTABLISHED
        [challenge] = conn.take_outbox()
        assert challenge.flags == ACK and challenge.ack == conn.rcv_nxt and challenge.seq == conn.snd_nxt


def test_rst_out_of_window_is_ignored() -> None:
    conn = active_established()
    for seq in (conn.rcv_nxt + conn.rcv_wnd, conn.rcv_nxt + 10 * conn.rcv_wnd, conn.rcv_nxt - 1,
                conn.rcv_nxt - 70000):
        conn.segment_arrives(inbound(seq, 0, RST | ACK), 20 * MS)
        assert conn.state is TCPState.ESTABLISHED and conn.outbox == []


def test_syn_in_established_gets_a_challenge_ack() -> None:
    conn = active_established()
    for seq in (conn.rcv_nxt, conn.rcv_nxt + 5, PEER_ISS):
        conn.segment_arrives(inbound(seq, 0, SYN), 20 * MS)
        assert conn.state is TCPState.ESTABLISHED
        [challenge] = conn.take_outbox()
        assert challenge.flags == ACK and challenge.ack == conn.rcv_nxt


def test_rst_to_syn_sent_with_an_acceptable_ack_is_connection_refused() -> None:
    conn = TCPConnection.active(40000, 9000, settings=TCPSettings(), iss=1000, now=0)
    conn.take_outbox()
    conn.segment_arrives(inbound(0, 1000, RST | ACK), MS)  # acks nothing we sent: ignored
    conn.segment_arrives(inbound(0, 5000, RST | ACK), MS)
    conn.segment_arrives(inbound(0, 0, RST), MS)  # no ACK: ignored (RFC 9293 §3.10.7.3)
    assert conn.state is TCPState.SYN_SENT and conn.outbox == []
    conn.segment_arrives(inbound(0, 1001, RST | ACK), 2 * MS)
    assert conn.state is TCPState.CLOSED and conn.error == errno.ECONNREFUSED
    assert conn.next_deadline() is None


def test_syn_sent_answers_a_bad_ack_with_a_reset() -> None:
    conn = TCPConnection.active(40000, 9000, settings=TCPSettings(), iss=1000, now=0)
    conn.take_outbox()
    conn.segment_arrives(inbound(PEER_ISS, 4242, SYN | ACK), MS)
    [rst] = conn.take_outbox()
    assert rst.flags == RST and rst.seq == 4242 and conn.state is TCPState.SYN_SENT


def test_ack_of_unsent_data_is_not_taken() -> None:
    conn = active_established()
    conn.send(b"x" * 100, 20 * MS)
    conn.take_outbox()
    conn.segment_arrives(inbound(conn.rcv_nxt, conn.snd_nxt + 1000, ACK), 30 * MS)
    assert conn.snd_una == 1001 and conn.flight == 100
    [ack] = conn.take_outbox()
    assert ack.flags == ACK


# --- sequence wraparound -------------------------------------------------------------------


def test_sequence_numbers_wrap() -> None:
    pair = Pair()
    pair.b_iss = 2**32 - 500
    pair.connect(iss=2**32 - 1000)
    pair.run(100 * MS)
    data_ab = bytes((i * 13) & 0xFF for i in range(100_000))
    data_ba = bytes((i * 31 + 5) & 0xFF for i in range(100_000))
    app_a, app_b = App(pair, "a", data_ab), App(pair, "b", data_ba)
    pair.run(60 * S, stop=lambda: app_a.done_reading and app_b.done_reading)
    assert bytes(app_b.got) == data_ab and bytes(app_a.got) == data_ba
    pair.run(pair.now + 100 * MS)
    assert pair.a is not None and pair.b is not None
    assert pair.a.snd_una == (2**32 - 1000 + 1 + 100_000 + 1) & 0xFFFFFFFF
    assert pair.a.snd_una < 2**32 - 1000  # it did wrap


# --- Nagle and delayed ACKs -------------------------------------------------------------------


@pytest.mark.parametrize("nodelay", [False, True])
def test_nagle_holds_a_second_small_write_until_the_ack(nodelay: bool) -> None:
    pair = established_pair(nodelay=nodelay)
    a = pair.a
    assert a is not None
    start = pair.now
    a.send(b"a" * 10, pair.now)
    a.send(b"b" * 10, pair.now)
    a.send(b"c" * 10, pair.now)
    first = [len(s.payload) for s in a.outbox]
    pair.flush()
    pair.run(pair.now + 100 * MS)
    data = [(t, len(s.payload)) for t, d, s in pair.log if d == "A>" and t >= start and s.payload]
    if nodelay:
        assert first == [10, 10, 10]
    else:
        assert first == [10]
        # the rest goes out coalesced when the first is acknowledged, one round trip (10 ms) later
        assert data == [(start, 10), (start + 10 * MS, 20)]


def test_delayed_ack_quick_acks_then_every_second_segment_then_40ms() -> None:
    conn = passive_established()
    now = 20 * MS
    offset = 0
    acks_after: list[int] = []
    for i in range(22):
        conn.segment_arrives(data_in(conn, offset, b"d" * 1460), now)
        offset += 1460
        out = conn.take_outbox()
        assert all(s.flags == ACK and not s.payload for s in out)
        if out:
            acks_after.append(i)
        conn.recv(1 << 20, now)
        conn.take_outbox()  # window updates, if any
    # 16 quick ACKs, then one for every second full-sized segment
    assert acks_after == [*list(range(16)), 17, 19, 21]
    # a lone segment waits 40 ms
    conn.segment_arrives(data_in(conn, offset, b"e" * 100), now)
    assert conn.take_outbox() == [] and conn.next_deadline() == now + 40 * MS
    conn.on_timer(now + 40 * MS - 1)
    assert conn.take_outbox() == []
    conn.on_timer(now + 40 * MS)
    [ack] = conn.take_outbox()
    assert ack.ack == seq_add(conn.irs, 1 + offset + 100)


def test_out_of_order_data_is_acked_at_once_with_sack() -> None:
    conn = passive_established(syn_options=(TCPOptionMSS(1460), TCPOptionNOP(), TCPOptionNOP(),
                                            TCPOptionSACKPermitted()))
    conn._quick = 0  # past the quick-ACK phase
    conn.segment_arrives(data_in(conn, 1000, b"z" * 500), 20 * MS)
    [ack] = conn.take_outbox()
    assert ack.ack == seq_add(conn.irs, 1)
    sack = [o for o in ack.options if isinstance(o, TCPOptionSACK)]
    assert sack and sack[0].blocks == ((seq_add(conn.irs, 1001), seq_add(conn.irs, 1501)),)


# --- zero window and persist -----------------------------------------------------------------


def test_zero_window_persist_probes_back_off_and_reading_reopens() -> None:
    pair = established_pair(b_kwargs={"rcvbuf": 16384})
    a, b = pair.a, pair.b
    assert a is not None and b is not None
    data = bytes(i & 0xFF for i in range(100_000))
    App(pair, "a", data)
    reader = App(pair, "b", read=False, shutdown=False)
    pair.run(pair.now + 30 * S)
    # SO_RCVBUF's doubled 16384 offers win_from_space(16384) = 10368 (Linux's scaling_ratio 162)
    assert 10368 - 1448 < b.recv_q <= 10368 and a.snd_wnd == 0  # receive-side SWS avoidance
    probes = [t for t, d, s in pair.log if d == "A>" and not s.payload and s.seq == seq_add(a.snd_una, -1)]
    assert len(probes) >= 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(probes)]
    assert all(later == 2 * earlier for earlier, later in itertools.pairwise(gaps)), gaps
    assert a.state is TCPState.ESTABLISHED and a.error == 0
    # a receiver that answers probes is alive: the sender never gives up on it
    pair.run(pair.now + 2000 * S)
    assert a.state is TCPState.ESTABLISHED and a.error == 0 and a.snd_wnd == 0
    # the receiver reads: a window update reopens the flow and the transfer completes
    reader.do_read = True
    pair.run(pair.now + 120 * S, stop=lambda: reader.done_reading)
    assert bytes(reader.got) == data


# --- the retransmission timer -----------------------------------------------------------------


def test_syn_backoff_and_etimedout_after_127s() -> None:
    pair = Pair(Wire(loss=1.0))
    a = pair.connect()
    pair.run(300 * S)
    syns = [t for t, d, s in pair.log if d == "A>" and s.flags == SYN]
    assert syns == [t * S for t in (0, 1, 3, 7, 15, 31, 63)]
    assert a.state is TCPState.CLOSED and a.error == errno.ETIMEDOUT
    assert a.rto_expiries == [t * S for t in (1, 3, 7, 15, 31, 63, 127)]
    assert a.transitions[-1] == (127 * S, TCPState.SYN_SENT, TCPState.CLOSED, "timeout")


def test_synack_retries_then_the_request_is_dropped() -> None:
    syn = TCPSegment(src_port=40000, dst_port=9000, seq=PEER_ISS, flags=SYN, window=65535)
    conn = TCPConnection.passive(syn, settings=TCPSettings(), iss=5000, now=0)
    times = []
    now = 0
    while conn.state is not TCPState.CLOSED:
        if conn.take_outbox():
            times.append(now)
        deadline = conn.next_deadline()
        assert deadline is not None
        now = deadline
        conn.on_timer(now)
    assert times == [t * S for t in (0, 1, 3, 7, 15, 31)]  # tcp_synack_retries = 5
    assert conn.transitions[-1] == (63 * S, TCPState.SYN_RECEIVED, TCPState.CLOSED, "timeout")


def linux_expiries(base: int, give_up_after: int) -> list[int]:
    """When the timer fires: doubling from ``base`` up to TCP_RTO_MAX, until the first expiry at
    or past Linux's ``retransmits_timed_out`` boundary (where the connection is given up)."""
    times, t, rto = [], 0, base
    while True:
        t += rto
        times.append(t)
        if t >= give_up_after:
            return times
        rto = min(2 * rto, 120 * S)


@pytest.mark.parametrize("early_retrans", [0, 3])
def test_data_retransmission_backoff_and_etimedout_after_924_6s(early_retrans: int) -> None:
    """With tail loss probes (tcp_early_retrans = 3, the default) the first retransmission is
    the probe, at min(PTO, RTO) = RTO here (2 SRTT + 200 ms for one segment out is later), and
    the backoff starts one RTO after it; the give-up clock starts at the first retransmission
    either way (Linux's retrans_stamp)."""
    pair = established_pair(settings_a=TCPSettings(early_retrans=early_retrans))
    a = pair.a
    assert a is not None
    base = a.rtt.rto
    assert a.rtt.srtt is not None and base == a.rtt.srtt + 200 * MS  # Linux: srtt + max(4 rttvar, 200 ms)
    pair.wire.loss = 1.0
    t0 = pair.now
    a.send(b"x" * 1000, t0)
    pair.flush()
    pair.run(t0 + 2000 * S)
    # tcp_retries2 = 15 with TCP_RTO_MIN: (2**10 - 1) * 200 ms + 6 * 120 s = 924.6 s (retransmits_timed_out)
    expected = linux_expiries(base, 924_600 * MS)
    probe = base if early_retrans else 0
    assert [t - t0 - probe for t in a.rto_expiries] == expected
    assert expected[-2] < 924_600 * MS <= expected[-1]
    assert a.state is TCPState.CLOSED and a.error == errno.ETIMEDOUT
    assert a.transitions[-1][0] - t0 - probe == expected[-1]
    assert a.loss_probes == (1 if early_retrans else 0)
    assert a.total_retransmits == len(expected) - 1 + a.loss_probes
    assert a.next_deadline() is None


def test_tcp_retries2_is_honoured() -> None:
    pair = established_pair(settings_a=TCPSettings(retries2=3))
    a = pair.a
    assert a is not None
    pair.wire.loss = 1.0
    t0 = pair.now
    base = a.rtt.rto
    a.send(b"x" * 1000, t0)
    pair.flush()
    pair.run(t0 + 100 * S)
    expected = linux_expiries(base, 3000 * MS)  # (2**4 - 1) * 200 ms
    # (counted from the first retransmission: the loss probe, one RTO after the send)
    assert a.error == errno.ETIMEDOUT and a.transitions[-1][0] - t0 - base == expected[-1]
    assert a.total_retransmits == 3 + a.loss_probes and a.loss_probes == 1


@pytest.mark.parametrize(("congestion", "ssthresh"), [("newreno", 5000), ("reno", 5000), ("cubic", 7000)])
def test_fast_retransmit_after_three_dupacks(congestion: str, ssthresh: int) -> None:
    conn = active_established(peer_options=(TCPOptionMSS(1000),), congestion=congestion)
    conn.send(bytes(10_000), 20 * MS)
    out = conn.take_outbox()
    assert [len(s.payload) for s in out] == [1000] * 10
    una = conn.snd_una
    for i in range(3):
        conn.segment_arrives(inbound(PEER_ISS + 1, una, ACK), 30 * MS + i)
        if i < 2:
            assert conn.take_outbox() == []
    [rexmit] = conn.take_outbox()
    assert rexmit.seq == una and len(rexmit.payload) == 1000 and conn.total_retransmits == 1
    assert conn.ssthresh == ssthresh  # half (Reno) or 0.7 (CUBIC) of 10 segments
    # PRR (RFC 6937): 6 segments left in the pipe (10 - 3 duplicates - the lost one), the
    # retransmission makes 7, and the window lets nothing more out yet
    assert conn.cwnd == conn.pipe == 7000
    assert conn.rto_expiries == []


@pytest.mark.parametrize(("sack", "congestion", "expected"), [
    # (segments sent after each duplicate ACK, as offsets from SND.UNA in KB; cwnd after it, KB)
    (False, "newreno", [([], 10), ([], 10), ([0], 7), ([], 6), ([], 5), ([10], 5), ([11], 5), ([12], 5), ([13], 5)]),
    (True, "cubic", [([10], 10), ([11], 10), ([0], 9), ([12], 9), ([13], 9), ([], 8), ([], 7), ([14], 7), ([15], 7)]),
])
def test_proportional_rate_reduction_in_recovery(sack: bool, congestion: str,
                                                 expected: list[tuple[list[int], int]]) -> None:
    """RFC 6937 as Linux's tcp_cwnd_reduction: 10 segments of 1000 bytes in flight, the first
    lost, the other nine reported one by one.  While the pipe is above ssthresh PRR sends
    ceil(ssthresh x delivered / prior_cwnd) - sent (CUBIC: 7 for every 10 delivered), then
    holds the pipe at ssthresh; a full ACK leaves the window at ssthresh.  (With SACK the first
    two duplicates let new data out, as Linux's packets_in_flight does.)"""
    options: tuple = (TCPOptionMSS(1000), TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACKPermitted()) if sack else (  # type: ignore[type-arg]
        TCPOptionMSS(1000),)
    conn = active_established(peer_options=options, congestion=congestion)
    conn.send(bytes(30_000), 20 * MS)
    assert len(conn.take_outbox()) == 10
    una = conn.snd_una
    seen = []
    for i in range(1, 10):
        blocks = (TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACK(((una + 1000, una + 1000 * (i + 1)),))) if sack else ()
        conn.segment_arrives(inbound(PEER_ISS + 1, una, ACK, options=blocks), 30 * MS + i)
        seen.append(([(s.seq - una) // 1000 for s in conn.take_outbox()], conn.cwnd // 1000))
    assert seen == expected
    conn.segment_arrives(inbound(PEER_ISS + 1, conn.snd_nxt, ACK), 40 * MS)
    assert conn.cwnd == conn.ssthresh == (7000 if congestion == "cubic" else 5000)


def test_rtt_is_not_sampled_from_segments_sacked_long_before_the_cumulative_ack() -> None:
    """Linux's seq_rtt skips SACKed segments, and no sequence-based sample is taken when a
    retransmitted segment is acknowledged (Karn's rule, RFC 6298 §3)."""
    sack = (TCPOptionMSS(1000), TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACKPermitted())
    conn = active_established(peer_options=sack, congestion="newreno")
    srtt = conn.rtt.srtt
    conn.send(bytes(5000), 20 * MS)
    out = conn.take_outbox()
    una = conn.snd_una
    for i in range(3):  # segments 2..4 arrive, 1 was lost: SACKs, then fast retransmit
        block = TCPOptionSACK(((out[1].seq, out[2 + i].seq + 1000),))
        conn.segment_arrives(inbound(PEER_ISS + 1, una, ACK, options=(TCPOptionNOP(), TCPOptionNOP(), block)),
                             30 * MS + i)
    assert [s.seq for s in conn.take_outbox()] == [una]
    # the retransmission's ACK (cumulative, covering the SACKed segments) comes 5 s later
    conn.segment_arrives(inbound(PEER_ISS + 1, conn.snd_nxt, ACK), 5 * S)
    assert conn.flight == 0 and conn.rtt.srtt == srtt


def test_sack_recovery_resends_only_the_holes() -> None:
    pair = established_pair(settings_a=TCPSettings(congestion_control="newreno"))
    a = pair.a
    assert a is not None
    seen: dict[int, int] = {}
    holes = {3, 7}

    def drop(side: int, seg: TCPSegment) -> bool:
        if side != 0 or not seg.payload:
            return False
        index = (seg.seq - a.iss - 1) // 1448
        seen[index] = seen.get(index, 0) + 1
        return index in holes and seen[index] == 1

    pair.wire.drop_if = drop
    start = pair.now
    transfer(pair, 30 * 1448)
    assert pair.wire.dropped == 2
    resent = [((s.seq - a.iss - 1) // 1448) for s in sent_by(pair, "A", start) if s.payload]
    assert sorted(resent) == sorted([*list(range(30)), 3, 7])
    assert a.total_retransmits == 2 and a.rto_expiries == []


def test_newreno_without_sack_recovers_two_losses_in_one_window() -> None:
    settings = TCPSettings(sack=False, congestion_control="newreno")
    pair = established_pair(settings_a=settings, settings_b=settings)
    a = pair.a
    assert a is not None and not a.sack_ok
    seen: set[int] = set()

    def drop(side: int, seg: TCPSegment) -> bool:
        index = (seg.seq - a.iss - 1) // 1448
        if side == 0 and seg.payload and index in (2, 5) and index not in seen:
            seen.add(index)
            return True
        return False

    pair.wire.drop_if = drop
    transfer(pair, 30 * 1448)
    assert a.rto_expiries == [] and a.total_retransmits == 2


# --- keepalive ---------------------------------------------------------------------------------


def test_keepalive_probes_then_reset_and_etimedout() -> None:
    pair = established_pair(keepalive=True)
    a = pair.a
    assert a is not None
    t0 = a.last_rcv
    pair.wire.loss = 1.0
    pair.run(t0 + 9000 * S)
    probes = [t - t0 for t, d, s in pair.log if d == "A>" and s.flags == ACK and s.seq == seq_add(a.snd_una, -1)]
    assert probes == [(7200 + 75 * n) * S for n in range(9)]
    [rst] = [s for t, d, s in pair.log if d == "A>" and s.flags & RST]
    assert rst.flags == RST | ACK
    assert a.state is TCPState.CLOSED and a.error == errno.ETIMEDOUT
    assert a.transitions[-1][0] - t0 == (7200 + 9 * 75) * S


def test_answered_keepalives_keep_the_connection() -> None:
    pair = established_pair(keepalive=True)
    a = pair.a
    assert a is not None
    t0 = a.last_rcv
    pair.run(t0 + 3 * 7200 * S + S)
    probes = [t - t0 for t, d, s in pair.log
              if d == "A>" and t > t0 and s.flags == ACK and s.seq == seq_add(a.snd_una, -1)]
    # each probe is answered (5 ms away): the next comes keepalive_time after that answer
    assert probes == [7200 * S, (2 * 7200 * S + 10 * MS), (3 * 7200 * S + 20 * MS)]
    assert a.state is TCPState.ESTABLISHED and a.error == 0


# --- PMTU, close with unread data, window scaling -------------------------------------------


def test_pmtu_lowers_the_mss_and_recuts_what_is_in_flight() -> None:
    pair = established_pair()
    a = pair.a
    assert a is not None
    data = bytes((i * 3) & 0xFF for i in range(50_000))
    sender = App(pair, "a", data)
    receiver = App(pair, "b", shutdown=False)
    pair.run(pair.now)
    assert a.flight > 1448
    cut = pair.now
    logged = len(pair.log)
    cwnd, nxt = a.cwnd, a.snd_nxt
    a.set_pmtu(1000, cut)
    assert a.mss == 1000 - 40 - 12
    # Linux's tcp_simple_retransmit: the Loss state up to SND.NXT, the window kept (in segments
    # of the new size, as Linux counts it), ssthresh at least 3/4 of it, nothing to undo
    assert a.ca_state == CA_LOSS and a.recover == nxt - a.iss and a.undo_marker is None
    assert a.cwnd == cwnd * a.mss // 1448 and a.ssthresh >= 3 * (cwnd // 1448) // 4 * a.mss
    pair.run(cut + 30 * S, stop=lambda: receiver.done_reading)
    assert a.ca_state == CA_OPEN
    assert bytes(receiver.got) == data and sender.shut
    after = [s for t, d, s in pair.log[logged:] if d == "A>" and s.payload]
    assert after and max(len(s.payload) for s in after) == 948
    assert a.rto_expiries == []


def test_close_with_unread_data_sends_rst() -> None:
    pair = established_pair()
    a, b = pair.a, pair.b
    assert a is not None and b is not None
    a.send(b"unread", pair.now)
    pair.flush()
    pair.run(pair.now + 100 * MS)
    assert b.recv_q == 6
    b.close(pair.now)
    [rst] = b.take_outbox()
    assert rst.flags == RST | ACK and rst.seq == b.snd_nxt
    assert b.state is TCPState.CLOSED and b.transitions[-1][3] == "abort"
    pair._transmit(1, rst)
    pair.run(pair.now + 100 * MS)
    assert a.state is TCPState.CLOSED and a.error == errno.ECONNRESET


def test_window_scaling_shift_7() -> None:
    pair = established_pair()
    a, b = pair.a, pair.b
    assert a is not None and b is not None
    assert a.ws_ok and a.snd_wscale == 7 and a.rcv_wscale == 7 and b.snd_wscale == 7
    [ack] = [s for t, d, s in pair.log if d == "A>" and s.flags == ACK][:1]
    assert ack.window == 502  # Linux: the SYN's 64240 scaled up to the next unit (ALIGN), 64256
    assert b.snd_wnd == ack.window << 7
    # a receive buffer bigger than 64 KB is used in full
    transfer(pair, 400_000)
    assert max(b.snd_wnd, a.snd_wnd) > 65535


def test_window_scaling_off_keeps_windows_unscaled() -> None:
    settings = TCPSettings(window_scaling=False)
    pair = established_pair(settings_a=settings)
    assert pair.a is not None and pair.b is not None
    assert not pair.a.ws_ok and not pair.b.ws_ok and pair.b.snd_wscale == 0 and pair.a.rcv_wscale == 0
    transfer(pair, 100_000)


def test_fin_is_eof_and_data_after_is_not_accepted() -> None:
    conn = passive_established()
    conn.segment_arrives(data_in(conn, 0, b"bye", ACK | FIN | PSH), 20 * MS)
    assert conn.state is TCPState.CLOSE_WAIT and conn.events & EV_EOF
    assert conn.recv(10, 21 * MS) == b"bye" and conn.eof
    conn.take_outbox()
    conn.segment_arrives(data_in(conn, 4, b"more"), 22 * MS)
    assert conn.recv(10, 23 * MS) == b""


def test_abort_sends_rst_and_closes_without_timers() -> None:
    conn = active_established()
    conn.send(b"x" * 5000, 20 * MS)
    conn.take_outbox()
    conn.abort(21 * MS)
    [rst] = conn.take_outbox()
    assert rst.flags & RST and conn.state is TCPState.CLOSED and conn.next_deadline() is None


def test_sack_blocks_are_in_order_of_their_last_update_as_linux() -> None:
    """RFC 2018 §4 asks for the most recent block first and the rest as recently reported as
    possible; Linux (tcp_sack_new_ofo_skb) keeps them in the order they were last extended: a
    new block goes first, one a segment extends moves to the front."""
    conn = passive_established(syn_options=(TCPOptionMSS(1460), TCPOptionNOP(), TCPOptionNOP(),
                                            TCPOptionSACKPermitted()))
    conn._quick = 0

    def blocks_after(offset: int, when: int) -> list[tuple[int, int]]:
        conn.segment_arrives(data_in(conn, offset, b"z" * 500), when)
        [ack] = conn.take_outbox()
        [sack] = [o for o in ack.options if isinstance(o, TCPOptionSACK)]
        return [(seq_sub(left, conn.irs) - 1, seq_sub(right, conn.irs) - 1) for left, right in sack.blocks]

    assert blocks_after(1000, 20 * MS) == [(1000, 1500)]
    assert blocks_after(3000, 21 * MS) == [(3000, 3500), (1000, 1500)]
    assert blocks_after(5000, 22 * MS) == [(5000, 5500), (3000, 3500), (1000, 1500)]
    assert blocks_after(1500, 23 * MS) == [(1000, 2000), (5000, 5500), (3000, 3500)]
    assert blocks_after(7000, 24 * MS) == [(7000, 7500), (1000, 2000), (5000, 5500), (3000, 3500)]  # (4 fit)
