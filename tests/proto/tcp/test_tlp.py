"""Tail loss probes (RFC 8985 §7) as Linux sends them (tcp_schedule_loss_probe,
tcp_send_loss_probe, tcp_process_tlp_ack; on by default: tcp_early_retrans = 3).

With SACK, in the Open state, a probe timeout replaces the RTO: 2 SRTT + 2 ms (2 SRTT + 200 ms
when one segment is out, for the peer's delayed ACK), never later than the RTO.  The probe is a
new segment when the window takes one, else the last segment again.  A D-SACK of the probe
says nothing was lost; an ACK beyond it says the probe repaired a loss, and the window is
reduced once.  The wire here: 5 ms each way, so SRTT = 10 ms and the RTO 210 ms.
"""

from __future__ import annotations

import pytest

from netsim.proto.tcp.connection import ACK, FIN, TCPConnection
from netsim.proto.tcp.settings import MS, TCPSettings
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp_options import TCPOptionMSS, TCPOptionNOP, TCPOptionSACK, TCPOptionSACKPermitted
from tests.proto.tcp.harness import App, Pair, Wire
from tests.proto.tcp.test_connection import PEER_ISS, active_established, established_pair, inbound


def _sent(pair: Pair, who: str, since: int, una: int) -> list[tuple[int, int, int]]:
    """(time since ``since`` in ms, sequence offset from ``una``, length) of what ``who`` sent."""
    return [((t - since) // MS, (seg.seq - una) & 0xFFFFFFFF, len(seg.payload))
            for t, side, seg in pair.log if side == who + ">" and t >= since]


def _start(settings: TCPSettings | None = None, **wire: object) -> tuple[Pair, TCPConnection, int, int]:
    pair = established_pair(Wire(delay=5 * MS, **wire), settings_a=settings)  # type: ignore[arg-type]
    a = pair.a
    assert a is not None and a.rtt.srtt == 10 * MS and a.rtt.rto == 210 * MS
    App(pair, "b", shutdown=False)  # the receiver reads everything
    return pair, a, pair.now, a.snd_una


def test_a_probe_after_lost_acks_is_reported_as_a_duplicate_and_costs_nothing() -> None:
    pair, a, t0, una = _start()
    pair.wire.drop_if = lambda side, _seg: side == 1 and t0 + 4 * MS < pair.now < t0 + 20 * MS  # the ACKs
    a.send(bytes(10 * 1448), t0)
    pair.flush()
    pair.run(t0 + 500 * MS)
    sent = _sent(pair, "A", t0, una)
    assert sent[:10] == [(0, i * 1448, 1448) for i in range(10)]
    assert sent[10:] == [(22, 9 * 1448, 1448)]  # 2 SRTT + 2 ms later: the last segment again
    assert a.loss_probes == 1 and a.dsacks_received == 1 and a.tlp_high is None
    assert a.loss_probe_recoveries == 0 and a.rto_expiries == []
    assert a.cwnd > 10 * 1448  # still in slow start: no reduction


def test_a_probe_that_repairs_a_tail_loss_reduces_the_window_once() -> None:
    pair, a, t0, una = _start()
    last = (a.snd_nxt + 9 * 1448) & 0xFFFFFFFF
    dropped: list[TCPSegment] = []

    def drop(side: int, seg: TCPSegment) -> bool:
        if side == 0 and seg.seq == last and not dropped:
            dropped.append(seg)
            return True
        return False

    pair.wire.drop_if = drop
    a.send(bytes(10 * 1448), t0)
    pair.flush()
    pair.run(t0 + 400 * MS)
    # the ACKs of the first nine come at 10 ms; with one segment out the probe timeout would be
    # 2 SRTT + 200 ms, so the RTO (210 ms) bounds it: the probe leaves at 220 ms
    assert _sent(pair, "A", t0, una)[10:] == [(220, 9 * 1448, 1448)]
    assert a.loss_probes == 1 and a.rto_expiries == [] and a.snd_una == a.snd_nxt
    assert a.tlp_high is not None  # the ACK of the probe is exactly its SND.NXT: no verdict yet
    before = a.cwnd
    a.send(bytes(1448), pair.now)
    pair.flush()
    pair.run(pair.now + 100 * MS)
    # an ACK beyond the probe without a D-SACK: the probe repaired a loss (CUBIC: x 0.7)
    assert a.loss_probe_recoveries == 1 and a.tlp_high is None
    assert a.ssthresh == before * 7 // 10 and a.cwnd >= a.ssthresh


def test_a_probe_is_new_data_when_the_window_takes_it() -> None:
    settings = TCPSettings(initial_cwnd=4)
    pair, a, t0, una = _start(settings)
    pair.wire.drop_if = lambda side, _seg: side == 1 and t0 + 4 * MS < pair.now < t0 + 20 * MS
    a.send(bytes(10 * 1448), t0)  # four segments fit the window; six wait
    pair.flush()
    pair.run(t0 + 25 * MS)
    sent = _sent(pair, "A", t0, una)
    assert sent == [(0, i * 1448, 1448) for i in range(4)] + [(22, 4 * 1448, 1448)]  # the fifth, past cwnd
    assert a.loss_probes == 1 and not a.tlp_retrans


def test_no_probe_without_sack_or_with_tcp_early_retrans_below_3() -> None:
    for settings in (TCPSettings(sack=False), TCPSettings(early_retrans=2)):
        pair, a, t0, una = _start(settings)
        pair.wire.drop_if = lambda side, _seg: side == 1 and t0 + 4 * MS < pair.now < t0 + 20 * MS  # noqa: B023
        a.send(bytes(10 * 1448), t0)
        pair.flush()
        pair.run(t0 + 500 * MS)
        assert _sent(pair, "A", t0, una)[10:][:1] == [(210, 0, 1448)]  # the RTO, for the first segment
        assert a.loss_probes == 0


# --- what a review against Linux found (each once wrong) --------------------------------------


def _drop_first(pair: Pair, seq: int, times: int) -> list[int]:
    """Drop the first ``times`` transmissions of the segment at ``seq`` (A to B); returns when."""
    when: list[int] = []

    def drop(side: int, seg: TCPSegment) -> bool:
        if side == 0 and seg.seq == seq and len(when) < times:
            when.append(pair.now)
            return True
        return False

    pair.wire.drop_if = drop
    return when


def test_a_lost_probe_does_not_stop_the_fast_retransmission_of_its_segment() -> None:
    """The probe goes out as Linux's __tcp_retransmit_skb sends it: not as retransmitted data
    in flight, so when SACKs later show the tail lost it is resent at once, not at the RTO."""
    pair, a, t0, una = _start()
    last = (a.snd_nxt + 9 * 1448) & 0xFFFFFFFF
    dropped = _drop_first(pair, last, 2)  # the tail and its probe
    a.send(bytes(10 * 1448), t0)
    pair.flush()
    pair.run(t0 + 250 * MS)
    assert [(t - t0) // MS for t in dropped] == [0, 220] and a.loss_probes == 1
    a.send(bytes(6 * 1448), pair.now)  # six more: their SACKs mark the tail lost
    pair.flush()
    pair.run(t0 + 300 * MS)
    resent = [t for t, ms, _size in _sent(pair, "A", t0, una) if ms == 9 * 1448]
    assert resent[-1] < 270 and a.rto_expiries == []  # (the six left at 250 ms; their SACKs at 260)


def test_the_head_resent_restarts_the_rto() -> None:
    """tcp_xmit_retransmit_queue rearms the RTO from now when it resends the head: a head
    lost twice (the original and its fast retransmission) is resent by the RTO one RTO after
    the fast retransmission, not after the original."""
    pair, a, t0, _una = _start()
    dropped = _drop_first(pair, a.snd_nxt, 2)
    a.send(bytes(10 * 1448), t0)
    pair.flush()
    pair.run(t0 + 400 * MS)
    assert [(t - t0) // MS for t in dropped] == [0, 10]
    assert [(t - t0) // MS for t in a.rto_expiries] == [10 + 210]


def test_acks_that_only_carry_a_d_sack_are_not_duplicates() -> None:
    """Linux's FLAG_DSACKING_ACK: three of them start no recovery."""
    options = (TCPOptionMSS(1000), TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACKPermitted())
    conn = active_established(peer_options=options)
    conn.send(bytes(20_000), 20 * MS)
    conn.take_outbox()
    una = conn.snd_una
    conn.segment_arrives(inbound(PEER_ISS + 1, una + 3000, ACK), 30 * MS)
    conn.take_outbox()
    for i in range(3):
        dsack = (TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACK(((una + 1000 * i, una + 1000 * (i + 1)),)))
        conn.segment_arrives(inbound(PEER_ISS + 1, una + 3000, ACK, options=dsack), 31 * MS + i)
        assert conn.take_outbox() == []
    assert conn.dupacks == 0 and conn.ca_state == 0 and conn.dsacks_received == 3


@pytest.mark.parametrize(("congestion", "ssthresh"), [("newreno", 10), ("cubic", 14)])
def test_a_repaired_tail_loss_cuts_the_window_not_the_tail(congestion: str, ssthresh: int) -> None:
    """tcp_process_tlp_ack -> tcp_init_cwnd_reduction: Reno's ssthresh is half the window
    (tcp_reno_ssthresh), not half the tail still in flight."""
    pair, a, t0, _una = _start(TCPSettings(congestion_control=congestion, initial_cwnd=20))
    _drop_first(pair, (a.snd_nxt + 19 * 1448) & 0xFFFFFFFF, 1)
    a.cc.ssthresh = 20 * 1448  # (out of slow start, so the window stays 20 segments)
    a.send(bytes(20 * 1448), t0)
    pair.flush()
    pair.run(t0 + 400 * MS)
    assert a.loss_probes == 1
    a.send(bytes(1448), pair.now)
    pair.flush()
    pair.run(pair.now + 100 * MS)
    assert a.loss_probe_recoveries == 1 and a.ssthresh // 1448 == ssthresh


def test_no_probe_while_sacked_data_is_out() -> None:
    """Linux sends probes in the Open state only (tcp_schedule_loss_probe): with a hole SACKed
    around (the Disorder state) the RTO stays armed, and no SACKed segment is probed."""
    pair, a, t0, una = _start()
    _drop_first(pair, (a.snd_nxt + 7 * 1448) & 0xFFFFFFFF, 1)
    a.send(bytes(10 * 1448), t0)
    pair.flush()
    pair.run(t0 + 300 * MS)
    assert a.loss_probes == 0
    assert [ms // 1448 for t, ms, _size in _sent(pair, "A", t0, una)[10:]] == [7]  # the RTO's, for the hole


def test_a_tail_loss_with_the_fin_on_the_last_segment_is_repaired_without_the_rto() -> None:
    """The FIN rides on the last segment, the last three are lost: the probe resends the last
    with the FIN, the receiver SACKs both (as Linux: the out-of-order segment's end_seq counts
    the FIN), so RACK marks the two holes lost (found by the Linux loss oracle: the SACK left the
    FIN out, the probe was never marked SACKed and the tail waited for the RTO)."""
    pair, a, t0, una = _start()
    a.send(bytes(13 * 1448), t0)  # ten go at once, three (the FIN on the last) on the ACKs
    a.shutdown(t0)
    first = (una + 10 * 1448) & 0xFFFFFFFF
    seen: set[int] = set()

    def drop(side: int, seg: TCPSegment) -> bool:
        offset = (seg.seq - first) & 0xFFFFFFFF
        if side == 0 and seg.payload and offset < 3 * 1448 and seg.seq not in seen:
            seen.add(seg.seq)
            return True
        return False

    pair.wire.drop_if = drop
    pair.flush()
    pair.run(t0 + 100 * MS)
    sent = [(t, offset // 1448) for t, offset, _size in _sent(pair, "A", t0, una)]
    assert sent[10:13] == [(10, 10), (10, 11), (10, 12)]
    assert sent[13:] == [(32, 12), (42, 10), (42, 11)]  # the probe (with the FIN) 2 SRTT + 2 ms on, then RACK's
    assert [(t - t0) // MS for t, side, seg in pair.log if side == "A>" and seg.flags & FIN] == [10, 32]
    assert a.loss_probes == 1 and a.rto_expiries == [] and a.snd_una == a.snd_nxt  # (before: the RTO at 242 ms)
