"""Congestion control: Reno (RFC 5681), NewReno (RFC 6582) and CUBIC (RFC 9438), pluggable.

The engine owns loss detection and recovery (which segments to resend, when recovery ends);
a congestion-control object owns ``cwnd`` and ``ssthresh``: how they grow on ACKs and shrink on
a loss.  Windows are in bytes, times in integer nanoseconds, and CUBIC's curve is computed in
integers (a cube root by Newton's method, as Linux's ``cubic_root``), so the same run gives the
same windows on every machine.  CUBIC leaves slow start as Linux's does, by HyStart's ACK-train
and delay detectors (Ha and Rhee 2011, Linux ``tcp_cubic.c``), or at the first loss.
"""

from __future__ import annotations

from typing import ClassVar

INFINITE_SSTHRESH = 0x7FFFFFFF


class CongestionControl:
    """Reno's window rules (RFC 5681 §3.1) with Linux's choices: slow start by everything an
    ACK acknowledges (Linux's tcp_slow_start counts every acknowledged packet, no RFC 3465
    limit L; netsim counts bytes), up to ssthresh, the rest going to congestion avoidance of one
    SMSS per window's worth of ACKed bytes (tcp_cong_avoid_ai); on a loss ssthresh =
    max(cwnd / 2, 2) segments (tcp_reno_ssthresh: cwnd, where RFC 5681's equation 4 says
    FlightSize)."""

    name: ClassVar[str] = "reno"
    #: RFC 6582: stay in recovery across partial ACKs (NewReno) or leave at the first new ACK (Reno)
    partial_ack_recovery: ClassVar[bool] = False
    #: whether :meth:`pkts_acked` wants the ACKs of slow start (CUBIC's HyStart until it fires)
    hystart_pending: bool = False

    __slots__ = ("mss", "cwnd", "ssthresh", "_acked")

    def __init__(self, mss: int, initial_segments: int = 10) -> None:
        self.mss = mss
        self.cwnd = initial_segments * mss
        self.ssthresh = INFINITE_SSTHRESH
        self._acked = 0

    @property
    def in_slow_start(self) -> bool:
        return self.cwnd < self.ssthresh

    def set_mss(self, mss: int) -> None:
        """The sending MSS changed (PMTUD, or the peer's MSS once known): windows keep their
        size in segments, as Linux counts them in packets."""
        if mss != self.mss and mss > 0:
            self.cwnd = max(mss, self.cwnd * mss // self.mss)
            if self.ssthresh != INFINITE_SSTHRESH:
                self.ssthresh = max(2 * mss, self.ssthresh * mss // self.mss)
            self.mss = mss

    def pkts_acked(self, rtt: int | None, now: int, una: int, snd_nxt: int, srtt: int | None) -> None:
        """An ACK in slow start acknowledged data (Linux's ``pkts_acked`` hook), before the window
        grows on it: ``rtt`` is the newest acknowledged segment's RTT (None if unknown), ``una``
        and ``snd_nxt`` are offsets in the sequence space."""

    def on_ack(self, acked: int, now: int, srtt: int | None) -> None:
        """``acked`` new bytes were cumulatively acknowledged outside loss recovery."""
        if acked <= 0:
            return
        if self.cwnd < self.ssthresh:
            self.cwnd += acked
            if self.cwnd <= self.ssthresh:
                return
            acked = self.cwnd - self.ssthresh
            self.cwnd = self.ssthresh
        self._congestion_avoidance(acked, now, srtt)

    def _congestion_avoidance(self, acked: int, now: int, srtt: int | None) -> None:
        self._acked += acked
        if self._acked >= self.cwnd:
            self._acked -= self.cwnd
            self.cwnd += self.mss

    def on_congestion(self, flight: int, now: int) -> int:
        """Fast retransmit starts (RFC 5681 §3.2 step 2): returns and sets the new ssthresh,
        half the window in whole segments, at least two (Linux's tcp_reno_ssthresh)."""
        self.ssthresh = max(self.cwnd // self.mss >> 1, 2) * self.mss
        self._acked = 0
        return self.ssthresh

    def on_timeout(self, flight: int, now: int) -> None:
        """The retransmission timer expired (RFC 5681 §3.1, eq. 4; loss window = 1 SMSS)."""
        self.on_congestion(flight, now)
        self.cwnd = self.mss

    def on_recovery_end(self) -> None:
        """Recovery ended with a full ACK: deflate to ssthresh (RFC 6582 §3.2 step 3)."""
        self.cwnd = max(self.ssthresh, self.mss)


class NewReno(CongestionControl):
    """Reno's windows with RFC 6582's recovery: partial ACKs keep the sender in fast recovery."""

    name: ClassVar[str] = "newreno"
    partial_ack_recovery: ClassVar[bool] = True
    __slots__ = ()


#: RFC 9438 §4.6 and §5: C = 0.4 in tenths; beta_cubic = 0.7, as Linux's 717/1024
_C_TENTHS = 4
_BETA_LINUX, _BETA_SCALE = 717, 1024
#: HyStart's constants (tcp_cubic.c): low window in segments, times in µs
_HYSTART_LOW_WINDOW = 16
_HYSTART_ACK_DELTA_US = 2000
_HYSTART_MIN_SAMPLES = 8
_HYSTART_DELAY_MIN_US = 4000
_HYSTART_DELAY_MAX_US = 16000
_NO_RTT = 0xFFFFFFFF


def icbrt(value: int) -> int:
    """The integer cube root (floor) of a non-negative integer."""
    if value <= 0:
        return 0
    guess = 1 << ((value.bit_length() + 2) // 3)
    while True:
        better = (2 * guess + value // (guess * guess)) // 3
        if better >= guess:
            break
        guess = better
    while guess * guess * guess > value:
        guess -= 1
    while (guess + 1) ** 3 <= value:
        guess += 1
    return guess


class Cubic(CongestionControl):
    """CUBIC (RFC 9438): after a loss the window follows W(t) = C (t - K)^3 + W_max (§4.2), with
    K = cbrt(W_max (1 - beta) / C) (eq. 2), never below the Reno-friendly estimate W_est (§4.3),
    and fast convergence (§4.7); multiplicative decrease by beta = 0.7 (§4.6).  Times in ms,
    windows in bytes, integer arithmetic throughout."""

    name: ClassVar[str] = "cubic"
    partial_ack_recovery: ClassVar[bool] = True
    __slots__ = ("w_max", "k_ms", "epoch_start", "w_est", "_est_acked", "hystart", "hystart_pending",
                 "delay_min", "round_start", "last_ack", "end_seq", "curr_rtt", "sample_cnt", "hystart_exit")

    def __init__(self, mss: int, initial_segments: int = 10, hystart: bool = True) -> None:
        super().__init__(mss, initial_segments)
        self.w_max = 0
        self.k_ms = 0
        self.epoch_start: int | None = None
        self.w_est = 0
        self._est_acked = 0
        self.hystart = hystart
        #: how HyStart ended slow start: None, "train" or "delay" (Linux's TCPHystart*Detect)
        self.hystart_exit: str | None = None
        self._hystart_restart()

    # --- HyStart (Linux tcp_cubic.c; times in µs as there) ----------------------------------------

    def _hystart_restart(self) -> None:
        """bictcp_reset + bictcp_hystart_reset: at the start and after an RTO."""
        self.hystart_pending = self.hystart  # (Linux's !found)
        self.delay_min = 0
        self.round_start = self.last_ack = 0
        self.end_seq: int | None = None  # the round ends when SND.UNA passes it (None: at the next ACK)
        self.curr_rtt = _NO_RTT
        self.sample_cnt = 0

    def pkts_acked(self, rtt: int | None, now: int, una: int, snd_nxt: int, srtt: int | None) -> None:
        """cubictcp_acked: track the least RTT, and in slow start from 16 segments on look for
        the end of it: an ACK train (ACKs no more than 2 ms apart) lasting longer than half the
        least RTT (plus an allowance for segmentation offload), or a round whose least RTT
        exceeds the least RTT by clamp(delay_min / 8, 4 ms, 16 ms).  Either sets ssthresh to
        cwnd: slow start is over."""
        if rtt is None:
            return
        if self.epoch_start is not None and now - self.epoch_start < 1_000_000_000:
            return  # Linux discards delay samples right after fast recovery (within HZ)
        delay = rtt // 1000 or 1
        if not self.delay_min or self.delay_min > delay:
            self.delay_min = delay
        if not self.hystart_pending or self.cwnd >= self.ssthresh or self.cwnd < _HYSTART_LOW_WINDOW * self.mss:
            return
        now_us = now // 1000
        if self.end_seq is None or una > self.end_seq:  # a new round (bictcp_hystart_reset)
            self.round_start = self.last_ack = now_us
            self.end_seq = snd_nxt
            self.curr_rtt = _NO_RTT
            self.sample_cnt = 0
        if now_us - self.last_ack <= _HYSTART_ACK_DELTA_US:
            self.last_ack = now_us
            # no pacing qdisc: the train must outlast half the least RTT (plus the offload cushion)
            threshold = (self.delay_min + self._ack_delay(srtt)) >> 1
            if now_us - self.round_start > threshold:
                self._hystart_found("train")
        self.curr_rtt = min(self.curr_rtt, delay)
        if self.sample_cnt < _HYSTART_MIN_SAMPLES:
            self.sample_cnt += 1
        elif self.curr_rtt > self.delay_min + min(max(self.delay_min >> 3, _HYSTART_DELAY_MIN_US),
                                                  _HYSTART_DELAY_MAX_US):
            self._hystart_found("delay")

    def _ack_delay(self, srtt: int | None) -> int:
        """hystart_ack_delay: the time to send 4 x 64 KB (sk_gso_max_size) at the pacing rate
        Linux keeps (cwnd x MSS / SRTT, x 2 in slow start below ssthresh / 2, else x 1.2), at most
        1 ms; 0 before an RTT sample."""
        if not srtt:
            return 0
        ratio = 200 if self.cwnd < self.ssthresh // 2 else 120
        rate = self.cwnd * ratio * 10_000_000 // srtt  # bytes per second (srtt in ns)
        return min(1000, 65536 * 4 * 1_000_000 // rate) if rate else 1000

    def _hystart_found(self, how: str) -> None:
        if self.hystart_pending:
            self.hystart_exit = how
        self.hystart_pending = False
        self.ssthresh = self.cwnd

    def w_cubic(self, t_ms: int) -> int:
        """W_cubic(t) in bytes, t in ms since the epoch began (RFC 9438 eq. 1)."""
        d = t_ms - self.k_ms
        return self.w_max + _C_TENTHS * d * d * d * self.mss // 10_000_000_000

    def _congestion_avoidance(self, acked: int, now: int, srtt: int | None) -> None:
        if self.epoch_start is None:
            self.epoch_start = now
            if self.cwnd < self.w_max:
                self.k_ms = icbrt((self.w_max - self.cwnd) * (10 * 1_000_000_000) // (_C_TENTHS * self.mss))
            else:
                self.k_ms, self.w_max = 0, self.cwnd
            self.w_est, self._est_acked = self.cwnd, 0
        rtt_ms = (srtt or 0) // 1_000_000
        t_ms = (now - self.epoch_start) // 1_000_000
        target = self.w_cubic(t_ms + rtt_ms)
        # Reno-friendly region (§4.3): W_est grows by alpha = 3(1-beta)/(1+beta) = 9/17 SMSS per window
        self._est_acked += acked
        while self._est_acked >= self.w_est > 0:
            self._est_acked -= self.w_est
            self.w_est += 9 * self.mss // 17
        target = max(target, self.w_est)
        target = min(max(target, self.cwnd), self.cwnd + self.cwnd // 2)  # §4.4: at most 1.5 cwnd
        # cwnd grows by (target - cwnd) / cwnd per SMSS acknowledged
        self._acked += acked * (target - self.cwnd) // max(1, self.mss)
        if self._acked >= self.cwnd:
            increase, self._acked = divmod(self._acked, self.cwnd)
            self.cwnd += min(increase, max(1, target - self.cwnd) // self.mss + 1) * self.mss

    def on_congestion(self, flight: int, now: int) -> int:
        """Multiplicative decrease (§4.6) and fast convergence (§4.7: release bandwidth when the
        window shrank since the last loss), in whole segments with Linux's beta of 717/1024
        (bictcp_recalc_ssthresh)."""
        mss = self.mss
        segments = self.cwnd // mss
        if self.cwnd < self.w_max:
            self.w_max = segments * (_BETA_SCALE + _BETA_LINUX) // (2 * _BETA_SCALE) * mss
        else:
            self.w_max = self.cwnd
        self.ssthresh = max(segments * _BETA_LINUX // _BETA_SCALE, 2) * mss
        self.epoch_start = None
        self._acked = 0
        return self.ssthresh

    def on_timeout(self, flight: int, now: int) -> None:
        self.on_congestion(flight, now)
        self.cwnd = self.mss
        self._hystart_restart()  # (cubictcp_state on TCP_CA_Loss)


def make_congestion_control(name: str, mss: int, initial_segments: int = 10, *,
                            hystart: bool = True) -> CongestionControl:
    if name == "cubic":
        return Cubic(mss, initial_segments, hystart)
    classes: dict[str, type[CongestionControl]] = {"reno": CongestionControl, "newreno": NewReno}
    try:
        return classes[name](mss, initial_segments)
    except KeyError:
        raise ValueError(f"unknown congestion control {name!r}; known: reno, newreno, cubic") from None
