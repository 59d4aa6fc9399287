"""Undoing a needless window reduction, as Linux does by default (tcp_try_undo_recovery,
tcp_try_undo_dsack, tcp_try_undo_loss; RFC 3522's Eifel detection with timestamps, RFC 3708's
D-SACK detection): when the ACKs echo a timestamp from before the first retransmission (an
original arrived) or every retransmission comes back as a D-SACK, cwnd and ssthresh go back to
what they were.  The wire: 5 ms each way."""

from __future__ import annotations

from netsim.proto.tcp.connection import CA_LOSS, CA_OPEN, TCPConnection
from netsim.proto.tcp.settings import MS, TCPSettings
from netsim.wire.tcp import TCPSegment
from tests.proto.tcp.harness import App, Pair, Wire, delay_first, drop_first
from tests.proto.tcp.test_connection import established_pair

MSS = 1448


def _start(settings: TCPSettings | None = None) -> tuple[Pair, TCPConnection, int, int]:
    pair = established_pair(Wire(delay=5 * MS), settings_a=settings, settings_b=settings)
    a = pair.a
    assert a is not None
    App(pair, "b", shutdown=False)
    return pair, a, pair.now, a.snd_una


def _resent(pair: Pair, since: int, una: int) -> list[int]:
    indexes = [((seg.seq - una) & 0xFFFFFFFF) // MSS for t, side, seg in pair.log
               if side == "A>" and t >= since and seg.payload]
    return [i for n, i in enumerate(indexes) if i in indexes[:n]]


def _ack_spike(settings: TCPSettings, until: int = 600 * MS) -> tuple[Pair, TCPConnection, int, int]:
    """Ten segments whose ACKs are 300 ms late; run ``until`` after the start."""
    pair, a, t0, una = _start(settings)
    original = pair._transmit

    def transmit(side: int, seg: TCPSegment) -> None:
        if side == 1 and pair.now < t0 + 20 * MS:  # the ACKs of the first flight
            saved = pair.wire.delay
            pair.wire.delay = saved + 300 * MS
            original(side, seg)
            pair.wire.delay = saved
            return
        original(side, seg)

    pair._transmit = transmit  # type: ignore[method-assign]
    a.send(bytes(10 * MSS), t0)
    pair.flush()
    pair.run(t0 + until)
    return pair, a, t0, una


def test_a_reordered_segment_resent_in_vain_is_undone_by_its_timestamp() -> None:
    pair, a, t0, una = _start()
    delay_first(pair, una, {3}, 2 * MS)  # 3 arrives after 4-7: three SACKed, RACK resends it at once
    a.send(bytes(8 * MSS), t0)
    pair.flush()
    pair.run(t0 + 11 * MS)
    assert _resent(pair, t0, una) == [3] and a.undos == 0
    cwnd_before_reduction = a.prior_cwnd
    pair.run(t0 + 400 * MS)
    # the ACK of the late original echoes its timestamp, older than the retransmission:
    # the recovery is undone when it ends (TCPFullUndo), cwnd as before it
    assert a.undos == 1 and a.ca_state == CA_OPEN and a.undo_marker is None
    assert a.cwnd >= cwnd_before_reduction and a.ssthresh > 1 << 30  # back in slow start
    assert a.rack.reord_seen >= 1


def test_without_timestamps_the_dsack_of_the_needless_retransmission_undoes_it() -> None:
    pair, a, t0, una = _start(TCPSettings(timestamps=False))
    delay_first(pair, una, {3}, 2 * MS)
    a.send(bytes(8 * MSS), t0)
    pair.flush()
    pair.run(t0 + 400 * MS)
    assert _resent(pair, t0, una) == [3]
    assert a.dsacks_received == 1 and a.undos == 1 and a.ssthresh > 1 << 30  # TCPDSACKUndo


def test_a_real_loss_is_not_undone() -> None:
    pair, a, t0, una = _start()
    drop_first(pair, una, {3: 1})
    a.send(bytes(8 * MSS), t0)
    pair.flush()
    pair.run(t0 + 400 * MS)
    assert _resent(pair, t0, una) == [3] and a.undos == 0
    assert a.ssthresh < 1 << 30 and a.dsacks_received == 0


def test_a_timeout_caused_by_a_delay_spike_is_undone() -> None:
    """The ACKs of a flight are held up 300 ms: the RTO (210 ms) fires and resends the head; the
    held ACKs then echo the originals' timestamps: Loss is left at once with the window back
    (tcp_try_undo_loss), and nothing else is resent.  (Tail loss probes off: with them the
    probe's own ACK, which covers the whole flight, would end it before the RTO.)"""
    pair, a, t0, una = _ack_spike(TCPSettings(early_retrans=0), 215 * MS)  # (no probe before the RTO)
    assert a.ca_state == CA_LOSS and len(a.rto_expiries) == 1 and a.cwnd == MSS
    cwnd_before = a.prior_cwnd
    # the retransmission's ACK (a D-SACK of it, and everything) echoes the originals' timestamp
    pair.run(t0 + 400 * MS)
    assert a.undos == 1 and a.ca_state == CA_OPEN and a.cwnd >= cwnd_before
    assert _resent(pair, t0, una) == [0] and a.snd_una == a.snd_nxt and a.ssthresh > 1 << 30


def test_frto_finds_a_needless_timeout_without_timestamps_or_sack() -> None:
    """RFC 5682 step 3.b (Linux tcp_process_loss): after the timeout's retransmission, an ACK
    covering data that was never resent proves the originals arrived: undone."""
    pair, a, t0, una = _ack_spike(TCPSettings(timestamps=False, sack=False, early_retrans=0))
    assert len(a.rto_expiries) == 1 and a.undos == 1 and a.ca_state == CA_OPEN
    assert _resent(pair, t0, una) == [0] and a.ssthresh > 1 << 30


def test_without_frto_the_same_timeout_stands() -> None:
    _pair, a, _t0, _una = _ack_spike(TCPSettings(timestamps=False, sack=False, early_retrans=0, frto=0))
    assert len(a.rto_expiries) == 1 and a.undos == 0 and a.ssthresh < 1 << 30
