"""RACK's time-based loss detection (RFC 8985 §6) as Linux's tcp_recovery.c does it, on by
default (net.ipv4.tcp_recovery = 1), and what it changes from RFC 6675's duplicate threshold
(``TCPSettings(recovery=0)``, kept as the comparison).

A segment is lost once a segment sent after it is delivered and the delivered one's RTT plus a
reordering window has passed since it left.  The window is 0 in recovery or once 3 segments are
SACKed (until reordering is seen), else min_rtt / 4; a segment still inside it arms the
reordering timer (the wait in whole ms + 2 ms).  The wire: 5 ms each way, so RTT = 10 ms.
"""

from __future__ import annotations

import pytest

from netsim.proto.tcp.connection import CA_LOSS, CA_OPEN, CA_RECOVERY, TCPConnection
from netsim.proto.tcp.rack import Rack, reo_timeout
from netsim.proto.tcp.settings import MS, TCPSettings
from tests.proto.tcp.harness import App, Pair, Wire, delay_first, drop_first
from tests.proto.tcp.test_connection import established_pair

MSS = 1448


def _start(settings: TCPSettings | None = None) -> tuple[Pair, TCPConnection, int, int]:
    pair = established_pair(Wire(delay=5 * MS), settings_a=settings)
    a = pair.a
    assert a is not None and a.rtt.srtt == 10 * MS and a.rtt.min_rtt == 10 * MS
    App(pair, "b", shutdown=False)  # the receiver reads everything
    return pair, a, pair.now, a.snd_una


def _sent(pair: Pair, since: int, una: int) -> list[tuple[int, int]]:
    """(ms since ``since``, segment index) of every data segment A sent."""
    return [((t - since) // MS, ((seg.seq - una) & 0xFFFFFFFF) // MSS)
            for t, side, seg in pair.log if side == "A>" and t >= since and seg.payload]


def test_a_tail_loss_is_repaired_a_round_trip_after_the_probe_not_by_the_rto() -> None:
    pair, a, t0, una = _start()
    drop_first(pair, una, {i: 1 for i in range(5, 10)})  # the last five of ten
    a.send(bytes(10 * MSS), t0)
    pair.flush()
    pair.run(t0 + 400 * MS)
    sent = _sent(pair, t0, una)
    # ACKs of 0-4 at 10 ms; the probe (the last segment again) 2 SRTT + 2 ms later; its SACK at
    # 42 ms shows 5-8 were sent long before it: all lost at once, resent in recovery as PRR
    # lets them out (one for the probe's delivery, then as the ACKs come)
    assert sent[10] == (32, 9)
    assert [i for t, i in sent[11:]] == [5, 6, 7, 8] and sent[11] == (42, 5)
    assert a.loss_probe_recoveries == 0  # (the probe's own SACK is no repair of the probe)
    assert a.rto_expiries == [] and a.loss_probes == 1 and a.snd_una == a.snd_nxt


def test_without_rack_the_same_tail_loss_waits_for_the_rto() -> None:
    pair, a, t0, una = _start(TCPSettings(recovery=0))
    drop_first(pair, una, {i: 1 for i in range(5, 10)})
    a.send(bytes(10 * MSS), t0)
    pair.flush()
    pair.run(t0 + 600 * MS)
    assert len(a.rto_expiries) == 1 and a.snd_una == a.snd_nxt


def test_a_lost_retransmission_is_found_without_the_rto() -> None:
    pair, a, t0, una = _start()
    drop_first(pair, una, {3: 2})  # the original and the first retransmission
    a.send(bytes(60 * MSS), t0)
    pair.flush()
    pair.run(t0 + 2000 * MS)
    resent = [t for t, i in _sent(pair, t0, una) if i == 3]
    assert len(resent) == 3
    # new data sent after the first retransmission was SACKed a round trip later, and the
    # retransmission was not: lost again, sent a third time then
    assert resent[2] - resent[1] == 10
    assert a.lost_retransmits == 1 and a.rto_expiries == [] and a.snd_una == a.snd_nxt


def test_without_rack_a_lost_retransmission_waits_for_the_rto() -> None:
    pair, a, t0, una = _start(TCPSettings(recovery=0))
    drop_first(pair, una, {3: 2})
    a.send(bytes(60 * MSS), t0)
    pair.flush()
    pair.run(t0 + 2000 * MS)
    assert len(a.rto_expiries) == 1 and a.lost_retransmits == 0 and a.snd_una == a.snd_nxt


def test_a_hole_with_one_segment_sacked_above_it_is_lost_by_time() -> None:
    """RFC 6675's IsLost needs three segments SACKed above a hole; RACK only needs one sent
    later and delivered, in recovery: holes 2 and 10 of 12 are both repaired without the RTO."""
    pair, a, t0, una = _start()
    drop_first(pair, una, {2: 1, 10: 1})
    a.send(bytes(12 * MSS), t0)
    pair.flush()
    pair.run(t0 + 600 * MS)
    resent = [(t, i) for t, i in _sent(pair, t0, una)[12:]]
    # 2 at the third SACK; 10 (sent at 10 ms, as 11, when the first ACKs opened the window) at
    # the SACK of 11, a round trip after it left
    assert resent == [(10, 2), (20, 10)]
    assert a.rto_expiries == [] and a.snd_una == a.snd_nxt

    pair, a, t0, una = _start(TCPSettings(recovery=0))
    drop_first(pair, una, {2: 1, 10: 1})
    a.send(bytes(12 * MSS), t0)
    pair.flush()
    pair.run(t0 + 600 * MS)
    assert [i for t, i in _sent(pair, t0, una)[12:]] == [2, 10]
    assert len(a.rto_expiries) == 1  # hole 10 had one segment SACKed above it: only the RTO


def test_fewer_than_three_sacked_wait_a_reordering_window_on_the_timer() -> None:
    pair, a, t0, una = _start()
    drop_first(pair, una, {0: 1})  # the first of three
    a.send(bytes(3 * MSS), t0)
    pair.flush()
    pair.run(t0 + 10 * MS)
    # two SACKs at 10 ms: not yet three SACKed, so the window is min_rtt / 4 = 2.5 ms past the
    # RTT: 3 ms in whole jiffies, + 2 ms (TCP_TIMEOUT_MIN), in place of the RTO or a probe
    assert a.t_reo == t0 + 15 * MS and a.t_rtx is None and a.t_tlp is None
    assert a.ca_state == CA_OPEN and a._lost_bytes == 0
    pair.run(t0 + 15 * MS)
    assert a.ca_state == CA_RECOVERY
    assert _sent(pair, t0, una)[3:] == [(15, 0)]
    pair.run(t0 + 400 * MS)
    assert a.rto_expiries == [] and a.snd_una == a.snd_nxt and a.t_reo is None


def test_reordering_seen_widens_the_window_so_the_same_reordering_is_no_loss() -> None:
    """Three segments SACKed above a hole make the window 0 and the hole lost at once (a
    spurious retransmission if the hole was only late) until reordering is seen; after that
    the window is min_rtt / 4, and a segment that late is waited for."""
    conn_rack = Rack()
    assert conn_rack.reo_wnd(False, 3, 10 * MS, 10 * MS) == 0
    assert conn_rack.reo_wnd(False, 2, 10 * MS, 10 * MS) == 10 * MS // 4
    assert conn_rack.reo_wnd(True, 0, 10 * MS, 10 * MS) == 0
    conn_rack.reordering_seen(low=1000, fack=1000 + 5 * MSS, mss=MSS)
    assert conn_rack.reord_seen == 1 and conn_rack.reordering == 5
    assert conn_rack.reo_wnd(True, 9, 10 * MS, 10 * MS) == 10 * MS // 4
    assert conn_rack.reo_wnd(False, 9, 10 * MS, 2 * MS) == 2 * MS  # never more than SRTT


def test_a_late_segment_filling_a_hole_is_reordering_and_then_tolerated() -> None:
    pair, a, t0, una = _start()
    late = delay_first(pair, una, {3}, 2 * MS)  # 3 arrives 2 ms after the segments sent after it
    a.send(bytes(8 * MSS), t0)
    pair.flush()
    pair.run(t0 + 400 * MS)
    # 4-7 SACKed first: the window is 0 with three SACKed, so 3 was resent (spuriously), and
    # its late arrival below the highest SACK is reordering
    assert [i for t, i in _sent(pair, t0, una)[8:]] == [3]
    assert a.rack.reord_seen >= 1 and a.snd_una == a.snd_nxt
    assert a.dsacks_received == 1  # the receiver reports the duplicate
    # the same 2 ms lateness again: now inside min_rtt / 4 = 2.5 ms, no retransmission
    late.add(8 + 3)
    t1 = pair.now
    a.send(bytes(8 * MSS), t1)
    pair.flush()
    pair.run(t1 + 400 * MS)
    assert [i for t, i in _sent(pair, t1, una)] == list(range(8, 16))
    assert a.rto_expiries == [] and a.snd_una == a.snd_nxt


def test_a_dsack_of_a_retransmission_adds_a_step_for_sixteen_recoveries() -> None:
    rack = Rack()
    rack.dsack_seen = True
    rack.update_reo_wnd(prior_delivered=10, delivered=20)
    assert rack.steps == 2 and rack.persist == 16 and rack.last_delivered == 20
    rack.dsack_seen = True
    rack.update_reo_wnd(prior_delivered=15, delivered=25)  # sent before the last widening: ignored
    assert rack.steps == 2 and not rack.dsack_seen
    for _ in range(16):
        rack.recovery_ended()
    rack.update_reo_wnd(prior_delivered=30, delivered=40)
    assert rack.steps == 1


def test_an_rto_spares_segments_sent_within_racks_rtt() -> None:
    pair, a, t0, una = _start()
    drop_first(pair, una, {i: 1 for i in range(10)})  # the whole flight; then the probe too
    pair.wire.drop_if = lambda side, seg: side == 0  # nothing from A arrives
    a.send(bytes(10 * MSS), t0)
    pair.flush()
    pair.run(t0 + 300 * MS)
    assert len(a.rto_expiries) == 1
    # before any delivery RACK's RTT is 0: every segment is presumed lost (tcp_timeout_mark_lost)
    assert all(s.lost for s in a.rtx)


def test_reo_timeout_is_whole_jiffies_plus_two_and_at_most_the_rto() -> None:
    assert reo_timeout(1, 200 * MS) == 3 * MS
    assert reo_timeout(2_500_000, 200 * MS) == 5 * MS
    assert reo_timeout(1_000_000, 200 * MS) == 3 * MS
    assert reo_timeout(500 * MS, 200 * MS) == 200 * MS


@pytest.mark.parametrize("value", [-1, 8, True, 1.0])
def test_the_recovery_setting_is_checked(value: object) -> None:
    with pytest.raises(ValueError, match="recovery"):
        TCPSettings(recovery=value)  # type: ignore[arg-type]


def test_a_retransmission_lost_again_after_the_timeout_turns_loss_into_recovery() -> None:
    """tcp_fastretrans_alert in Loss: RACK finding a retransmission lost again (FLAG_LOST_RETRANS)
    falls through to tcp_enter_recovery, whose reduction starts from the loss window."""
    pair, a, t0, una = _start()
    drops = {i: 1 for i in range(11)}  # the first flight (IW10) and the probe (new segment 10)
    drops[1] = 2  # segment 1's retransmission after the RTO is lost again
    drop_first(pair, una, drops)
    a.send(bytes(30 * MSS), t0)
    pair.flush()
    pair.run(t0 + 255 * MS)
    # the RTO at 232 ms resends 0; its ACK brings two new segments (F-RTO), whose SACKs say the
    # loss was real: 1 and 2 resent at 252 ms
    assert len(a.rto_expiries) == 1 and a.ca_state == CA_LOSS and a.lost_retransmits == 0
    assert [x for x in _sent(pair, t0, una) if x[0] > 100] == [(232, 0), (242, 11), (242, 12), (252, 1), (252, 2)]
    pair.run(t0 + 265 * MS)  # the SACK of 2, sent after 1's retransmission, arrived at 262 ms
    assert a.lost_retransmits == 1 and a.ca_state == CA_RECOVERY and a.ssthresh == 2 * MSS
    pair.run(t0 + 600 * MS)
    assert a.snd_una == a.snd_nxt and len(a.rto_expiries) == 1


def test_the_dsack_of_a_probe_does_not_widen_the_reordering_window() -> None:
    """tcp_dsack_seen: only with reordering seen, and never for the probe's own D-SACK."""
    pair, a, t0, _una = _start()
    pair.wire.drop_if = lambda side, _seg: side == 1 and t0 + 4 * MS < pair.now < t0 + 20 * MS  # the ACKs
    a.send(bytes(10 * MSS), t0)
    pair.flush()
    pair.run(t0 + 500 * MS)
    assert a.loss_probes == 1 and a.dsacks_received == 1
    assert a.rack.steps == 1 and not a.rack.dsack_seen and a.rack.persist == 0


def test_a_dsack_of_a_resent_segment_already_sacked_is_reordering() -> None:
    """tcp_sacktag_one: the original of a resent and SACKed segment arrived after all."""
    pair, a, t0, una = _start()
    drop_first(pair, una, {2: 2})  # 2 and its first retransmission are lost
    # the original 3 arrives at 20 ms: after its retransmission, before the hole at 2 is filled
    delay_first(pair, una, {3}, 15 * MS)
    a.send(bytes(10 * MSS), t0)
    pair.flush()
    pair.run(t0 + 500 * MS)
    assert [i for _t, i in _sent(pair, t0, una)[10:]] == [2, 3, 2]
    assert a.dsacks_received == 1 and a.rack.reord_seen == 1 and a.rack.reordering == 7
