"""The retransmission timer's estimator (RFC 6298), with Linux's bounds.

RFC 6298 §2: the first measurement R sets SRTT = R, RTTVAR = R/2; later ones
RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| and SRTT = 7/8 SRTT + 1/8 R'; RTO = SRTT + max(G, 4 RTTVAR),
clamped.  RFC 6298 asks for a 1 s minimum; Linux uses 200 ms (TCP_RTO_MIN) and a 120 s maximum
(TCP_RTO_MAX), and so does netsim by default — applied as Linux applies it: ``tcp_rtt_estimator``
keeps its variance term at least TCP_RTO_MIN (``rttvar_us = max(mdev_max_us, rto_min)``), so the
timeout is SRTT + max(4 RTTVAR, 200 ms), not max(SRTT + 4 RTTVAR, 200 ms).  On a LAN both give
about 200 ms (``ss -i`` shows rto:201 or 204); on a long path Linux's is SRTT + 200 ms, which keeps
a fast retransmission from being followed by a needless timeout.  Before any measurement the RTO is 1 s (§2.1;
RFC 6298 §5.7: 3 s after a lost SYN is not done by Linux, which keeps 1 s).  Each expiry
doubles the RTO (§5.5, exponential backoff) until a new measurement; Karn's rule (§3) — no
sample from a retransmitted segment — is the caller's, who simply does not call ``sample``.
Integer nanoseconds throughout, so the arithmetic is exact and the same everywhere.
"""

from __future__ import annotations

MS = 1_000_000
S = 1_000_000_000
NO_RTT = 1 << 62  # min_rtt before any sample (Linux's ~0U)
MIN_RTT_WINDOW = 300 * S  # tcp_min_rtt_wlen


def whole_jiffies(ns: int) -> int:
    """``ns`` rounded up to whole jiffies of 1 ms (Linux's usecs_to_jiffies at HZ = 1000, the
    granularity of its TCP timers)."""
    return -(-ns // MS) * MS


class RttEstimator:
    """SRTT, RTTVAR and the RTO of one connection, and the windowed least RTT (min_rtt).  (A
    plain slotted class, not attrs: a mypyc build makes it a native class, read on every ACK.)"""

    __slots__ = ("min_rto", "max_rto", "initial_rto", "granularity", "srtt", "rttvar", "backoff", "samples",
                 "min_rtt", "min_rtt_at")

    def __init__(self, min_rto: int = 200 * MS, max_rto: int = 120 * S, initial_rto: int = 1 * S,
                 granularity: int = 1 * MS) -> None:
        self.min_rto = min_rto  # Linux TCP_RTO_MIN
        self.max_rto = max_rto  # Linux TCP_RTO_MAX
        self.initial_rto = initial_rto  # RFC 6298 §2.1, Linux TCP_TIMEOUT_INIT
        self.granularity = granularity  # G: the clock granularity (Linux's jiffy at HZ=1000)
        self.srtt: int | None = None
        self.rttvar: int | None = None
        self.backoff = 0
        self.samples = 0
        # the path's least RTT (Linux's tcp_min_rtt: a 300 s windowed minimum, tcp_min_rtt_wlen):
        # here the least sample, replaced by a newer one once it is 300 s old
        self.min_rtt = NO_RTT
        self.min_rtt_at = 0

    def __repr__(self) -> str:
        return (f"RttEstimator(srtt={self.srtt}, rttvar={self.rttvar}, rto={self.rto}, backoff={self.backoff}, "
                f"samples={self.samples}, min_rtt={self.min_rtt})")

    @property
    def base_rto(self) -> int:
        """The RTO before backoff."""
        srtt, rttvar = self.srtt, self.rttvar
        if srtt is None or rttvar is None:
            return self.initial_rto
        # min(max_rto, srtt + max(G, 4 * rttvar, min_rto)) in two-argument steps: with three
        # arguments max() is a Python call even compiled, and every segment sent asks
        rto = srtt + max(max(4 * rttvar, self.granularity), self.min_rto)  # noqa: PLW3301
        return rto if rto < self.max_rto else self.max_rto

    @property
    def rto(self) -> int:
        """The current timeout, backed off: ``base_rto * 2**backoff``, at most ``max_rto``."""
        rto = self.base_rto << self.backoff
        return rto if rto < self.max_rto else self.max_rto

    def sample(self, rtt: int) -> None:
        """A round-trip measurement R' of a segment sent once (Karn's rule is the caller's)."""
        if rtt < 0:
            raise ValueError(f"a round-trip time cannot be negative: {rtt}")
        if self.srtt is None or self.rttvar is None:
            self.srtt, self.rttvar = rtt, rtt // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - rtt)) // 4
            self.srtt = (7 * self.srtt + rtt) // 8
        self.backoff = 0  # RFC 6298 §5.7 / Linux: a new sample collapses the backoff
        self.samples += 1

    def update_min(self, rtt: int, now: int) -> None:
        """A sample for the least RTT (Linux's tcp_update_rtt_min, fed the newest acknowledged
        segment's RTT)."""
        if rtt <= self.min_rtt or now - self.min_rtt_at > MIN_RTT_WINDOW:
            self.min_rtt, self.min_rtt_at = rtt, now

    def on_timeout(self) -> None:
        """The retransmission timer expired: back off (RFC 6298 §5.5)."""
        if self.base_rto << self.backoff < self.max_rto:
            self.backoff += 1  # (beyond the maximum there is nothing left to double)
