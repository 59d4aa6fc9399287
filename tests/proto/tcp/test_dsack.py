"""D-SACK (RFC 2883): a receiver reports the duplicate it got in the first SACK block.

Checked against Linux's choices: tcp_send_dupack for a segment wholly below RCV.NXT (the block
is the duplicate, cut at RCV.NXT, and quick ACKs follow), tcp_data_queue for one that starts
below RCV.NXT ([SEG.SEQ, RCV.NXT)), tcp_data_queue_ofo for one already held out of order (the
overlap), the block reported once (tcp_options_write clears it), and none without SACK or with
``tcp_dsack`` off.  The sender counts what it hears (tcpi_dsack_dups).
"""

from __future__ import annotations

from netsim.proto.tcp.connection import TCPConnection
from netsim.proto.tcp.seq import seq_add
from netsim.proto.tcp.settings import MS, TCPSettings
from netsim.wire.tcp import TCPFlags, TCPSegment
from netsim.wire.tcp_options import TCPOptionMSS, TCPOptionNOP, TCPOptionSACK, TCPOptionSACKPermitted
from tests.proto.tcp.harness import Wire
from tests.proto.tcp.test_connection import data_in, established_pair, passive_established, transfer

ACK = TCPFlags.ACK
SACK_OK = (TCPOptionMSS(1460), TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACKPermitted())


def _blocks(segment: TCPSegment) -> tuple[tuple[int, int], ...]:
    found = [option for option in segment.options if isinstance(option, TCPOptionSACK)]
    return found[0].blocks if found else ()


def _receiver(settings: TCPSettings | None = None, sack: bool = True) -> TCPConnection:
    conn = passive_established(settings, syn_options=SACK_OK if sack else (TCPOptionMSS(1460),))
    conn._quick = 0  # past the quick-ACK phase
    return conn


def test_a_segment_wholly_acknowledged_already_is_reported_and_quick_acks_follow() -> None:
    conn = _receiver()
    conn.segment_arrives(data_in(conn, 0, b"a" * 1000), 20 * MS)
    conn.on_timer(60 * MS)
    conn.take_outbox()
    conn.segment_arrives(data_in(conn, 0, b"a" * 1000), 70 * MS)  # the retransmission
    [ack] = conn.take_outbox()
    assert ack.ack == seq_add(conn.irs, 1001)
    assert _blocks(ack) == ((seq_add(conn.irs, 1), seq_add(conn.irs, 1001)),)
    assert conn._quick > 0  # Linux's tcp_enter_quickack_mode
    conn.segment_arrives(data_in(conn, 1000, b"b" * 1000), 80 * MS)
    [next_ack] = conn.take_outbox()  # at once (a quick ACK), and without the block: it went once
    assert _blocks(next_ack) == ()


def test_a_retransmitted_fin_is_a_duplicate_of_one_sequence_number() -> None:
    conn = _receiver()
    fin = data_in(conn, 0, b"", flags=ACK | TCPFlags.FIN)
    conn.segment_arrives(fin, 20 * MS)
    conn.take_outbox()
    conn.on_timer(300 * MS)
    conn.take_outbox()
    conn.segment_arrives(fin, 400 * MS)
    [ack] = conn.take_outbox()
    assert _blocks(ack) == ((seq_add(conn.irs, 1), seq_add(conn.irs, 2)),)


def test_a_segment_that_starts_below_rcv_nxt_reports_its_old_part() -> None:
    conn = _receiver()
    conn.segment_arrives(data_in(conn, 0, b"a" * 1000), 20 * MS)
    conn.on_timer(60 * MS)
    conn.take_outbox()
    conn.segment_arrives(data_in(conn, 500, b"a" * 500 + b"b" * 500), 70 * MS)
    acks = conn.take_outbox()
    assert acks[-1].ack == seq_add(conn.irs, 1501)
    assert _blocks(acks[0]) == ((seq_add(conn.irs, 501), seq_add(conn.irs, 1001)),)
    assert conn.rcvbuf.read(4096) == b"a" * 1000 + b"b" * 500


def test_a_duplicate_of_out_of_order_data_comes_first_then_the_sack_blocks() -> None:
    conn = _receiver()
    conn.segment_arrives(data_in(conn, 1000, b"z" * 500), 20 * MS)
    conn.segment_arrives(data_in(conn, 3000, b"y" * 500), 21 * MS)
    conn.take_outbox()
    conn.segment_arrives(data_in(conn, 1000, b"z" * 500), 22 * MS)  # the same again
    [ack] = conn.take_outbox()
    irs = conn.irs
    assert _blocks(ack) == ((seq_add(irs, 1001), seq_add(irs, 1501)),  # the D-SACK
                            (seq_add(irs, 1001), seq_add(irs, 1501)),  # the block it came into
                            (seq_add(irs, 3001), seq_add(irs, 3501)))
    conn.segment_arrives(data_in(conn, 1250, b"z" * 250 + b"x" * 250), 23 * MS)  # half of it held
    [ack] = conn.take_outbox()
    assert _blocks(ack)[0] == (seq_add(irs, 1251), seq_add(irs, 1501))


def test_no_d_sack_without_sack_or_with_tcp_dsack_off() -> None:
    for conn in (_receiver(sack=False), _receiver(TCPSettings(dsack=False))):
        conn.segment_arrives(data_in(conn, 0, b"a" * 1000), 20 * MS)
        conn.on_timer(60 * MS)
        conn.take_outbox()
        conn.segment_arrives(data_in(conn, 0, b"a" * 1000), 70 * MS)
        [ack] = conn.take_outbox()
        assert _blocks(ack) == ()


def test_a_lossy_transfer_with_duplicates_is_reported_and_counted() -> None:
    """Duplicated segments on the wire: the receiver's ACKs carry D-SACK blocks below their
    ACK number, the sender counts them, and the bytes arrive intact."""
    pair = established_pair(Wire(duplicate=0.05, seed=7))
    transfer(pair, 300_000)
    pair.run(pair.now + 1_000 * MS)  # the last ACKs (some reporting D-SACKs) reach the sender
    assert pair.a is not None and pair.b is not None
    reported = [seg for _t, who, seg in pair.log
                if who == "B>" and _blocks(seg) and 0 < ((seg.ack - _blocks(seg)[0][0]) & 0xFFFFFFFF) < 1 << 31]
    assert reported
    # (the wire duplicates ACKs too: a reporting ACK may arrive twice)
    assert len(reported) <= pair.a.dsacks_received <= 2 * len(reported)
    for seg in reported:
        left, right = _blocks(seg)[0]
        assert 0 < ((right - left) & 0xFFFFFFFF) <= 1448 and 0 <= ((seg.ack - right) & 0xFFFFFFFF) < 1 << 31


def test_a_duplicate_across_two_held_chunks_is_reported_whole() -> None:
    """Linux coalesces held out-of-order data (or extends the D-SACK, tcp_dsack_extend)."""
    conn = _receiver()
    conn.segment_arrives(data_in(conn, 1000, b"x" * 500), 20 * MS)
    conn.segment_arrives(data_in(conn, 1500, b"y" * 500), 21 * MS)
    conn.take_outbox()
    conn.segment_arrives(data_in(conn, 1250, b"x" * 250 + b"y" * 250), 22 * MS)
    [ack] = conn.take_outbox()
    assert _blocks(ack)[0] == (seq_add(conn.irs, 1251), seq_add(conn.irs, 1751))


def test_in_order_data_over_held_data_reports_the_overlap() -> None:
    """tcp_ofo_queue: in-order data that reaches bytes held out of order reports the overlap."""
    conn = _receiver()
    conn.segment_arrives(data_in(conn, 1000, b"z" * 500), 20 * MS)
    conn.take_outbox()
    conn.segment_arrives(data_in(conn, 0, b"a" * 1000 + b"z" * 200), 21 * MS)
    [ack] = conn.take_outbox()
    assert ack.ack == seq_add(conn.irs, 1501)
    assert _blocks(ack) == ((seq_add(conn.irs, 1001), seq_add(conn.irs, 1201)),)
    assert conn.rcvbuf.read(4096) == b"a" * 1000 + b"z" * 500


def test_a_pending_d_sack_rides_on_one_segment_of_a_burst() -> None:
    conn = _receiver()
    conn.segment_arrives(data_in(conn, 0, b"a" * 1000), 20 * MS)
    conn.on_timer(60 * MS)
    conn.take_outbox()
    conn._duplicate_arrived(seq_add(conn.rcv_nxt, -1000), conn.rcv_nxt, False)  # as _data_arrival would
    conn.send(bytes(5000), 70 * MS)
    reported = [bool(_blocks(segment)) for segment in conn.take_outbox()]
    assert reported[0] and not any(reported[1:]) and len(reported) > 1


def test_a_d_sack_is_counted_with_nothing_outstanding() -> None:
    """tcp_check_dsack runs before tcp_ack's `if (!tp->packets_out)`: counted in segments."""
    options = (TCPOptionMSS(1000), TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACKPermitted())
    conn = passive_established(syn_options=options)
    assert conn.snd_una == conn.snd_nxt
    una = conn.snd_una
    old = (seq_add(una, -1500), una)  # (1.5 segments of 1000 bytes: two)
    ack = TCPSegment(src_port=40000, dst_port=9000, seq=seq_add(conn.irs, 1), ack=una, flags=ACK, window=65535,
                     options=(TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACK((old,))))
    conn.segment_arrives(ack, 30 * MS)
    assert conn.dsacks_received == 2


def test_a_fin_beyond_a_hole_is_sacked_with_its_data() -> None:
    """Linux queues an out-of-order segment with its FIN (tcp_data_queue_ofo: end_seq counts it)
    and SACKs up to the end of it, so the sender can tell the segment arrived."""
    conn = _receiver()
    conn.segment_arrives(data_in(conn, 1000, b"z" * 1000, flags=ACK | TCPFlags.FIN), 20 * MS)
    [ack] = conn.take_outbox()
    assert ack.ack == seq_add(conn.irs, 1)
    assert _blocks(ack) == ((seq_add(conn.irs, 1001), seq_add(conn.irs, 2002)),)
    conn.segment_arrives(data_in(conn, 0, b"a" * 1000), 21 * MS)  # the hole filled: the FIN is taken
    assert conn.rcv_nxt == seq_add(conn.irs, 2002) and conn.eof
    conn.on_timer(100 * MS)
    assert all(_blocks(ack) == () for ack in conn.take_outbox())


def test_a_fin_alone_beyond_a_hole_is_acked_at_once_with_its_block() -> None:
    """A bare FIN out of order is out-of-order data to Linux (its end_seq is seq + 1): an ACK at
    once, its SACK block merged with the data before it."""
    conn = _receiver()
    conn.segment_arrives(data_in(conn, 1000, b"z" * 1000), 20 * MS)
    conn.take_outbox()
    conn.segment_arrives(data_in(conn, 2000, b"", flags=ACK | TCPFlags.FIN), 21 * MS)
    [ack] = conn.take_outbox()
    assert _blocks(ack) == ((seq_add(conn.irs, 1001), seq_add(conn.irs, 2002)),)
    alone = _receiver()
    alone.segment_arrives(data_in(alone, 1000, b"", flags=ACK | TCPFlags.FIN), 20 * MS)
    [ack] = alone.take_outbox()
    assert _blocks(ack) == ((seq_add(alone.irs, 1001), seq_add(alone.irs, 1002)),)
