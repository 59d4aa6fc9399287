"""RACK: time-based loss detection (RFC 8985 §6), as Linux's ``tcp_recovery.c`` does it.

A segment is lost when a segment sent *after* it has been delivered (ACKed or SACKed) and more
than the delivered one's RTT plus a reordering window has passed since it left.  Unlike
counting duplicate ACKs, this works for retransmissions too (a lost retransmission is found
without waiting for the RTO) and for the tail of a flight.

Linux's choices (net/ipv4/tcp_recovery.c, tcp_input.c), which netsim follows:

- the reordering window is 0 in recovery, or once ``reordering`` (3) segments are SACKed, until
  reordering has been seen (``tcp_rack_reo_wnd``); otherwise min_rtt / 4 per step, at most SRTT;
- a step is added for a D-SACK of a retransmission once reordering has been seen (never for the
  tail loss probe's own, ``tcp_dsack_seen``), at most once a round trip, and kept for 16
  recoveries (``tcp_rack_update_reo_wnd``);
- a segment still inside its window arms the reordering timer: the wait plus 2 ms
  (TCP_TIMEOUT_MIN_US), rounded up to whole jiffies (1 ms, HZ = 1000), never later than the RTO;
- reordering is seen when a segment sent once fills a hole below the highest SACK, when a
  resent segment already SACKed is D-SACKed, or when the timestamp shows an original resent in
  vain arrived (``tcp_check_sack_reordering``, from ``tcp_sacktag_one``, ``tcp_clean_rtx_queue``
  and ``tcp_try_undo_partial``), which also raises ``reordering`` to the distance, at most
  ``tcp_max_reordering`` (300).

"Sent after" is decided by the order of transmission, which the connection numbers: RFC 8985
compares transmission times and breaks ties by sequence number, because a real clock seldom
gives two segments the same time; on a simulated clock every segment of a burst has the same
one, and a retransmission sent after new data of a higher sequence would look older.

Pure bookkeeping: the connection hands in its queue of sent segments and the clock; this module
says which to mark lost and how long to wait.  Times are integer nanoseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from netsim.proto.tcp.rtt import MS, whole_jiffies

TIMEOUT_MIN = 2 * MS  # TCP_TIMEOUT_MIN_US
RECOVERY_THRESH = 16  # TCP_RACK_RECOVERY_THRESH: recoveries a widened window is kept for
MAX_REORDERING = 300  # tcp_max_reordering
DEFAULT_REORDERING = 3  # tcp_reordering (TCP_FASTRETRANS_THRESH)

# net.ipv4.tcp_recovery bits
LOSS_DETECTION = 0x1  # TCP_RACK_LOSS_DETECTION
STATIC_REO_WND = 0x2  # TCP_RACK_STATIC_REO_WND
NO_DUPTHRESH = 0x4  # TCP_RACK_NO_DUPTHRESH


class Sent(Protocol):
    """What RACK reads of a sent segment (``SentSegment``)."""

    start: int
    end: int
    tx_time: int
    tx_order: int
    sacked: bool
    lost: bool
    retrans_out: bool


class Rack:
    """A connection's RACK state (Linux's ``tp->rack`` with ``reord_seen`` and ``reordering``)."""

    __slots__ = ("mode", "mstamp", "order", "rtt", "advanced", "reord_seen", "reordering", "steps",
                 "dsack_seen", "last_delivered", "persist", "rs_order", "rs_prior")

    def __init__(self, mode: int = LOSS_DETECTION) -> None:
        self.mode = mode
        self.mstamp = -1  # when the most recently sent delivered segment left (none yet)
        self.order = -1  # its place in the order of transmission
        self.rtt = 0  # the RTT of the last segment delivered
        self.advanced = False  # something was delivered since the last scan
        self.reord_seen = 0
        self.reordering = DEFAULT_REORDERING  # in segments
        self.steps = 1  # the reordering window in quarters of min_rtt
        self.dsack_seen = False
        self.last_delivered = 0
        self.persist = 0
        # the rate sample's prior_delivered: of the newest segment delivered since the last scan
        self.rs_order = -1
        self.rs_prior = 0

    def advance(self, tx_time: int, tx_order: int, retransmitted: bool, now: int, min_rtt: int,
                tx_delivered: int) -> None:
        """A segment was delivered (RFC 8985 §6.2 step 2, tcp_rack_advance).  A retransmitted
        one delivered sooner than the path's least RTT is ambiguous (the original may be what
        arrived) and is not taken.  ``tx_delivered``: segments delivered when it left."""
        if tx_order > self.rs_order:
            self.rs_order, self.rs_prior = tx_order, tx_delivered
        rtt = now - tx_time
        if retransmitted and rtt < min_rtt:
            return
        self.advanced = True
        self.rtt = rtt
        if tx_order > self.order:
            self.mstamp, self.order = tx_time, tx_order

    def reo_wnd(self, in_recovery: bool, sacked_segments: int, min_rtt: int, srtt: int) -> int:
        """The reordering window (RFC 8985 §6.2 step 4, tcp_rack_reo_wnd)."""
        if not self.reord_seen:
            if in_recovery:
                return 0
            if sacked_segments >= self.reordering and not self.mode & NO_DUPTHRESH:
                return 0
        window = (min_rtt >> 2) * self.steps
        return window if window < srtt else srtt

    def detect(self, sent: Iterable[Sent], now: int, reo_wnd: int) -> tuple[list[Sent], int]:
        """The segments now lost, and the longest wait (ns, 0: none) for those still within the
        window (RFC 8985 §6.2 step 5, tcp_rack_detect_loss).  Skips SACKed segments and those
        marked lost and not yet resent; a resent one is judged by its last transmission."""
        lost: list[Sent] = []
        wait = 0
        order, rtt = self.order, self.rtt
        for seg in sent:
            if seg.sacked or (seg.lost and not seg.retrans_out) or seg.tx_order >= order:
                continue  # (Linux walks in send order and stops at the last; netsim's queue is in sequence order)
            remaining = rtt + reo_wnd - (now - seg.tx_time)
            if remaining <= 0:
                lost.append(seg)
            elif remaining > wait:
                wait = remaining
        return lost, wait

    def take_rate_sample(self) -> int:
        """The newest delivered segment's ``tx_delivered`` since the last call (0: none)."""
        prior = self.rs_prior
        self.rs_order, self.rs_prior = -1, 0
        return prior

    def update_reo_wnd(self, prior_delivered: int, delivered: int) -> None:
        """Widen the window by a step after a D-SACK, at most once a round trip (the newest
        segment this ACK delivered left after the last widening), for 16 recoveries
        (tcp_rack_update_reo_wnd).  ``prior_delivered``: segments delivered when that segment
        left (0: nothing delivered by this ACK)."""
        if self.mode & STATIC_REO_WND or not prior_delivered:
            return
        if prior_delivered < self.last_delivered:
            self.dsack_seen = False
        if self.dsack_seen:
            self.steps = min(0xFF, self.steps + 1)
            self.dsack_seen = False
            self.last_delivered = delivered
            self.persist = RECOVERY_THRESH
        elif not self.persist:
            self.steps = 1

    def recovery_ended(self) -> None:
        """A recovery ended without undo (tcp_try_undo_recovery): one fewer to keep the window."""
        if self.persist:
            self.persist -= 1

    def reordering_seen(self, low: int, fack: int, mss: int) -> None:
        """A segment sent once was delivered at ``low``, below the highest SACK ``fack``
        (tcp_check_sack_reordering): remember it, and raise ``reordering`` to the distance."""
        if low >= fack:
            return
        metric = fack - low
        if mss and metric > self.reordering * mss:
            self.reordering = min(-(-metric // mss), MAX_REORDERING)
        self.reord_seen += 1


def reo_timeout(wait: int, rto: int) -> int:
    """The reordering timer's delay for a wait of ``wait`` ns: the wait plus TCP_TIMEOUT_MIN_US
    (2 ms) in whole jiffies (1 ms, rounded up), at most the RTO (tcp_rack_mark_lost's
    usecs_to_jiffies(timeout + TCP_TIMEOUT_MIN_US), inet_csk_reset_xmit_timer)."""
    delay = whole_jiffies(wait + TIMEOUT_MIN)
    return delay if delay < rto else rto
