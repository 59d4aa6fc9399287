"""One TCP connection as a sans-I/O state machine (RFC 9293), with Linux's choices.

No clock and no I/O: every entry point takes ``now`` (integer ns); segments to send pile up in
:attr:`TCPConnection.outbox`, things the application should hear about in :attr:`events`
(a bit set), and :meth:`next_deadline` says when :meth:`on_timer` must run next.  The driver
(``netsim.sim.tcp``) moves segments between this object and IP.

What it does, and where from:

- the 11 states and the segment-arrival rules of RFC 9293 §3.10.7, with RFC 5961's challenge
  ACKs for in-window RSTs and SYNs and its ACK-acceptability check; simultaneous open and close;
- sequence space kept internally as unwrapped offsets from the ISS (so the retransmission queue
  never compares modulo 2**32), and shown as 32-bit SND.UNA / SND.NXT / RCV.NXT;
- MSS option (RFC 9293 §3.7.1; 536 when absent), PMTUD (RFC 1191: a smaller MTU re-cuts the
  queue and resends what no longer fits, as Linux's ``tcp_simple_retransmit``), window scaling
  and timestamps (RFC 7323) with PAWS, SACK (RFC 2018) with RACK's time-based loss marking
  (RFC 8985 §6, Linux's default; RFC 6675's IsLost with ``tcp_recovery = 0``), D-SACK
  (RFC 2883) where Linux reports one;
- Linux's segment size with timestamps: MSS minus the 12-byte option (1448 on Ethernet);
- Nagle's algorithm in Linux's Minshall form (RFC 896; one small segment in flight),
  TCP_NODELAY; delayed ACKs (RFC 1122 §4.2.3.2, RFC 9293 §3.8.6.3) as Linux: quick ACKs at the
  start, then an ACK for every second full segment or after 40 ms, at once for out-of-order data;
- retransmission timer per RFC 6298 with Linux's 200 ms floor, exponential backoff and Karn's
  rule, and before it, with SACK, a tail loss probe (RFC 8985 §7, Linux's tcp_send_loss_probe);
  giving up after ``tcp_retries2`` / ``tcp_syn_retries`` / ``tcp_synack_retries`` by Linux's
  time formula (``retransmits_timed_out``);
- fast retransmit and NewReno recovery (RFC 5681, RFC 6582) or SACK-based recovery (RFC 6675),
  congestion control from :mod:`netsim.proto.tcp.congestion`; Linux's pipe estimate
  (packets out - SACKed - lost + retransmitted, here in bytes); the window brought down to
  ssthresh in recovery by proportional rate reduction (RFC 6937, Linux's tcp_cwnd_reduction);
- receive-side SWS avoidance and a window that never shrinks (RFC 9293 §3.8.6.2.2), zero-window
  probing with the persist timer (Linux probes with SEG.SEQ = SND.UNA - 1 and no data);
- Linux's buffer autotuning (:mod:`netsim.proto.tcp.autotune`): the receive buffer grows with
  what the application reads per RTT of the receiver's own estimate (dynamic right-sizing,
  ``tcp_rcv_space_adjust`` / ``tcp_rcvbuf_grow``, ``tcp_rcv_rtt_measure(_ts)``) up to
  ``tcp_rmem[2]``, the send buffer with the congestion window (``tcp_sndbuf_expand``,
  ``tcp_new_space``) up to ``tcp_wmem[2]``; SO_RCVBUF / SO_SNDBUF lock them;
- keepalive (RFC 1122 §4.2.3.6, Linux's 7200 s / 75 s / 9 probes), TIME-WAIT for 2*MSL
  (60 s), FIN-WAIT-2 timeout for orphaned sockets (``tcp_fin_timeout``), RST on close with
  unread data (RFC 2525 §2.17, Linux);
- undoing a needless reduction (Linux's tcp_try_undo_recovery / _dsack / _loss): RFC 3522's
  timestamp test and RFC 3708's D-SACK count;
- F-RTO after a timeout (RFC 5682 §3.1, Linux's tcp_process_loss).

Not modelled: urgent data (URG is ignored), ECN, TCP Fast Open, undo on a partial ACK.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import Any

from netsim.proto.tcp.autotune import (
    TCP_INIT_CWND,
    offered_wscale,
    rcv_rtt_update,
    rcvbuf_grow_target,
    sndbuf_expanded,
    space_from_win,
    win_from_space,
)
from netsim.proto.tcp.buffers import ReceiveBuffer, SendBuffer
from netsim.proto.tcp.congestion import INFINITE_SSTHRESH, CongestionControl, make_congestion_control
from netsim.proto.tcp.rack import LOSS_DETECTION, RECOVERY_THRESH, Rack, reo_timeout
from netsim.proto.tcp.rtt import RttEstimator, whole_jiffies
from netsim.proto.tcp.seq import seq_add, seq_gt, seq_le, seq_lt, seq_sub
from netsim.proto.tcp.settings import MS, TCPSettings
from netsim.proto.tcp.states import S, TCPState, legal
from netsim.wire.tcp import TCPSegment, _make_segment
from netsim.wire.tcp_options import (
    NOP,
    TCPOption,
    TCPOptionMSS,
    TCPOptionSACK,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionWindowScale,
)

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MASK = 0xFFFFFFFF
HALF = 1 << 31  # sequence numbers this far apart or more are "before" (see seq.py)

# events for the application (a bit set in TCPConnection.events)
EV_ESTABLISHED = 1
EV_READABLE = 2
EV_WRITABLE = 4
EV_EOF = 8
EV_ERROR = 16
EV_CLOSED = 32

# congestion states (Linux's ca_state)
CA_OPEN, CA_RECOVERY, CA_LOSS = 0, 1, 2

_NOP = NOP  # the parser's instance too, so the fast path can test an option by identity
_TS_OVERHEAD = 12  # NOP NOP TS(10)
_SACK_RECENT = 8  # out-of-order arrivals remembered to order the SACK blocks (4 fit in an option)

_SENDING_STATES = frozenset({S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK})
_DATA_IN_STATES = frozenset({S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2})
_FIN_IN_STATES = frozenset({S.SYN_RECEIVED, *_DATA_IN_STATES})  # where a FIN is taken (RFC 9293 §3.10.7.4)


NO_TIMER: int | None = None  # an unarmed timer, typed as any timer (see _new_ack)


class SentSegment:
    """One transmitted unit in the retransmission queue (stream offsets from the ISS)."""

    __slots__ = ("start", "end", "flags", "tx_time", "retransmits", "sacked", "lost", "retrans_out", "tx_order",
                 "tx_delivered")

    def __init__(self, start: int, end: int, flags: int, tx_time: int, tx_order: int = 0,
                 tx_delivered: int = 0) -> None:
        self.start, self.end, self.flags, self.tx_time = start, end, flags, tx_time
        self.tx_order = tx_order  # the connection's count of transmissions when it (last) left, for RACK
        self.tx_delivered = tx_delivered  # segments delivered when it left (Linux's tx.delivered)
        self.retransmits = 0
        self.sacked = False
        self.lost = False
        self.retrans_out = False  # retransmitted in the current recovery episode, not yet SACKed

    def __repr__(self) -> str:
        return f"<SentSegment {self.start}-{self.end} flags={self.flags:#x} rtx={self.retransmits}>"


def _ilog2(value: int) -> int:
    return max(0, value.bit_length() - 1)


class TCPConnection:
    """A TCB and its state machine.  Build one with :meth:`active` (connect) or :meth:`passive`
    (a SYN arrived at a listener) or :meth:`from_cookie` (a SYN cookie came back)."""

    __slots__ = (
        "settings", "local_port", "remote_port", "state", "iss", "irs", "events", "outbox", "error",
        "soft_error", "transitions", "nodelay", "keepalive", "orphaned", "passive_open",
        # send side
        "_una", "_max", "_buf_off", "sndbuf", "fin_queued", "_fin_off", "snd_wnd", "max_snd_wnd",
        "snd_wl1", "snd_wl2", "snd_wscale", "peer_mss", "mss", "local_mss", "mss_overhead", "_pmtu",
        "rtx", "rtt", "cc", "ca_state", "dupacks", "recover", "_sacked_bytes", "_lost_bytes",
        "_retrans_bytes", "_reno_sacked", "_snd_sml", "retrans_stamp", "total_retransmits",
        "rto_expiries", "dsacks_received", "prior_cwnd", "prr_delivered", "prr_out", "tlp_high", "tlp_retrans",
        "loss_probes", "loss_probe_recoveries", "is_cwnd_limited", "max_packets_out", "cwnd_usage_seq", "lsndtime",
        "rack", "delivered", "lost_retransmits", "_fack", "_tx_count",
        "undo_marker", "undo_retrans", "undo_stamp", "prior_ssthresh", "undos", "frto", "_rexmit_new", "_orig_acked",
        "sk_sndbuf", "sndbuf_locked", "_sndbuf_nospace",
        # receive side
        "rcvbuf", "rcv_wscale", "_rcv_edge", "rcv_ssthresh", "_rcv_mss", "_rcv_unacked", "_quick", "_fin_seq",
        "eof", "_last_ooo", "_ack_pushed", "_dsack",
        "sk_rcvbuf", "rcvbuf_locked", "rcv_rtt_us8", "_rcv_rtt_seq", "_rcv_rtt_time", "_rcv_rtt_last_tsecr",
        "_rx_tsecr", "rcvq_space", "_rcvq_seq", "_rcvq_time",
        # options
        "ts_ok", "ts_recent", "ts_offset", "sack_ok", "ws_ok",
        # timers (absolute ns, or None)
        "t_rtx", "t_tlp", "t_reo", "t_delack", "t_persist", "t_keepalive", "t_wait", "_persist_backoff",
        "_keepalive_probes", "last_rcv", "_synack_retries", "_syn_time", "reopen_syn",
    )

    def __init__(self, local_port: int, remote_port: int, *, settings: TCPSettings, iss: int, now: int,
                 local_mss: int = 1460, rcvbuf: int | None = None, sndbuf: int | None = None,
                 ts_offset: int = 0, nodelay: bool = False, keepalive: bool = False,
                 congestion: str | None = None, mss_overhead: int = 40) -> None:
        self.settings = settings
        self.local_port, self.remote_port = local_port, remote_port
        self.state = S.CLOSED
        self.iss = iss & MASK
        self.irs = 0
        self.events = 0
        self.outbox: list[TCPSegment] = []
        self.error = 0
        self.soft_error = 0
        self.transitions: list[tuple[int, TCPState, TCPState, str]] = []
        self.nodelay = nodelay
        self.keepalive = keepalive
        self.orphaned = False
        self.passive_open = False
        self._una = 0
        self._max = 0
        self._buf_off = 1
        # the send buffer in Linux's memory units (sk_sndbuf: SO_SNDBUF doubled, which locks it,
        # or tcp_wmem[1], which tcp_sndbuf_expand grows); the SendBuffer holds its payload share
        self.sk_sndbuf = sndbuf or settings.wmem_default
        self.sndbuf_locked = sndbuf is not None
        self._sndbuf_nospace = False  # Linux's SOCK_NOSPACE: a write found the buffer full
        self.sndbuf = SendBuffer(max(win_from_space(self.sk_sndbuf), 1))
        self.fin_queued = False
        self._fin_off = -1
        self.snd_wnd = 0
        self.max_snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.snd_wscale = 0
        self.peer_mss = settings.base_mss
        self.local_mss = local_mss
        self.mss_overhead = mss_overhead
        self._pmtu = local_mss + mss_overhead
        self.mss = min(settings.base_mss, local_mss)
        self.rtx: deque[SentSegment] = deque()
        self.rtt = RttEstimator(min_rto=settings.rto_min, max_rto=settings.rto_max, initial_rto=settings.rto_initial)
        self.cc: CongestionControl = make_congestion_control(congestion or settings.congestion_control, self.mss,
                                                             settings.initial_cwnd, hystart=settings.hystart)
        self.ca_state = CA_OPEN
        self.dupacks = 0
        self.recover = 0
        self._sacked_bytes = 0
        self._lost_bytes = 0
        self._retrans_bytes = 0
        self._reno_sacked = 0
        self._snd_sml = 0
        self.retrans_stamp: int | None = None
        self.total_retransmits = 0
        self.rto_expiries: list[int] = []
        self.dsacks_received = 0  # Linux's tcpi_dsack_dups
        # proportional rate reduction in recovery (RFC 6937), in segments as Linux counts them
        self.prior_cwnd = 0
        self.prr_delivered = 0
        self.prr_out = 0
        # tail loss probes (RFC 8985 §7, Linux's tcp_send_loss_probe): SND.NXT when the probe left
        # (an offset, or None: no probe out), and whether it was a retransmission
        self.tlp_high: int | None = None
        self.tlp_retrans = False
        self.loss_probes = 0  # Linux's TCPLossProbes
        self.loss_probe_recoveries = 0  # TCPLossProbeRecovery: a probe repaired a loss
        # cwnd validation (RFC 7661's spirit, Linux's tcp_cwnd_validate): was the window used?
        self.is_cwnd_limited = False
        self.max_packets_out = 0  # the most segments out in the current window
        self.cwnd_usage_seq = 0  # the window being measured ends here (an offset)
        self.lsndtime: int | None = None  # when data last left (Linux's lsndtime)
        # RACK loss detection (RFC 8985 §6) with SACK, as net.ipv4.tcp_recovery says
        self.rack = Rack(settings.recovery)
        self.delivered = 0  # segments ACKed or SACKed so far (Linux's tp->delivered)
        self.lost_retransmits = 0  # retransmissions found lost again (TCPLostRetransmit)
        self._fack = 0  # the end of the highest SACKed segment (an offset), while any is SACKed
        self._tx_count = 0  # segments of the queue sent so far, retransmissions included
        # undoing a needless reduction (Linux's undo_marker / undo_retrans / retrans_stamp)
        self.undo_marker: int | None = None  # SND.UNA when the reduction began (an offset): may undo
        self.undo_retrans = 0  # retransmissions since then not yet reported as duplicates (-1: none)
        self.undo_stamp: int | None = None  # when the first of them left
        self.prior_ssthresh = 0  # ssthresh to go back to (0: the reduction cannot be undone)
        self.undos = 0  # reductions undone (Linux's TCPFullUndo + TCPDSACKUndo + TCPLossUndo)
        # F-RTO (RFC 5682 §3.1, SACK-enhanced, as Linux's tcp_process_loss): after a timeout, send
        # new data on the first ACK, and undo if data never resent is then delivered
        self.frto = False
        self._rexmit_new = False  # this ACK sends new data only (Linux's REXMIT_NEW)
        self._orig_acked = False  # this ACK SACKed data below the recovery point never resent
        # the receive buffer in memory units (sk_rcvbuf: SO_RCVBUF doubled, which locks it, or
        # tcp_rmem[1], which tcp_rcv_space_adjust grows); the ReceiveBuffer holds the window of it
        self.sk_rcvbuf = rcvbuf or settings.rmem_default
        self.rcvbuf_locked = rcvbuf is not None
        self.rcvbuf = ReceiveBuffer(max(win_from_space(self.sk_rcvbuf), 1), 0)
        # dynamic right-sizing: the receiver's RTT estimate (rcv_rtt_est, 1/8 us, 0 = none yet)
        # and what the application read since the last measurement (rcvq_space)
        self.rcv_rtt_us8 = 0
        self._rcv_rtt_seq = 0
        self._rcv_rtt_time: int | None = None
        self._rcv_rtt_last_tsecr = 0
        self._rx_tsecr = 0  # TSecr of the segment being processed (rx_opt.rcv_tsecr)
        self.rcvq_space = 0
        self._rcvq_seq = 0
        self._rcvq_time = now // 1000  # (µs, as Linux's tcp_mstamp)
        self.rcv_wscale = 0
        self._rcv_edge = 0
        self.rcv_ssthresh = 65535  # Linux's rcv_ssthresh: the window offered grows from the SYN's
        self._rcv_mss = min(536, local_mss)
        self._rcv_unacked = 0
        self._quick = settings.quickacks
        self._fin_seq: int | None = None
        self.eof = False
        self._last_ooo: list[int] | None = None  # the latest out-of-order arrivals, newest first
        self._ack_pushed = False  # Linux's ICSK_ACK_PUSHED: a delayed ACK covers a PSH segment
        self._dsack: tuple[int, int] | None = None  # a duplicate to report in the next ACK (RFC 2883)
        self.ts_ok = False
        self.ts_recent = 0
        self.ts_offset = ts_offset & MASK
        self.sack_ok = False
        self.ws_ok = False
        self.t_rtx: int | None = None
        self.t_tlp: int | None = None  # the loss probe timer, armed instead of t_rtx (Linux's ICSK_TIME_LOSS_PROBE)
        self.t_reo: int | None = None  # RACK's reordering timer, instead of t_rtx (ICSK_TIME_REO_TIMEOUT)
        self.t_delack: int | None = None
        self.t_persist: int | None = None
        self.t_keepalive: int | None = None
        self.t_wait: int | None = None
        self._persist_backoff = 0
        self._keepalive_probes = 0
        self.last_rcv = now
        self._synack_retries = 0
        self._syn_time = now
        self.reopen_syn = False

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def active(cls, local_port: int, remote_port: int, *, now: int, **kwargs: Any) -> TCPConnection:
        """An active open (``connect``): CLOSED -> SYN-SENT, the SYN in the outbox."""
        conn = cls(local_port, remote_port, now=now, **kwargs)
        conn._set_state(S.SYN_SENT, "active open", now)
        conn._send_syn(now)
        return conn

    @classmethod
    def passive(cls, syn: TCPSegment, *, now: int, **kwargs: Any) -> TCPConnection:
        """A SYN arrived at a listener: a connection in SYN-RECEIVED with the SYN-ACK sent."""
        conn = cls(syn.dst_port, syn.src_port, now=now, **kwargs)
        conn.passive_open = True
        conn.state = S.LISTEN  # the listener's half of the transition, recorded for the table
        conn._take_syn_options(syn)
        conn.irs = syn.seq
        conn.rcvbuf.rcv_nxt = seq_add(syn.seq, 1)
        conn._rcv_edge = conn.rcvbuf.rcv_nxt
        conn._init_window(syn)
        conn._set_state(S.SYN_RECEIVED, "rcv SYN", now)
        conn._send_syn(now)
        return conn

    @classmethod
    def from_cookie(cls, ack: TCPSegment, mss: int, wscale: int | None, sack: bool, ts: tuple[int, int] | None,
                    *, now: int, **kwargs: Any) -> TCPConnection:
        """A valid SYN cookie came back in ``ack``: straight to ESTABLISHED (RFC 4987 §3.6)."""
        conn = cls(ack.dst_port, ack.src_port, now=now, iss=seq_add(ack.ack, -1), **kwargs)
        conn.passive_open = True
        conn.state = S.SYN_RECEIVED
        conn.irs = seq_add(ack.seq, -1)
        conn.rcvbuf.rcv_nxt = ack.seq
        conn.peer_mss = mss
        if wscale is not None and conn.settings.window_scaling:
            conn.ws_ok, conn.snd_wscale, conn.rcv_wscale = True, min(wscale, 14), conn._offered_wscale()
        conn.sack_ok = sack and conn.settings.sack
        if ts is not None and conn.settings.timestamps:
            conn.ts_ok, conn.ts_recent = True, ts[0]
        conn._una = conn._max = 1
        conn._update_mss()
        conn.snd_wnd = ack.window << conn.snd_wscale
        conn.max_snd_wnd = conn.snd_wnd
        conn.snd_wl1, conn.snd_wl2 = ack.seq, ack.ack
        conn._window_offer_unscaled()  # rcv_ssthresh from the SYN-ACK the cookie stood for
        conn._rcv_edge = seq_add(conn.rcvbuf.rcv_nxt, conn._window_offer())
        conn._set_state(S.ESTABLISHED, "rcv ACK", now)
        conn.events |= EV_ESTABLISHED | EV_WRITABLE
        return conn

    # --- what the application and ss see --------------------------------------------------------

    @property
    def snd_una(self) -> int:
        return (self.iss + self._una) & MASK

    @property
    def snd_nxt(self) -> int:
        return (self.iss + self._max) & MASK

    @property
    def rcv_nxt(self) -> int:
        return self.rcvbuf.rcv_nxt

    @property
    def rcv_wnd(self) -> int:
        room = (self._rcv_edge - self.rcvbuf.rcv_nxt) & MASK
        return room if room < HALF else 0

    @property
    def cwnd(self) -> int:
        return self.cc.cwnd

    @property
    def ssthresh(self) -> int:
        return self.cc.ssthresh

    @property
    def recv_q(self) -> int:
        """Bytes received and not yet read (``ss``'s Recv-Q of a connected socket)."""
        return self.rcvbuf.readable

    @property
    def send_q(self) -> int:
        """Bytes written and not yet acknowledged (``ss``'s Send-Q)."""
        return len(self.sndbuf)

    @property
    def flight(self) -> int:
        """Bytes sent and not acknowledged."""
        return self._max - self._una

    @property
    def pipe(self) -> int:
        """RFC 6675's pipe (Linux's packets_in_flight, in bytes)."""
        pipe = self._max - self._una - self._sacked_bytes - self._lost_bytes + self._retrans_bytes
        if not self.sack_ok:
            pipe -= self._reno_sacked * self.mss
        return max(0, pipe)

    @property
    def writable(self) -> int:
        return self.sndbuf.free if not self.fin_queued else 0

    def next_deadline(self) -> int | None:
        """The earliest armed timer (asked after every segment, two or three times)."""
        best = self.t_rtx
        delack = self.t_delack
        if delack is not None and (best is None or delack < best):
            best = delack
        if (self.t_tlp is None and self.t_reo is None and self.t_persist is None and self.t_keepalive is None
                and self.t_wait is None):
            return best  # the usual case, without building a tuple to loop over
        for t in (self.t_tlp, self.t_reo, self.t_persist, self.t_keepalive, self.t_wait):
            if t is not None and (best is None or t < best):
                best = t
        return best

    def take_outbox(self) -> list[TCPSegment]:
        out, self.outbox = self.outbox, []
        return out

    # --- state ----------------------------------------------------------------------------------

    def _set_state(self, new: TCPState, cause: str, now: int) -> None:
        old = self.state
        if old is new:
            return
        if not legal(old, new, cause):
            raise AssertionError(f"illegal TCP transition {old.value} -> {new.value} on {cause!r}")
        self.state = new
        self.transitions.append((now, old, new, cause))
        if new is S.CLOSED:
            self.t_rtx = self.t_tlp = self.t_reo = self.t_delack = None
            self.t_persist = self.t_keepalive = self.t_wait = None
            self.events |= EV_CLOSED
        elif new is S.TIME_WAIT:
            self.t_rtx = self.t_tlp = self.t_reo = self.t_delack = self.t_persist = self.t_keepalive = None
            self.t_wait = now + self.settings.time_wait
        elif new is S.ESTABLISHED:
            self._init_buffer_space(now)

    def _fail(self, code: int, cause: str, now: int) -> None:
        """The connection is over with an error the application will see."""
        self.error = code
        self.events |= EV_ERROR | EV_READABLE | EV_WRITABLE
        self._set_state(S.CLOSED, cause, now)

    # --- user calls (RFC 9293 §3.10.1-3.10.6) -----------------------------------------------

    def send(self, data: bytes | memoryview, now: int) -> int:
        """Queue what fits in the send buffer; returns how many bytes were taken."""
        if self.fin_queued or self.state not in (S.ESTABLISHED, S.CLOSE_WAIT, S.SYN_SENT, S.SYN_RECEIVED):
            return 0
        taken = self.sndbuf.write(data)
        self._sndbuf_nospace = taken < len(data)  # Linux's SOCK_NOSPACE: the writer waits for room
        if taken and self.state in _SENDING_STATES:
            if self._max == self._una and self.lsndtime is not None and self.settings.slow_start_after_idle:
                self._restart_after_idle(now - self.lsndtime)
            self._push(now)
        return taken

    def _restart_after_idle(self, idle: int) -> None:
        """Nothing in flight and new data after more than an RTO of silence: the window restarts
        (RFC 5681 §4.1; Linux's tcp_slow_start_after_idle_check -> tcp_cwnd_restart): halved
        for every RTO idle, down to the restart window min(IW, cwnd), and ssthresh keeps 3/4 of
        the old window (tcp_current_ssthresh).  ``idle``: the time since data last left."""
        rto = self.rtt.rto
        if idle <= rto:
            return
        cc = self.cc
        cwnd = cc.cwnd
        if cc.ssthresh != INFINITE_SSTHRESH:
            cc.ssthresh = max(cc.ssthresh, (cwnd >> 1) + (cwnd >> 2))
        restart = min(self.settings.initial_cwnd * self.mss, cwnd)
        idle -= rto
        while idle > 0 and cwnd > restart:
            cwnd >>= 1
            idle -= rto
        cc.cwnd = max(cwnd, restart)

    def recv(self, size: int, now: int) -> bytes:
        """Read up to ``size`` in-order bytes; opens the window with an update when it matters."""
        rcvbuf = self.rcvbuf
        before = (self._rcv_edge - rcvbuf.rcv_nxt) & MASK  # rcv_wnd
        if before >= HALF:
            before = 0
        data = rcvbuf.read(size)
        if data and self.rcv_rtt_us8 and now // 1000 - self._rcvq_time >= self.rcv_rtt_us8 >> 3:
            self._rcv_space_adjust(now // 1000)  # (once an RTT of the receiver's estimate has passed)
        if data and self.state in _DATA_IN_STATES:
            # Linux tcp_cleanup_rbuf: a delayed ACK for pushed data goes out once the application
            # has read it all; and the window is announced when it at least doubles
            if self.t_delack is not None and self._ack_pushed and not rcvbuf._ready:
                self._send_ack(now)
                return data
            offer = self._window_offer()
            if offer >= 2 * before and offer >= self._rcv_mss and offer > before:
                self._send_ack(now)
        return data

    def shutdown(self, now: int) -> None:
        """SHUT_WR: send a FIN after the queued data."""
        if self.fin_queued:
            return
        if self.state in (S.SYN_SENT,):
            self._set_state(S.CLOSED, "close", now)
            return
        if self.state in (S.ESTABLISHED, S.SYN_RECEIVED):
            self._queue_fin()
            self._set_state(S.FIN_WAIT_1, "close", now)
        elif self.state is S.CLOSE_WAIT:
            self._queue_fin()
            self._set_state(S.LAST_ACK, "close", now)
        else:
            return
        if self.state in _SENDING_STATES:
            self._push(now)

    def close(self, now: int) -> None:
        """close(): with unread data, an RST (RFC 2525 §2.17, Linux); else a FIN after the data."""
        self.orphaned = True
        self.keepalive = False
        self.t_keepalive = None
        if self.state is S.LISTEN:
            self._set_state(S.CLOSED, "close", now)
        if self.state is S.CLOSED:
            return
        if self.rcvbuf.readable and self.state.synchronized:
            self.abort(now)
            return
        self.shutdown(now)
        if self.state is S.FIN_WAIT_2:
            self.t_wait = now + self.settings.fin_timeout

    def abort(self, now: int) -> None:
        """ABORT (RFC 9293 §3.10.5): an RST to the peer in the states that have one."""
        if self.state in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            self._emit(self.snd_nxt, RST | ACK, b"", now)
        if self.state is not S.CLOSED:
            if self.state is S.SYN_SENT:
                self._set_state(S.CLOSED, "close", now)
            else:
                self._set_state(S.CLOSED, "abort", now)

    def icmp_error(self, code: int, now: int, *, hard: bool = False) -> None:
        """An ICMP error about this connection (RFC 1122 §4.2.3.9; Linux ``tcp_v4_err``): fatal
        during the handshake, otherwise remembered and reported if the connection times out."""
        if self.state is S.SYN_SENT or (self.state is S.SYN_RECEIVED and not self.passive_open) or hard:
            self._fail(code, "timeout" if self.state is not S.SYN_SENT else "rcv RST", now)
        else:
            self.soft_error = code

    def set_pmtu(self, mtu: int, now: int) -> None:
        """PMTUD lowered the path MTU (RFC 1191): smaller segments from now on, and whatever no
        longer fits is resent at once without a congestion response (Linux's
        ``tcp_simple_retransmit``: the Loss state up to SND.NXT, cwnd as it was, ssthresh at
        least 3/4 of it, nothing to undo)."""
        if mtu >= self._pmtu:
            return
        self._pmtu = mtu
        old = self.mss
        self._update_mss()
        if self.mss < old and self.state in _SENDING_STATES:
            for seg in self.rtx:
                if not seg.sacked and not seg.lost and seg.end - seg.start > self.mss:
                    seg.lost = True
                    self._lost_bytes += seg.end - seg.start
            if self._lost_bytes and self.ca_state != CA_LOSS:
                self.recover = self._max
                self.cc.ssthresh = self._current_ssthresh()
                self.prior_ssthresh = 0
                self.undo_marker = None
                self.ca_state = CA_LOSS
            self._push(now)

    # --- options and windows ---------------------------------------------------------------------

    def _take_syn_options(self, syn: TCPSegment) -> None:
        settings = self.settings
        for option in syn.options:
            kind = type(option)
            if kind is TCPOptionMSS:
                self.peer_mss = max(option.mss, 88)  # type: ignore[union-attr]  # Linux TCP_MIN_MSS
            elif kind is TCPOptionWindowScale and settings.window_scaling:
                self.ws_ok = True
                self.snd_wscale = min(option.shift, 14)  # type: ignore[union-attr]  # RFC 7323 §2.3
            elif kind is TCPOptionSACKPermitted and settings.sack:
                self.sack_ok = True
            elif kind is TCPOptionTimestamps and settings.timestamps:
                self.ts_ok = True
                self.ts_recent = option.tsval  # type: ignore[union-attr]
        if not self.ws_ok:
            self.snd_wscale = 0
        else:
            self.rcv_wscale = self._offered_wscale()
        self._update_mss()

    def _offered_wscale(self) -> int:
        """The window scale our SYN offers (see autotune.offered_wscale)."""
        settings = self.settings
        return offered_wscale(settings.rmem_max, settings.core_rmem_max,
                              self.sk_rcvbuf if self.rcvbuf_locked else None)

    def _update_mss(self) -> None:
        """Linux's mss_cache: min(peer's MSS, PMTU - headers, our MSS) less the timestamp option."""
        mss = min(self.peer_mss, self._pmtu - self.mss_overhead, self.local_mss)
        if self.ts_ok:
            mss -= _TS_OVERHEAD
        self.mss = max(mss, 48)
        self.cc.set_mss(self.mss)

    def _init_window(self, syn: TCPSegment) -> None:
        self.snd_wnd = syn.window  # never scaled in a SYN (RFC 7323 §2.2)
        self.max_snd_wnd = self.snd_wnd
        self.snd_wl1, self.snd_wl2 = syn.seq, syn.ack

    def _window_offer(self) -> int:
        """The window we can offer now, receiver-SWS-avoided (RFC 9293 §3.8.6.2.2) and, as
        Linux's ``__tcp_select_window``, no more than ``rcv_ssthresh``: the window starts at
        the SYN's and grows with the data that arrives (``tcp_grow_window``)."""
        rcvbuf = self.rcvbuf
        free = rcvbuf.capacity - len(rcvbuf._ready)  # rcvbuf.window, without its call
        if rcvbuf._ooo:
            free -= rcvbuf.out_of_order_bytes
        # (max() and min() written out here and in _push and _window_update: on this per-segment
        # path the builtins' argument parsing costs ten times the comparisons)
        free = free if free > 0 else 0
        if free < rcvbuf.capacity // 2 and free < self._rcv_mss:
            return 0
        limit, largest = self.rcv_ssthresh, 65535 << self.rcv_wscale
        limit = limit if limit < largest else largest
        return free if free < limit else limit

    def _window_field(self) -> int:
        """The 16-bit window of an outgoing non-SYN segment; the right edge never moves left."""
        rcvbuf = self.rcvbuf
        rcv_nxt = rcvbuf.rcv_nxt
        edge = (rcv_nxt + self._window_offer()) & MASK
        if 0 < ((self._rcv_edge - edge) & MASK) < HALF:  # seq_lt(edge, _rcv_edge)
            edge = self._rcv_edge
        else:
            self._rcv_edge = edge
        window = (edge - rcv_nxt) & MASK
        if window >= HALF:
            window = 0
        wscale = self.rcv_wscale
        field = window >> wscale
        if ((window & ((1 << wscale) - 1)) and field < 65535
                and (field + 1) << wscale <= rcvbuf.capacity - len(rcvbuf._ready)):
            # round up so the scaled window still covers the edge promised, when the buffer
            # can hold it (else the edge would creep past the buffer: never zero, never taken)
            field += 1
            self._rcv_edge = (rcv_nxt + (field << wscale)) & MASK
        return field if field < 65535 else 65535

    def _tsval(self, now: int) -> int:
        return (now // MS + self.ts_offset) & MASK

    # --- output ----------------------------------------------------------------------------------

    def _emit(self, seq: int, flags: int, payload: bytes, now: int, options: tuple[TCPOption, ...] | None = None,
              window: int | None = None) -> None:
        if options is None:
            options = self._options(flags, now)
        if window is None:
            window = self._window_field()
        ack = self.rcvbuf.rcv_nxt if flags & ACK else 0
        self.outbox.append(_make_segment(self.local_port, self.remote_port, seq & MASK, ack, flags, window, 0,
                                         options, payload, None, 0))
        if flags & ACK:
            self._rcv_unacked = 0
            self.t_delack = None
            self._ack_pushed = False

    def _options(self, flags: int, now: int) -> tuple[TCPOption, ...]:
        """The option area of a segment other than a SYN: timestamps when agreed (RFC 7323 §3),
        and SACK blocks on an ACK while out-of-order data waits (RFC 2018 §4)."""
        if self.ts_ok:
            ts = TCPOptionTimestamps((now // MS + self.ts_offset) & MASK, self.ts_recent)
            # (without out-of-order data or a duplicate to report there are no blocks: no search)
            blocks = (self._sack_blocks() if self.sack_ok and flags & ACK
                      and (self.rcvbuf._ooo or self._dsack or self._fin_seq is not None) else None)
            if blocks:
                return (_NOP, _NOP, ts, _NOP, _NOP, TCPOptionSACK(tuple(blocks[:3]), _trusted=True))
            return (_NOP, _NOP, ts)
        if self.sack_ok and flags & ACK:
            blocks = self._sack_blocks() if self.rcvbuf._ooo or self._dsack or self._fin_seq is not None else []
            return (_NOP, _NOP, TCPOptionSACK(tuple(blocks[:4]), _trusted=True)) if blocks else ()
        return ()

    def _sack_blocks(self) -> list[tuple[int, int]]:
        """RFC 2018 §4: the block holding the most recently received segment first, the others
        in the order they were last extended, as Linux's tcp_sack_new_ofo_skb keeps them (a new
        block goes first, an extended one moves to the front); before them a D-SACK block
        (RFC 2883 §4), reported once, as Linux's tcp_options_write clears it.  A FIN held beyond
        a hole is SACKed with the data before it (Linux queues it out of order with its segment,
        whose end_seq counts it: tcp_data_queue_ofo), so a sender can tell that a segment
        carrying it arrived."""
        blocks = self.rcvbuf.sack_blocks() if self.rcvbuf._ooo else []
        fin = self._fin_seq
        if fin is not None and fin != self.rcvbuf.rcv_nxt:
            for i, (left, right) in enumerate(blocks):
                if right == fin:
                    blocks[i] = (left, seq_add(fin, 1))
                    break
            else:
                blocks.append((fin, seq_add(fin, 1)))
        recent = self._last_ooo
        if not blocks:
            self._last_ooo = None  # (nothing held out of order: nothing to remember)
        elif len(blocks) > 1 and recent:
            def rank(block: tuple[int, int]) -> int:
                for i, seq in enumerate(recent):
                    if not seq_lt(seq, block[0]) and seq_lt(seq, block[1]):
                        return i
                return len(recent)  # (none recorded: after the others, in sequence order)

            blocks.sort(key=rank)
        if self._dsack is not None:
            blocks.insert(0, self._dsack)
            self._dsack = None
        return blocks

    def _note_out_of_order(self, seq: int) -> None:
        """Remember an out-of-order arrival, newest first, to order the SACK blocks by."""
        recent = self._last_ooo
        if recent is None:
            recent = self._last_ooo = []
        recent.insert(0, seq)
        del recent[_SACK_RECENT:]

    def _send_dupack(self, seq: int, seg_len: int, now: int) -> None:
        """The ACK for a segment we cannot accept (Linux's tcp_send_dupack): when it is, in part,
        a retransmission of what we already acknowledged, that part is a duplicate."""
        rcv_nxt = self.rcvbuf.rcv_nxt
        if seg_len and 0 < ((rcv_nxt - seq) & MASK) < HALF:  # seq_lt(seq, rcv_nxt)
            end = (seq + seg_len) & MASK
            self._duplicate_arrived(seq, end if 0 < ((rcv_nxt - end) & MASK) < HALF else rcv_nxt, True)
        self._send_ack(now)

    def _duplicate_arrived(self, left: int, right: int, quickack: bool) -> None:
        """Data we already hold came again: report it as a D-SACK (RFC 2883 §4, when SACK was
        agreed and ``tcp_dsack`` is on) and, for a retransmission of what we acknowledged,
        ACK the next segments at once (Linux's tcp_send_dupack: tcp_enter_quickack_mode, as many
        quick ACKs as half the window holds segments, 2 to TCP_MAX_QUICKACKS)."""
        if self.sack_ok and self.settings.dsack:
            self._dsack = (left, right)
        if quickack:
            window = (self._rcv_edge - self.rcvbuf.rcv_nxt) & MASK
            quick = (window if window < HALF else 0) // (2 * self._rcv_mss) or 2
            quick = min(quick, self.settings.quickacks)
            self._quick = max(self._quick, quick)

    def _syn_options(self, now: int) -> tuple[TCPOption, ...]:
        """Linux's order: MSS, SACK-permitted, timestamps, NOP, window scale; without timestamps
        MSS, NOP, NOP, SACK-permitted, NOP, window scale."""
        settings = self.settings
        active = self.state is S.SYN_SENT
        use_ts = settings.timestamps and (active or self.ts_ok)
        use_sack = settings.sack and (active or self.sack_ok)
        use_ws = settings.window_scaling and (active or self.ws_ok)
        options: list[TCPOption] = [TCPOptionMSS(self.local_mss)]
        if use_ts:
            if use_sack:
                options.append(TCPOptionSACKPermitted())
            else:
                options += [_NOP, _NOP]
            options.append(TCPOptionTimestamps(self._tsval(now), self.ts_recent if not active else 0))
        elif use_sack:
            options += [_NOP, _NOP, TCPOptionSACKPermitted()]
        if use_ws:
            options += [_NOP, TCPOptionWindowScale(self._offered_wscale())]
        return tuple(options)

    def _send_syn(self, now: int, rearm: bool = True) -> None:
        """The SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), first sent or retransmitted."""
        if self.state is S.SYN_SENT:
            flags = SYN
            self.rcv_wscale = self._offered_wscale() if self.settings.window_scaling else 0
        else:
            flags = SYN | ACK
        window = min(self._window_offer_unscaled(), 65535)
        if not self.rtx:
            self.rtx.append(SentSegment(0, 1, SYN, now))
            self._max = 1
            self._syn_time = now
        else:
            self.rtx[0].retransmits += 1
            self.total_retransmits += 1
        self._emit(self.iss, flags, b"", now, options=self._syn_options(now), window=window)
        if flags & ACK:
            self._rcv_edge = seq_add(self.rcvbuf.rcv_nxt, window)
        if rearm:
            self.t_rtx = now + self.rtt.rto

    def _window_offer_unscaled(self) -> int:
        """A SYN's window: the free space, at most 65535 (RFC 7323 §2.2: SYN windows are not
        scaled), rounded down to a multiple of the segment size as Linux's
        ``tcp_select_initial_window`` does: 64240 (44 x 1460) in a SYN, 65160 (45 x 1448) in a
        SYN-ACK once timestamps are agreed.  It is also where ``rcv_ssthresh`` starts."""
        free = min(self.rcvbuf.window, 65535)
        mss = self.local_mss - (_TS_OVERHEAD if self.ts_ok else 0)
        if free > mss > 0:
            free = free // mss * mss
        self.rcv_ssthresh = free
        return free

    def _send_ack(self, now: int) -> None:
        self._emit(self.iss + self._max, ACK, b"", now)  # SND.NXT (_emit wraps it)
        if self._quick:
            self._quick -= 1

    def _queue_fin(self) -> None:
        self.fin_queued = True
        self._fin_off = self._buf_off + len(self.sndbuf)

    def _push(self, now: int, force: bool = False, probe: bool = False) -> None:
        """Send what the windows allow: lost segments first, then new data (and the FIN).
        ``probe``: one new segment as a tail loss probe, whatever cwnd and Nagle say (Linux's
        tcp_write_xmit with push_one = 2)."""
        if self.state not in _SENDING_STATES:
            return
        if self._lost_bytes > self._retrans_bytes and not self._rexmit_new:
            self._retransmit_lost(now)
        cc = self.cc
        mss = self.mss
        sndbuf = self.sndbuf
        data = sndbuf._data
        buf_off = self._buf_off - sndbuf._head  # (the stream offset of data[0])
        buf_end = buf_off + len(data)
        # the terms of the pipe (RFC 6675) other than SND.NXT, which this loop does not change
        not_in_pipe = self._una + self._sacked_bytes + self._lost_bytes - self._retrans_bytes
        if not self.sack_ok:
            not_in_pipe += self._reno_sacked * mss
        # options and window of every segment of this burst: what they depend on (the clock,
        # TS.Recent, the receive side) stays as it is while the loop runs, and the window field
        # computed twice is the same, so they are worked out once (as _emit would, each time)
        options: tuple[TCPOption, ...] | None = None
        window = 0
        outbox = self.outbox
        queued_before = len(outbox)
        sent_any = reported = False
        cwnd = cc.cwnd if not probe else max(cc.cwnd, self._max - not_in_pipe + mss)
        while True:
            unsent = buf_end - self._max
            fin_now = self.fin_queued and self._max < self._fin_off + 1 and unsent <= 0
            if unsent <= 0 and not fin_now:
                break
            size = 0 if unsent <= 0 else unsent if unsent < mss else mss
            if size:
                win_room = self._una + self.snd_wnd - self._max
                pipe = self._max - not_in_pipe
                cwnd_room = cwnd - pipe if pipe > 0 else cwnd
                room = win_room if win_room < cwnd_room else cwnd_room
                if room < size:
                    if cwnd_room < size and cwnd_room < win_room:
                        break  # congestion-limited: wait for ACKs
                    # window-limited: sender SWS avoidance (RFC 9293 §3.8.6.2.1) sends a partial
                    # segment only if it is at least half the largest window the peer offered,
                    # or when the persist timer forces it (Linux tcp_write_wakeup)
                    if room <= 0 or (room < self.max_snd_wnd // 2 and not force):
                        break
                    size = room
                    force = False
                # Nagle, Minshall's variant as Linux: hold a small segment while another is unacked
                if (size < mss and size == unsent and not self.nodelay and not self.fin_queued
                        and self._snd_sml > self._una and not probe):
                    break
            start = self._max
            end = start + size
            flags = ACK
            if self.fin_queued and end == self._fin_off:
                flags |= FIN
            if size and end == buf_end:
                flags |= PSH
            offset = start - buf_off
            payload = bytes(data[offset : offset + size]) if size else b""  # (SendBuffer.peek)
            if options is None:
                reported = self._dsack is not None
                options = self._options(flags, now)
                window = self._window_field()
            outbox.append(_make_segment(self.local_port, self.remote_port, (self.iss + start) & MASK,
                                        self.rcvbuf.rcv_nxt, flags, window, 0, options, payload, None, 0))
            if reported:  # a D-SACK goes once: the next segment's options without it
                options = None
                reported = False
            seg_end = end + (1 if flags & FIN else 0)
            self._tx_count += 1
            self.rtx.append(SentSegment(start, seg_end, flags & (FIN | SYN), now, self._tx_count, self.delivered))
            self._max = seg_end
            if size < mss:
                self._snd_sml = seg_end
            sent_any = True
            if flags & FIN or probe:
                break
        # Linux's tcp_write_xmit ends with tcp_cwnd_validate: remember whether the window was
        # used up (the pipe within a segment of cwnd), else the most segments out in it
        cwnd_limited = self._max - not_in_pipe + mss > cc.cwnd
        if sent_any or cwnd_limited:
            packets_out = len(self.rtx)
            if (self._una >= self.cwnd_usage_seq or cwnd_limited
                    or (not self.is_cwnd_limited and packets_out > self.max_packets_out)):
                self.is_cwnd_limited = cwnd_limited
                self.max_packets_out = packets_out
                self.cwnd_usage_seq = self._max
        if sent_any:
            self.lsndtime = now
            if self.ca_state == CA_RECOVERY:
                self.prr_out += len(outbox) - queued_before  # (new data sent in recovery: PRR's prr_out)
            # what _emit does after each segment carrying an ACK
            self._rcv_unacked = 0
            self.t_delack = None
            self._ack_pushed = False
            self.t_persist = None
            if self.t_rtx is None and self.t_tlp is None and self.t_reo is None:
                self.t_rtx = now + self.rtt.rto
            if self.sack_ok and self.ca_state == CA_OPEN and not probe:
                self._schedule_loss_probe(now, self.rtx[0].tx_time + self.rtt.rto - now)
        elif self._max == self._una and buf_end > self._max and self.t_persist is None:
            # nothing in flight and data held back: only the window can be holding it (a zero
            # window, or one too small to use): the persist timer (RFC 9293 §3.8.6.1)
            self.t_persist = now + self._persist_interval()
        if self._rexmit_new:
            # F-RTO step 2.b done (tcp_xmit_recovery with REXMIT_NEW): if no new data could go,
            # back to the conventional recovery at once
            self._rexmit_new = False
            if self._max <= self.recover:
                self.frto = False
                self._retransmit_lost(now)

    def _persist_interval(self) -> int:
        return min(self.rtt.base_rto << self._persist_backoff, self.settings.rto_max)

    # --- tail loss probes (RFC 8985 §7) ------------------------------------------------------------

    def _schedule_loss_probe(self, now: int, rto_delta: int) -> None:
        """Arm the probe timeout in place of the RTO (Linux's tcp_schedule_loss_probe, called
        with SACK, in the Open state, data in flight): PTO = 2 SRTT, plus TCP_RTO_MIN when one
        segment is out (the peer's delayed ACK) or 2 ms otherwise (TCP_TIMEOUT_MIN_US), rounded
        up to whole jiffies (1 ms: HZ = 1000) as usecs_to_jiffies does, 1 s with no RTT sample
        yet; never later than the RTO would fire (``rto_delta`` from now).  (Runs
        for every ACK and every burst: the Open test is _open written out.)"""
        settings = self.settings
        rtx = self.rtx
        if (settings.early_retrans < 3 or not rtx or self.state not in _SENDING_STATES or self.ca_state != CA_OPEN
                or self._sacked_bytes or self._lost_bytes or self._retrans_bytes or rtx[0].retransmits):
            return
        srtt = self.rtt.srtt
        if srtt:
            timeout = whole_jiffies(2 * srtt + (settings.rto_min if len(rtx) == 1 else 2 * MS))
        else:
            timeout = settings.rto_initial
        if 0 < rto_delta < timeout:
            timeout = rto_delta  # (netsim's RTO is not in jiffies: the probe fires when it would)
        self.t_tlp = now + timeout
        self.t_rtx = None

    def _on_loss_probe(self, now: int) -> None:
        """The probe timeout (Linux's tcp_send_loss_probe): one new segment if the peer's window
        takes it, else the last segment again; one probe at a time; then the RTO from now."""
        if self.state not in _SENDING_STATES or not self.rtx:
            return
        rto = self.rtt.rto
        if self.tlp_high is None and self._open():
            self.tlp_retrans = False
            before = len(self.outbox)
            unsent = self._buf_off + len(self.sndbuf) - self._max
            if unsent > 0 and self._una + self.snd_wnd - self._max >= min(unsent, self.mss):
                self._push(now, probe=True)
            if len(self.outbox) == before:
                seg = self.rtx[-1]
                while seg.end - seg.start - (1 if seg.flags & FIN else 0) > self.mss:
                    seg = self._split(seg)  # the last MSS of it
                self._retransmit(seg, now, probe=True)
                self.tlp_retrans = True
            self.tlp_high = self._max
            self.loss_probes += 1
            self.t_rtx = now + rto
            return
        # a probe is out already, or SACKs came: back to the RTO, due when it would have been
        self.t_rtx = now + max(self.rtx[0].tx_time + rto - now, 1)

    def _open(self) -> bool:
        """Linux's Open state, where probes are sent: nothing SACKed, marked lost or resent
        (tcp_left_out, tcp_any_retrans_done, the head's TCPCB_EVER_RETRANS)."""
        return (self.ca_state == CA_OPEN and not (self._sacked_bytes or self._lost_bytes or self._retrans_bytes)
                and not (self.rtx and self.rtx[0].retransmits))

    def _loss_probe_acked(self, una: int, delivered: bool, dsack: bool, now: int) -> None:
        """What an ACK says of the probe out (Linux's tcp_process_tlp_ack): nothing yet below
        it; a probe of new data, or one the peer reports as a duplicate, repaired nothing; an ACK
        beyond it means the probe repaired a loss, so the window is reduced once, as for
        a congestion event (RFC 8985 §7.4.2); a pure duplicate means both copies arrived.
        ``una``: SND.UNA with this ACK (an offset)."""
        high = self.tlp_high
        if high is None or una < high:
            return
        if not self.tlp_retrans or dsack:
            self.tlp_high = None
        elif una > high:
            self.tlp_high = None
            self.loss_probe_recoveries += 1
            cc = self.cc
            self.prior_cwnd = cc.cwnd
            # (tcp_init_cwnd_reduction, CWR, tcp_end_cwnd_reduction; Reno's ssthresh from the
            # window, as tcp_reno_ssthresh: the flight is only the tail here)
            cc.on_congestion(cc.cwnd, now)
            cc.cwnd = max(cc.ssthresh, self.mss)
        elif not delivered:
            self.tlp_high = None

    def _retransmit_lost(self, now: int, force: bool = False) -> None:
        """Resend segments marked lost and not yet resent in this episode, cwnd permitting
        (RFC 6675 §5 (C.1); ``force``: the first retransmission of fast retransmit/RTO)."""
        pending = list(self.rtx)  # a snapshot: _split inserts into the queue
        pending.reverse()
        while pending:
            seg = pending.pop()
            if not force and self.pipe >= self.cc.cwnd:
                break
            if not seg.lost or seg.retrans_out or seg.sacked:
                continue
            if seg.end - seg.start - (1 if seg.flags & (FIN | SYN) else 0) > self.mss:
                pending.append(self._split(seg))
            self._retransmit(seg, now)
            force = False

    def _split(self, seg: SentSegment) -> SentSegment:
        """Cut a queued segment to the (lowered) MSS, keeping its marks on both parts; returns
        the tail."""
        index = self.rtx.index(seg)
        cut = seg.start + self.mss
        tail = SentSegment(cut, seg.end, seg.flags & FIN, seg.tx_time, seg.tx_order, seg.tx_delivered)
        tail.retransmits, tail.lost = seg.retransmits, seg.lost
        seg.end, seg.flags = cut, seg.flags & ~FIN
        self.rtx.insert(index + 1, tail)
        return tail

    def _retransmit(self, seg: SentSegment, now: int, probe: bool = False) -> None:
        """Send ``seg`` again.  ``probe``: as a tail loss probe, which Linux sends with
        __tcp_retransmit_skb: not counted as retransmitted data out (so the segment can still
        be fast-retransmitted) and not starting the give-up clock."""
        if seg.flags & SYN:
            self._send_syn(now)
            return
        data_end = seg.end - (1 if seg.flags & FIN else 0)
        payload = self.sndbuf.peek(seg.start - self._buf_off, data_end - seg.start)
        flags = ACK | (seg.flags & FIN) | (PSH if payload else 0)
        self._emit((self.iss + seg.start) & MASK, flags, payload, now)
        seg.retransmits += 1
        seg.tx_time = now
        self._tx_count += 1
        seg.tx_order = self._tx_count
        seg.tx_delivered = self.delivered
        self.lsndtime = now
        self.total_retransmits += 1
        if probe:
            return
        if self.ca_state == CA_RECOVERY:
            self.prr_out += 1
        self.undo_retrans = self.undo_retrans + 1 if self.undo_retrans > 0 else 1
        if self.undo_stamp is None:
            self.undo_stamp = now
        if not seg.retrans_out:
            seg.retrans_out = True
            self._retrans_bytes += seg.end - seg.start
        if self.retrans_stamp is None:
            self.retrans_stamp = now
        if self.t_reo is None and (self.t_rtx is None or seg is self.rtx[0]):
            # the RTO from now when the head goes again (tcp_xmit_retransmit_queue), replacing
            # a pending probe (a pending reordering timer stays)
            self.t_rtx = now + self.rtt.rto
            self.t_tlp = None

    # --- segment arrival (RFC 9293 §3.10.7) ----------------------------------------------------

    def segment_arrives(self, seg: TCPSegment, now: int) -> None:
        """A segment for this connection (RFC 9293 §3.10.7).

        First a header-prediction fast path (Van Jacobson's, as Linux's ``tcp_rcv_established``)
        for what a bulk transfer is made of: in ESTABLISHED (or FIN-WAIT-1, a sender that has
        closed while its data is in flight), an ACK (PSH allowed) at exactly RCV.NXT, with the
        usual option area (NOP NOP Timestamps, or none without timestamps) that passes PAWS
        and acknowledges nothing unsent.  It does
        what the general path does for such a segment, in the same order, minus the checks
        whose outcome the conditions fix (acceptability, RST, SYN, SACK); anything else goes to
        :meth:`_segment_arrives`.  ``tests/proto/tcp/test_fast_path.py`` holds the two to the
        same result.
        """
        state = self.state
        if (state is not S.ESTABLISHED and state is not S.FIN_WAIT_1) or self.tlp_high is not None:
            self._segment_arrives(seg, now)  # (or a loss probe is out: the general path judges it)
            return
        flags = seg.flags
        if flags != ACK and flags != ACK | PSH:
            self._segment_arrives(seg, now)
            return
        options = seg.options
        tsval = tsecr = None
        if self.ts_ok:
            if len(options) != 3 or options[0] is not _NOP or options[1] is not _NOP:
                self._segment_arrives(seg, now)
                return
            ts = options[2]
            if type(ts) is not TCPOptionTimestamps:
                self._segment_arrives(seg, now)
                return
            tsval, tsecr = ts.tsval, ts.tsecr
            if self.ts_recent and 0 < ((self.ts_recent - tsval) & MASK) < HALF:  # PAWS would reject it
                self._segment_arrives(seg, now)
                return
        elif options:
            self._segment_arrives(seg, now)
            return
        rcvbuf = self.rcvbuf
        seq = seg.seq
        payload = seg.payload
        if seq != rcvbuf.rcv_nxt or (payload and not 0 < ((self._rcv_edge - seq) & MASK) < HALF):
            self._segment_arrives(seg, now)  # not the next byte, or data into a zero window
            return
        ack = seg.ack
        iss = self.iss
        una = (iss + self._una) & MASK
        if 0 < ((ack - iss - self._max) & MASK) < HALF or (
                self.max_snd_wnd and 0 < ((una - self.max_snd_wnd - ack) & MASK) < HALF):
            self._segment_arrives(seg, now)  # acknowledges something unsent, or too old
            return
        # what the general path does for it from here on
        self.last_rcv = now
        self._keepalive_probes = 0
        if tsval is not None:
            self.ts_recent = tsval  # RFC 7323 §4.3
            self._rx_tsecr = tsecr  # type: ignore[assignment]
        # step 5: the ACK (the general path's _ack_processing, where no SACK option can be)
        acked = (ack - una) & MASK
        if acked >= HALF:
            acked = 0
        window_changed = self._window_update(seq, ack, seg.window)
        if acked:
            self._new_ack(acked, now, tsecr, 0, self._fack if self._sacked_bytes else self._una)
        elif self._max > self._una and not payload and not window_changed:
            self._dup_ack(now, 0)
        if self.fin_queued and self._una == self._fin_off + 1 and not self._fin_acked(now):
            return
        if window_changed and self.snd_wnd and self.t_persist is not None:
            self.t_persist = None
        if self.state is not S.ESTABLISHED:
            self._text_and_fin(seq, payload, flags, now)  # FIN-WAIT-1 or -2: the general steps 7, 8
            return
        # _text_and_fin for ESTABLISHED and no FIN in the segment
        if payload:
            self._data_arrival(seq, payload, now, flags & PSH)
        if self._fin_seq is not None and self._fin_seq == rcvbuf.rcv_nxt:
            self._fin_arrival(now)  # a FIN that came ahead of its data is next now
        if self.state in _SENDING_STATES and (len(self.sndbuf) or self._lost_bytes or self.fin_queued):
            self._push(now)
        if self._sndbuf_nospace:
            self._check_space()

    def _segment_arrives(self, seg: TCPSegment, now: int) -> None:
        """The general path of :meth:`segment_arrives`: every state, every segment."""
        state = self.state
        if state is S.CLOSED or state is S.LISTEN:
            return
        if state is S.SYN_SENT:
            self._syn_sent_arrival(seg, now)
            return
        flags = seg.flags
        seq = seg.seq
        payload = seg.payload
        if state is S.SYN_RECEIVED and flags & SYN and seq == self.irs:
            if not flags & ACK:
                if self.passive_open:
                    self._send_syn(now, rearm=False)  # the SYN again: our SYN-ACK was lost (Linux tcp_check_req)
                return
            if self.passive_open or seg.ack != self.snd_nxt:
                self._send_ack(now)
                return
            # simultaneous open: the peer's SYN-ACK acknowledges our SYN (Linux accepts it
            # as the ACK that completes the handshake); its SYN is already counted
            flags &= ~SYN
            seq = seq_add(seq, 1)
            seg = _make_segment(seg.src_port, seg.dst_port, seq, seg.ack, flags, seg.window, 0, seg.options,
                                payload, None, 0)
        self.last_rcv = now
        self._keepalive_probes = 0
        # timestamps: PAWS (RFC 7323 §5.3)
        tsval = tsecr = None
        if self.ts_ok:
            for option in seg.options:
                if type(option) is TCPOptionTimestamps:
                    tsval, tsecr = option.tsval, option.tsecr
                    break
            if (tsval is not None and not flags & RST and self.ts_recent
                    and 0 < ((self.ts_recent - tsval) & MASK) < HALF  # seq_lt(tsval, ts_recent)
                    and (state is not S.TIME_WAIT or not flags & SYN)):
                self._send_dupack(seq, len(payload) + (flags & SYN and 1) + (flags & FIN), now)
                return
        # 1. sequence number acceptability
        rcv_nxt = self.rcvbuf.rcv_nxt
        window = (self._rcv_edge - rcv_nxt) & MASK  # rcv_wnd
        if window >= HALF:
            window = 0
        seg_len = len(payload) + (flags & SYN and 1) + (flags & FIN)
        if state is S.TIME_WAIT:
            self._time_wait_arrival(seg, now, tsval)
            return
        if seg_len == 0:
            ok = seq == rcv_nxt if window == 0 else ((seq - rcv_nxt) & MASK) < window
        elif window == 0:
            ok = False
        else:
            ok = ((seq - rcv_nxt) & MASK) < window or ((seq + seg_len - 1 - rcv_nxt) & MASK) < window
        if not ok:
            if window == 0 and seq == rcv_nxt and not flags & (RST | SYN):
                # RFC 9293: a zero window still takes valid ACKs (a probe's data is dropped)
                self._ack_processing(seg, now, tsecr)
                if self.state is not S.CLOSED:
                    self._send_ack(now)
                return
            if not flags & RST:
                # RFC 9293 §3.10.7.4 first: an ACK for what we expect
                if flags & SYN:
                    self._send_ack(now)
                else:
                    self._send_dupack(seq, seg_len, now)
            return
        if tsval is not None and ((rcv_nxt - seq) & MASK) < HALF:  # seq_le(seq, rcv_nxt)
            self.ts_recent = tsval  # RFC 7323 §4.3 (seq <= Last.ACK.sent, in practice RCV.NXT)
        if tsecr is not None:
            self._rx_tsecr = tsecr
        # 2. RST (RFC 5961 §3.2: only the exact next sequence number resets)
        if flags & RST:
            if seq != rcv_nxt:
                self._send_ack(now)  # challenge ACK
                return
            if state is S.SYN_RECEIVED:
                if self.passive_open:
                    self._set_state(S.CLOSED, "rcv RST", now)
                else:
                    self._fail(errno.ECONNREFUSED, "rcv RST", now)
            elif state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
                self._fail(errno.ECONNRESET, "rcv RST", now)
            else:  # CLOSING, LAST-ACK
                self._set_state(S.CLOSED, "rcv RST", now)
            return
        # 4. SYN in a synchronized state (RFC 5961 §4): challenge ACK; in SYN-RECEIVED a
        #    retransmitted SYN gets the SYN-ACK again (Linux tcp_check_req)
        if flags & SYN:
            if state is S.SYN_RECEIVED and seq == self.irs and not flags & ACK:
                self._send_syn(now)
            else:
                self._send_ack(now)
            return
        # 5. ACK
        if not flags & ACK:
            return
        if state is S.SYN_RECEIVED:
            ack = seg.ack
            if not (seq_lt(self.snd_una, ack) and seq_le(ack, self.snd_nxt)):
                self._emit(ack, RST, b"", now, options=(), window=0)
                return
            self._set_state(S.ESTABLISHED, "rcv ACK", now)
            self.events |= EV_ESTABLISHED | EV_WRITABLE
            self.snd_wl1 = seq_add(seq, -1)  # so the window below is taken
        if not self._ack_processing(seg, now, tsecr):
            return
        self._text_and_fin(seq, payload, flags, now)

    def _text_and_fin(self, seq: int, payload: bytes, flags: int, now: int) -> None:
        """Steps 7 and 8 of segment arrival (after an acceptable ACK), and sending what the ACK
        and the window allow."""
        if self.state is S.CLOSED or self.state is S.TIME_WAIT:
            return
        # 7. segment text
        state = self.state
        if flags & FIN and state in _FIN_IN_STATES:
            # (known before the text: the ACK an out-of-order segment draws SACKs its FIN too)
            self._fin_seq = seq_add(seq, len(payload))
        if payload and state in _DATA_IN_STATES:
            self._data_arrival(seq, payload, now, flags & PSH)
        elif payload:
            self._send_ack(now)  # data after the peer's FIN can only be a retransmission
        elif flags & FIN and state in _FIN_IN_STATES and self._fin_seq != self.rcvbuf.rcv_nxt:
            # 8. a FIN alone beyond a hole: ACKed at once with its SACK block, as out-of-order
            # data (Linux's tcp_data_queue_ofo)
            self._note_out_of_order(seq)
            self._send_ack(now)
        if self._fin_seq is not None and self._fin_seq == self.rcvbuf.rcv_nxt and state in _FIN_IN_STATES:
            self._fin_arrival(now)
        elif flags & FIN and state in (S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK):
            self._send_ack(now)  # a retransmitted FIN: ACK it again
        if self.state in _SENDING_STATES and (len(self.sndbuf) or self._lost_bytes or self.fin_queued):
            self._push(now)
        if self._sndbuf_nospace:
            self._check_space()

    def _syn_sent_arrival(self, seg: TCPSegment, now: int) -> None:
        """RFC 9293 §3.10.7.3."""
        flags = seg.flags
        ack_ok = False
        if flags & ACK:
            ack = seg.ack
            if seq_le(ack, self.iss) or seq_gt(ack, self.snd_nxt):
                if not flags & RST:
                    self._emit(ack, RST, b"", now, options=(), window=0)
                return
            ack_ok = True
        if flags & RST:
            if ack_ok:
                self._fail(errno.ECONNREFUSED, "rcv RST", now)
            return
        if not flags & SYN:
            return
        self.irs = seg.seq
        self.rcvbuf.rcv_nxt = seq_add(seg.seq, 1)
        self._rcv_edge = self.rcvbuf.rcv_nxt
        self._take_syn_options(seg)
        if not self.ws_ok:
            self.rcv_wscale = 0
        self.last_rcv = now
        if ack_ok:
            self._init_window(seg)
            self.snd_wl1 = seg.seq
            self._handshake_acked(seg, now)
            self._set_state(S.ESTABLISHED, "rcv SYN,ACK", now)
            self.events |= EV_ESTABLISHED | EV_WRITABLE
            if self.keepalive:
                self.t_keepalive = now + self.settings.keepalive_time
            # the third packet; data queued meanwhile leaves with it
            self._send_ack(now)
            self._push(now)
        else:
            # simultaneous open (RFC 9293 figure 8): SYN-ACK with our original ISS
            self._init_window(seg)
            self._set_state(S.SYN_RECEIVED, "rcv SYN", now)
            self.rtx.clear()
            self._max = 0
            self._send_syn(now)

    def _handshake_acked(self, seg: TCPSegment, now: int) -> None:
        """The SYN is acknowledged: RTT sample (Karn: only if sent once), drop it from the queue."""
        head = self.rtx.popleft() if self.rtx and self.rtx[0].flags & SYN else None
        if head is not None:
            self.delivered += 1  # (Linux counts the SYN delivered too)
        if head is not None and head.retransmits == 0:
            self.rtt.sample(now - head.tx_time)
            self.rtt.update_min(now - head.tx_time, now)
        elif head is not None:
            # Linux: a retransmitted SYN gives no sample, and the initial RTO after a lost SYN
            # is 3 s (RFC 6298 §5.7, tcp_finish_connect -> TCP_TIMEOUT_FALLBACK)
            self.rtt.initial_rto = max(self.rtt.initial_rto, 3_000_000_000)
            self.rtt.backoff = 0
        self._una = 1
        self.t_rtx = None
        self.retrans_stamp = None
        self.snd_wnd = seg.window << self.snd_wscale if not seg.flags & SYN else seg.window
        self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)

    def _time_wait_arrival(self, seg: TCPSegment, now: int, tsval: int | None) -> None:
        """TIME-WAIT (RFC 9293 §3.10.7.4, RFC 1337, RFC 6191): a retransmitted FIN is ACKed
        again and restarts the 2 MSL timer; a new SYN with a higher sequence number (or newer
        timestamp) may reopen the 4-tuple (the driver hands it to the listener)."""
        flags = seg.flags
        if flags & RST:
            return  # RFC 1337: ignore RSTs in TIME-WAIT (Linux's default rfc1337=0 kills it; see docs)
        if flags & SYN and not flags & ACK:
            newer = seq_gt(seg.seq, self.rcvbuf.rcv_nxt) or (
                tsval is not None and self.ts_recent and seq_gt(tsval, self.ts_recent))
            if newer:
                self.reopen_syn = True
                self._set_state(S.CLOSED, "timeout", now)
                return
            self._send_ack(now)
            return
        if flags & FIN:
            self.t_wait = now + self.settings.time_wait
            self._send_ack(now)
            return
        if seg.payload or seg.seq != self.rcvbuf.rcv_nxt:
            self._send_ack(now)

    def _ack_processing(self, seg: TCPSegment, now: int, tsecr: int | None) -> bool:
        """Step 5 for the synchronized states; False when the segment must be dropped."""
        ack = seg.ack
        iss = self.iss
        una = (iss + self._una) & MASK  # snd_una
        if 0 < ((ack - iss - self._max) & MASK) < HALF:  # seq_gt(ack, snd_nxt)
            self._send_ack(now)  # acknowledges something not yet sent
            return False
        if self.max_snd_wnd and 0 < ((una - self.max_snd_wnd - ack) & MASK) < HALF:
            self._send_ack(now)  # RFC 5961 §5.2: too old to be trusted (ack before una - max_snd_wnd)
            return False
        acked = (ack - una) & MASK  # seq_sub(ack, una) if seq_gt(ack, una)
        if acked >= HALF:
            acked = 0
        window_changed = self._window_update(seg.seq, ack, seg.window)
        sacked_new = 0
        dsack = 0  # the bytes a D-SACK reports
        dsack_tlp = False
        prior_fack = self._una
        if self.sack_ok:
            if self._sacked_bytes:
                prior_fack = self._fack  # the highest SACK before this ACK (tcp_highest_sack_seq)
            for option in seg.options:
                if type(option) is TCPOptionSACK:
                    blocks = option.blocks
                    dsack, dsack_tlp = self._dsack_received(blocks, ack)
                    if self.rtx:
                        sacked_new = self._sack_arrival(blocks, now, prior_fack, bool(dsack))
                    break
        outstanding = self._max > self._una
        if self.tlp_high is not None and not 0 < ((una - ack) & MASK) < HALF:
            # (Linux: before the window moves on this ACK; never for an old one)
            self._loss_probe_acked(self._una + acked, bool(acked or sacked_new or seg.payload or window_changed),
                                   dsack_tlp, now)
        if acked:
            self._new_ack(acked, now, tsecr, sacked_new, prior_fack)
        elif outstanding and (sacked_new or (not seg.payload and not seg.flags & (SYN | FIN) and not window_changed
                                             and not dsack)):
            # (an ACK whose news is a D-SACK is no duplicate: Linux's FLAG_DSACKING_ACK)
            self._dup_ack(now, sacked_new)
        elif dsack and self.ca_state == CA_RECOVERY:
            # a D-SACK still tells PRR a segment left the network (tcp_dsack_seen's sack_delivered)
            self._reduce_cwnd(dsack, False, False)
            self._push(now)
        if dsack and self.undo_marker is not None:
            self._try_undo_dsack()  # (undo_retrans reaches 0 only on a D-SACK)
        self._orig_acked = False
        if self.fin_queued and self._una == self._fin_off + 1 and not self._fin_acked(now):
            return False
        if window_changed and self.snd_wnd and self.t_persist is not None:
            self.t_persist = None
        return True

    def _dsack_received(self, blocks: tuple[tuple[int, int], ...], ack: int) -> tuple[int, bool]:
        """A D-SACK in an ACK's SACK blocks (RFC 2883 §4: the first block below the ACK, or
        inside the second): its length in bytes (0 if none), counted as Linux's tcp_dsack_seen
        counts it (in segments; none for a block longer than the largest window), and whether it
        reports the tail loss probe (FLAG_DSACK_TLP: it ends where the probe ended, one MSS at
        most)."""
        left, right = blocks[0]
        if not (0 < ((ack - left) & MASK) < HALF or (len(blocks) > 1 and not seq_lt(left, blocks[1][0])
                                                     and not seq_gt(right, blocks[1][1]))):
            return 0, False
        size = (right - left) & MASK
        if not size or size >= HALF or size > max(self.max_snd_wnd, self.mss):
            return 0, False
        mss = max(1, self.mss)
        dups = -(-size // mss)
        self.dsacks_received += dups
        high = self.tlp_high
        tlp = high is not None and right == (self.iss + high) & MASK and size <= mss  # FLAG_DSACK_TLP
        if self.dsacks_received > self.total_retransmits:
            return size, tlp  # more duplicates than we ever resent: not ours (tcp_dsack_seen)
        if self.rack.reord_seen and not tlp:
            # RACK widens its window on a D-SACK only once reordering was seen, and never for the
            # probe's (a probe is sent by the timer, not by RACK)
            self.rack.dsack_seen = True
        if self.undo_marker is not None and self.undo_retrans > 0:
            # a retransmission since the reduction was not needed (tcp_check_dsack's counting
            # for data below SND.UNA, tcp_sacktag_one's for a resent segment still queued)
            distance = seq_sub(right, self.snd_una)
            end = self._una + (distance - (1 << 32) if distance >= HALF else distance)
            if end <= self._una:
                needless = dups if end > self.undo_marker else 0
            else:
                start = end - size
                needless = sum(1 for seg in self.rtx if seg.retransmits and start <= seg.start and seg.end <= end)
            self.undo_retrans = max(0, self.undo_retrans - needless)
        return size, tlp

    def _fin_acked(self, now: int) -> bool:
        """The state change an ACK of our FIN brings; False when the connection is over."""
        state = self.state
        if state is S.FIN_WAIT_1:
            self._set_state(S.FIN_WAIT_2, "rcv ACK of FIN", now)
            if self.orphaned:
                self.t_wait = now + self.settings.fin_timeout
        elif state is S.CLOSING:
            self._set_state(S.TIME_WAIT, "rcv ACK of FIN", now)
        elif state is S.LAST_ACK:
            self._set_state(S.CLOSED, "rcv ACK of FIN", now)
            return False
        return True

    def _window_update(self, seq: int, ack: int, window: int) -> bool:
        """Take the segment's window if it is the newest (RFC 9293 §3.10.7.4, SND.WL1/WL2);
        True if SND.WND changed."""
        wl1 = self.snd_wl1
        if not (0 < ((seq - wl1) & MASK) < HALF or (wl1 == seq and ((ack - self.snd_wl2) & MASK) < HALF)):
            return False
        new_window = window << self.snd_wscale
        changed = new_window != self.snd_wnd
        self.snd_wnd = new_window
        self.snd_wl1, self.snd_wl2 = seq, ack
        largest = self.max_snd_wnd
        self.max_snd_wnd = new_window if new_window > largest else largest
        if new_window:
            self._persist_backoff = 0
        return changed

    def _new_ack(self, acked: int, now: int, tsecr: int | None, sacked_new: int = 0, prior_fack: int = 0) -> None:
        """SND.UNA advances: clean the queue, sample the RTT, grow or settle the window
        (``sacked_new``: bytes the same ACK's SACK blocks covered first; ``prior_fack``: the
        highest SACK before this ACK, or the old SND.UNA)."""
        new_una = self._una + acked
        rtt_sample: int | None = None
        karn = False
        rtx = self.rtx
        delivered = sacked_new  # bytes this ACK tells us arrived for the first time
        newest: int | None = None  # when the newest segment acknowledged (sent once) left
        fresh = 0  # segments delivered by this ACK, not SACKed before
        last: SentSegment | None = None  # the most recently sent of them, for RACK
        reord = -1  # the lowest of them sent once (a hole filled without a retransmission?)
        while rtx and rtx[0].end <= new_una:
            seg = rtx.popleft()
            size = seg.end - seg.start
            if seg.sacked:
                self._sacked_bytes -= size
            else:
                delivered += size
                fresh += 1
                if last is None or seg.tx_order > last.tx_order:
                    last = seg
                if reord < 0 and not seg.retransmits:
                    reord = seg.start
            if seg.lost:
                self._lost_bytes -= size
            if seg.retrans_out:
                self._retrans_bytes -= size
            if seg.retransmits:
                karn = True
            elif not seg.sacked:
                newest = seg.tx_time
                if rtt_sample is None:
                    # the oldest segment sent once and not already SACKed (Linux seq_rtt: a
                    # SACKed segment's time is its SACK's, not this ACK's)
                    rtt_sample = now - newest
        if rtx and rtx[0].start < new_una:
            # a partial ACK of the head segment: trim it (Linux tcp_trim_head)
            head = rtx[0]
            cut = new_una - head.start
            if not head.sacked:
                delivered += cut
            for flag, attr in ((head.sacked, "_sacked_bytes"), (head.lost, "_lost_bytes"),
                               (head.retrans_out, "_retrans_bytes")):
                if flag:
                    setattr(self, attr, getattr(self, attr) - cut)
            head.start = new_una
        # the data bytes newly acknowledged: up to the FIN, from the buffer's start (min() and
        # max() written out, as in _window_offer: this runs for every ACK)
        end = self._fin_off if self.fin_queued and self._fin_off < new_una else new_una
        una, buf_off = self._una, self._buf_off
        data_acked = end - (una if una > buf_off else buf_off)
        if data_acked > 0:
            self.sndbuf.acknowledge(data_acked)
            self._buf_off += data_acked
            self.events |= EV_WRITABLE
        self.delivered += fresh
        if last is not None and self.sack_ok and self.rack.mode & LOSS_DETECTION:
            self._rack_acked(last, now, tsecr, reord, prior_fack, new_una)
        if karn:
            rtt_sample = None  # Karn / Linux FLAG_RETRANS_DATA_ACKED: no sequence-based sample
        if karn and tsecr:
            rtt_sample = max(0, (self._tsval(now) - tsecr) & MASK) * MS  # RFC 7323 §4 (RTTM)
            if rtt_sample > self.settings.rto_max:
                rtt_sample = None
        if rtt_sample is not None:
            self.rtt.sample(rtt_sample)
            # the path's least RTT from the newest segment acknowledged (Linux's ca_rtt_us)
            self.rtt.update_min(rtt_sample if newest is None or karn else now - newest, now)
        cc = self.cc
        if cc.hystart_pending and cc.cwnd < cc.ssthresh:
            # Linux's pkts_acked with ca_rtt: the newest segment's RTT (the timestamp's when a
            # retransmission was acknowledged), before the window grows on this ACK
            ca_rtt = rtt_sample if karn else (now - newest if newest is not None else None)
            cc.pkts_acked(ca_rtt, now, new_una, self._max, self.rtt.srtt)
        if self._una == 0:
            acked -= 1  # the SYN is not data: it does not grow the congestion window
        self._una = new_una
        self.retrans_stamp = None
        self.dupacks = 0
        sml = self._snd_sml
        self._snd_sml = sml if sml > new_una else new_una
        # the window grows only when it was used (Linux's tcp_is_cwnd_limited: in slow start,
        # while cwnd is below twice the most segments out; an application-limited flow keeps it)
        grow = self.is_cwnd_limited or (cc.cwnd < cc.ssthresh and cc.cwnd < 2 * self.max_packets_out * self.mss)
        rack = self.sack_ok and self.rack.mode & LOSS_DETECTION
        # (the ACK sets the timer again below, unless RACK arms its own here; NO_TIMER, not None:
        # mypy would take the attribute for None until the end of the method, through the calls
        # that may set it, and a mypyc build checks that at run time)
        self.t_reo = NO_TIMER
        if self.ca_state == CA_OPEN:
            if rack and (self._sacked_bytes or sacked_new) and self._rack_loss(now):
                # RACK proved a loss (Linux's tcp_time_to_recover: lost_out): fast recovery
                self._enter_recovery(now)
                self._reduce_cwnd(delivered, True, True)
                self._retransmit_lost(now, force=True)
            elif grow:
                cc.on_ack(acked, now, self.rtt.srtt)
        elif self.ca_state == CA_LOSS:
            lost_again = False
            recovered = self._una >= self.recover
            if self._may_undo(tsecr) or (self.frto and (self._orig_acked or 0 <= reord < self.recover)):
                # tcp_try_undo_loss: the timeout was needless: an original arrived (the echoed
                # timestamp says so), or F-RTO saw data never resent delivered (RFC 5682 step 3.b)
                self._undo(True)
                self.ca_state = CA_OPEN
            else:
                if self.frto:
                    if self._max > self.recover:
                        if sacked_new:
                            self.frto = False  # step 3.a: the new data drew SACKs, the loss was real
                    elif not recovered:
                        # step 2.b: the retransmission was ACKed; send new data instead of resending
                        self.recover = self._max
                        if self._buf_off + len(self.sndbuf) > self._max and self._una + self.snd_wnd > self._max:
                            self._rexmit_new = True
                        else:
                            self.frto = False
                if recovered:
                    self.ca_state = CA_OPEN
                    self.rack.recovery_ended()  # (tcp_process_loss -> tcp_try_undo_recovery)
                elif rack and not self._rexmit_new:
                    lost_again = self._loss_state_loss(now)
            if lost_again:
                self._reduce_cwnd(delivered, True, True)
                self._retransmit_lost(now)
            elif grow:
                cc.on_ack(acked, now, self.rtt.srtt)  # slow start again from the loss window
        elif self._una >= self.recover:
            self._recovery_end(tsecr)
        elif self.ca_state == CA_RECOVERY:
            if not cc.partial_ack_recovery:
                self._recovery_end(tsecr)  # Reno: any new ACK ends fast recovery
            else:
                # RFC 6582 §3.2 step 3: a partial ACK: the next hole is lost, resend it now
                mss = max(1, self.mss)
                newly_lost = False
                if not self.sack_ok:
                    # Linux's tcp_remove_reno_sacks: the duplicates counted already were delivered;
                    # one segment of the ACK filled the hole, the rest had drawn duplicates
                    delivered = max(acked - self._reno_sacked * mss, mss)
                    self._reno_sacked = max(0, self._reno_sacked - (-(-acked // mss) - 1))
                    if rtx and not rtx[0].lost:
                        rtx[0].lost = True
                        self._lost_bytes += rtx[0].end - rtx[0].start
                        newly_lost = True
                elif rack:
                    newly_lost = self._rack_loss(now)
                else:
                    newly_lost = self._mark_lost_sack()
                self._reduce_cwnd(delivered, True, newly_lost)
                # (with RACK as Linux's tcp_xmit_retransmit_queue: as PRR's window allows)
                self._retransmit_lost(now, force=not rack)
        # the retransmission timer (RFC 6298 §5.2, §5.3), or a loss probe before it (Linux's
        # tcp_set_xmit_timer)
        if self._max <= self._una:
            self.t_rtx = self.t_tlp = self.t_reo = None
        elif self.t_reo is not None:
            self.t_rtx = self.t_tlp = None  # RACK's reordering timer stands (FLAG_SET_XMIT_TIMER cleared)
        else:
            rto = self.rtt.rto
            self.t_rtx = now + rto
            self.t_tlp = None
            if self.sack_ok and self.ca_state == CA_OPEN:
                self._schedule_loss_probe(now, rto)  # (the RTO restarts now: Linux's advancing_rto)

    def _loss_state_loss(self, now: int) -> bool:
        """RACK in the Loss state (tcp_identify_packet_loss): a retransmission found lost again
        (FLAG_LOST_RETRANS) makes tcp_fastretrans_alert fall through to fast recovery, whose
        reduction starts from the loss window; True if it did."""
        before = self.lost_retransmits
        self._rack_loss(now)
        if self.lost_retransmits == before:
            return False
        self._enter_recovery(now)
        return True

    def _recovery_end(self, tsecr: int | None) -> None:
        """Fast recovery is over (Linux's tcp_try_undo_recovery, tcp_end_cwnd_reduction): undone
        if it was needless, else the window settles at ssthresh."""
        self.ca_state = CA_OPEN
        self._reno_sacked = 0
        if self._may_undo(tsecr):
            self._undo(False)
        else:
            self.rack.recovery_ended()
            self.cc.on_recovery_end()

    def _dup_ack(self, now: int, sacked_new: int) -> None:
        """RFC 5681 §3.2 / RFC 6675 §5: count duplicates, enter fast recovery on the third (or
        when SACK shows a segment lost)."""
        self.dupacks += 1
        rack = self.sack_ok and self.rack.mode & LOSS_DETECTION
        if self.ca_state == CA_LOSS:
            if self.frto and self._orig_acked:
                self._undo(True)  # F-RTO step 3.b: data never resent was SACKed, the timeout was needless
                self.ca_state = CA_OPEN
                self._push(now)
                return
            if self.frto and self._max > self.recover:
                self.frto = False  # step 3.a: a duplicate ACK after the new data: the loss was real
            if rack:
                if self._loss_state_loss(now):
                    self._reduce_cwnd(sacked_new, False, True)
                    self._retransmit_lost(now)
            elif self.sack_ok:
                self._mark_lost_sack()
            self._push(now)
            return
        # what this duplicate says arrived: the bytes it SACKs, or (without SACK) one segment,
        # as Linux's tcp_add_reno_sack counts it
        delivered = sacked_new if self.sack_ok else self.mss
        if self.ca_state == CA_RECOVERY:
            newly_lost = False
            if not self.sack_ok:
                self._reno_sacked += 1
            else:
                newly_lost = self._rack_loss(now) if rack else self._mark_lost_sack()
            self._reduce_cwnd(delivered, False, newly_lost)
            self._push(now)
            return
        if rack:
            enter = self._rack_loss(now)  # only a proven loss (no duplicate count with RACK)
        else:
            enter = (self._mark_lost_sack() if self.sack_ok else False) or self.dupacks >= 3
        if enter:
            # fast retransmit (RFC 5681 §3.2 step 2-4; RFC 6675 §5 step 4), the window brought
            # down to ssthresh by PRR (Linux's tcp_init_cwnd_reduction)
            self._enter_recovery(now)
            if not self.sack_ok:
                self._reno_sacked = self.dupacks
            head = self.rtx[0] if self.rtx else None
            if not rack and head is not None and not head.lost and not head.sacked:
                head.lost = True  # (tcp_update_scoreboard, which Linux skips with RACK)
                self._lost_bytes += head.end - head.start
            self._reduce_cwnd(delivered, False, True)
            self._retransmit_lost(now, force=True)
            self._push(now)

    def _enter_recovery(self, now: int) -> None:
        """Fast recovery begins (Linux's tcp_enter_recovery): ssthresh from the congestion
        control, PRR from zero, no loss probes until it ends; what to undo to if it was needless."""
        self.prior_ssthresh = self._current_ssthresh()
        self._init_undo()
        self.ca_state = CA_RECOVERY
        self.recover = self._max
        self.prior_cwnd = self.cc.cwnd
        self.prr_delivered = self.prr_out = 0
        self.tlp_high = None
        if self.t_tlp is not None:
            # no probes in recovery: the RTO again, when it would have fired (tcp_rearm_rto)
            self.t_tlp = None
            self.t_rtx = now + max(self.rtx[0].tx_time + self.rtt.rto - now, 1)
        self.cc.on_congestion(self.flight, now)

    def _reduce_cwnd(self, delivered: int, una_advanced: bool, newly_lost: bool) -> None:
        """Proportional rate reduction (RFC 6937) as Linux's tcp_cwnd_reduction, in segments:
        while the pipe is above ssthresh, send ssthresh/prior_cwnd segments per segment
        delivered; below it, catch up with what was delivered (at most up to ssthresh, one
        more when SND.UNA advanced and nothing new was lost: the slow-start reduction bound).
        The first call lets the fast retransmission out.  ``delivered``: bytes this ACK says
        reached the receiver."""
        if delivered <= 0:
            return
        mss = max(1, self.mss)
        delivered = -(-delivered // mss)
        self.prr_delivered += delivered
        cc = self.cc
        ssthresh = cc.ssthresh // mss
        pipe = self.pipe
        delta = ssthresh - -(-pipe // mss)
        if delta < 0:
            prior = max(1, self.prior_cwnd // mss)
            sndcnt = -(-ssthresh * self.prr_delivered // prior) - self.prr_out
        else:
            sndcnt = max(self.prr_delivered - self.prr_out, delivered)
            if una_advanced and not newly_lost:
                sndcnt += 1
            sndcnt = min(delta, sndcnt)
        sndcnt = max(sndcnt, 0 if self.prr_out else 1)
        cc.cwnd = pipe + sndcnt * mss

    def _sack_arrival(self, blocks: tuple[tuple[int, int], ...], now: int, prior_fack: int,
                      dsack: bool = False) -> int:
        """Mark segments the SACK blocks (of a SACK option) cover (RFC 2018 §5); returns how
        many bytes were new.  With RACK each newly SACKed segment advances it, and one sent
        once that fills a hole below the highest SACK (``prior_fack``) is reordering, as is a
        D-SACK (``dsack``: the first block is one) of a resent segment already SACKed: its
        original came late (tcp_sacktag_one)."""
        una32 = self.snd_una
        span = self._max - self._una
        new = 0
        rack = self.rack if self.rack.mode & LOSS_DETECTION else None
        min_rtt = self.rtt.min_rtt
        fack = prior_fack
        low = -1
        for number, (left, right) in enumerate(blocks):
            lo, hi = seq_sub(left, una32), seq_sub(right, una32)
            if lo >= hi or hi > span or lo >= span:
                continue  # D-SACK below SND.UNA, or nonsense
            lo += self._una
            hi += self._una
            for s in self.rtx:
                if s.start >= hi:
                    break
                if (dsack and not number and rack is not None and s.sacked and s.retransmits
                        and lo <= s.start and s.end <= hi and (low < 0 or s.start < low)):
                    low = s.start
                if s.sacked or s.start < lo or s.end > hi:
                    continue
                s.sacked = True
                size = s.end - s.start
                self._sacked_bytes += size
                new += size
                self.delivered += 1
                fack = max(fack, s.end)
                if not s.retransmits and s.end <= self.recover:
                    self._orig_acked = True  # (FLAG_ORIG_SACK_ACKED, F-RTO's evidence)
                if rack is not None:
                    rack.advance(s.tx_time, s.tx_order, s.retransmits > 0, now, min_rtt, s.tx_delivered)
                    if not s.retransmits and s.start < prior_fack and (low < 0 or s.start < low):
                        low = s.start
                if s.lost:
                    s.lost = False
                    self._lost_bytes -= size
                if s.retrans_out:
                    s.retrans_out = False
                    self._retrans_bytes -= size
        self._fack = fack
        if low >= 0 and rack is not None:
            rack.reordering_seen(low, fack, self.mss)
        return new

    # --- RACK (RFC 8985 §6) -----------------------------------------------------------------------

    def _rack_acked(self, last: SentSegment, now: int, tsecr: int | None, reord: int, prior_fack: int,
                    new_una: int) -> None:
        """RACK's view of a cumulative ACK (Linux's tcp_clean_rtx_queue): the most recently
        sent segment it delivered advances RACK, unless it was a retransmission the timestamp
        shows was not needed (its original was ACKed: tcp_skb_spurious_retrans).  A hole below
        the highest SACK filled by a segment sent once is reordering, and so is one filled by
        an original that was resent in vain (the timestamp says so: Linux notices it in
        tcp_try_undo_partial, where it also undoes the reduction, which netsim does not)."""
        fack = self._fack if self._sacked_bytes else new_una
        if last.retransmits and tsecr and seq_lt(tsecr, self._tsval(last.tx_time)):
            if last.start < prior_fack:
                self.rack.reordering_seen(last.start, fack, self.mss)
        else:
            self.rack.advance(last.tx_time, last.tx_order, last.retransmits > 0, now, self.rtt.min_rtt,
                              last.tx_delivered)
        if 0 <= reord < prior_fack:
            self.rack.reordering_seen(reord, fack, self.mss)

    def _rack_scan(self, now: int) -> tuple[int, int]:
        """Mark what RACK says is lost; returns (segments newly marked, the longest wait)."""
        rack, rtt = self.rack, self.rtt
        rack.update_reo_wnd(rack.take_rate_sample(), self.delivered)
        in_recovery = self.ca_state != CA_OPEN
        sacked = 0 if rack.reord_seen or in_recovery else sum(1 for s in self.rtx if s.sacked)
        reo_wnd = rack.reo_wnd(in_recovery, sacked, rtt.min_rtt, rtt.srtt or 0)
        lost, wait = rack.detect(self.rtx, now, reo_wnd)
        for seg in lost:
            size = seg.end - seg.start
            if seg.retrans_out:  # a retransmission lost again (TCPLostRetransmit)
                seg.retrans_out = False
                self._retrans_bytes -= size
                self.lost_retransmits += 1
            if not seg.lost:
                seg.lost = True
                self._lost_bytes += size
        return len(lost), wait

    def _rack_loss(self, now: int) -> bool:
        """RACK's loss detection after an ACK that delivered something (tcp_rack_mark_lost):
        True if it marked a segment lost; a segment still inside the reordering window arms
        the reordering timer in place of the RTO."""
        rack = self.rack
        if not rack.advanced:
            return False
        rack.advanced = False
        marked, wait = self._rack_scan(now)
        if wait:
            self.t_reo = now + reo_timeout(wait, self.rtt.rto)
            self.t_rtx = self.t_tlp = None
        return marked > 0

    def _on_reo_timeout(self, now: int) -> None:
        """The reordering window has passed (tcp_rack_reo_timeout): mark what is lost now, enter
        recovery if it changed the pipe, resend as the window allows; then the RTO, timed from
        the head's transmission (tcp_rearm_rto)."""
        if self.state not in _SENDING_STATES or not self.rtx:
            return
        prior = self.pipe
        self._rack_scan(now)
        if self.pipe != prior:
            if self.ca_state != CA_RECOVERY:
                self._enter_recovery(now)
                self._reduce_cwnd(self.mss, False, True)  # (tcp_cwnd_reduction(sk, 1, ...))
            self._retransmit_lost(now)
        if self.rtx:
            # (the reordering timer was the pending one, so resending did not rearm: Linux's
            # tcp_rearm_rto times the RTO from the head's last transmission)
            self.t_rtx = now + max(self.rtx[0].tx_time + self.rtt.rto - now, 1)
            self.t_tlp = None

    def _mark_lost_sack(self) -> bool:
        """RFC 6675 §4 IsLost: a segment with DupThresh (3) segments' worth SACKed above it."""
        threshold = 3 * self.mss
        above = 0
        marked = False
        for s in reversed(self.rtx):
            if s.sacked:
                above += s.end - s.start
            elif above >= threshold and not s.lost:
                s.lost = True
                self._lost_bytes += s.end - s.start
                marked = True
        return marked

    def _data_arrival(self, seq: int, payload: bytes, now: int, pushed: int = 0) -> None:
        """Step 7: in-order data to the buffer, out-of-order kept, and the ACK policy."""
        rcvbuf = self.rcvbuf
        size = len(payload)
        if size > self._rcv_mss:
            self._rcv_mss = min(size, self.local_mss)
        before = rcvbuf.rcv_nxt
        in_order = seq == before
        had_ooo = bool(rcvbuf._ooo)
        ready = rcvbuf._ready
        if not in_order and 0 < ((before - seq) & MASK) < HALF:
            self._duplicate_arrived(seq, before, False)  # starts with bytes we have (tcp_data_queue)
        elif had_ooo:
            # bytes waiting out of order already: tcp_data_queue_ofo, or tcp_ofo_queue when
            # in-order data reaches them
            held = rcvbuf.held(seq, size)
            if held is not None:
                self._duplicate_arrived(held[0], held[1], False)
        if in_order and not had_ooo and size <= rcvbuf.capacity - len(ready):
            # the common case, as ReceiveBuffer.insert does it: it all fits, nothing to drain
            ready += payload
            rcvbuf.rcv_nxt = (before + size) & MASK
            added = size
        else:
            added = rcvbuf.insert(seq, payload)
        if added:
            self.events |= EV_READABLE
        if not in_order or had_ooo:
            if not in_order and seq_gt(seq, before):
                self._note_out_of_order(seq)
                if rcvbuf._ooo:
                    self._rcvbuf_grow(self.rcvq_space)  # tcp_data_queue_ofo: room for the hole
            self._send_ack(now)  # out of order, duplicate or filling a hole: ACK at once (RFC 5681 §4.2)
            return
        if not added:
            self._send_ack(now)
            return
        self._rcv_unacked += added
        # the receiver's RTT (tcp_rcv_rtt_measure_ts, from the echoed timestamp of a full segment,
        # and tcp_rcv_rtt_measure, the time a window takes to arrive): a comparison or two each
        if self._rx_tsecr != self._rcv_rtt_last_tsecr:
            self._rcv_rtt_measure_ts(size, now)
        if self._rcv_rtt_time is None or not 0 < ((self._rcv_rtt_seq - rcvbuf.rcv_nxt) & MASK) < HALF:
            self._rcv_rtt_measure(now)
        room = rcvbuf.capacity - len(ready) - self.rcv_ssthresh
        if room > 0 and size >= 128:
            # Linux tcp_grow_window: each in-order segment lets the offered window grow by two
            # segments, up to the window the buffer has room for (min(window_clamp, tcp_space))
            incr = 2 * self._rcv_mss
            self.rcv_ssthresh += incr if incr < room else room
        window = (self._rcv_edge - rcvbuf.rcv_nxt) & MASK  # rcv_wnd
        if self._quick or self._rcv_unacked >= 2 * self._rcv_mss or (window if window < HALF else 0) < self._rcv_mss:
            self._send_ack(now)
        else:
            if self.t_delack is None:
                self.t_delack = now + self.settings.delack_min
            if pushed:
                self._ack_pushed = True

    def _fin_arrival(self, now: int) -> None:
        """Step 8 (RFC 9293 §3.10.7.4): the peer is done sending."""
        self.rcvbuf.rcv_nxt = seq_add(self.rcvbuf.rcv_nxt, 1)
        self._fin_seq = None
        self.eof = True
        self.events |= EV_EOF | EV_READABLE
        state = self.state
        if state in (S.SYN_RECEIVED, S.ESTABLISHED):
            # Linux tcp_fin: the ACK of a FIN in ESTABLISHED is delayed (pingpong mode), so an
            # application that closes at once sends one FIN+ACK; in FIN-WAIT it goes at once
            if self.t_delack is None:
                self.t_delack = now + self.settings.delack_min
        else:
            self._send_ack(now)
        if state in (S.SYN_RECEIVED, S.ESTABLISHED):
            self._set_state(S.CLOSE_WAIT, "rcv FIN", now)
        elif state is S.FIN_WAIT_1:
            if self._una == self._fin_off + 1:
                self._set_state(S.TIME_WAIT, "rcv FIN,ACK of FIN", now)
            else:
                self._set_state(S.CLOSING, "rcv FIN", now)
        elif state is S.FIN_WAIT_2:
            self._set_state(S.TIME_WAIT, "rcv FIN", now)

    # --- buffer autotuning (netsim.proto.tcp.autotune) -------------------------------------------

    def set_rcvbuf(self, space: int) -> None:
        """SO_RCVBUF on an open connection: ``space`` (the doubled value) becomes sk_rcvbuf and
        locks it (SOCK_RCVBUF_LOCK); the right edge already offered stays where it is."""
        self.sk_rcvbuf, self.rcvbuf_locked = space, True
        self.rcvbuf.capacity = max(win_from_space(space), 1)

    def set_sndbuf(self, space: int) -> None:
        """SO_SNDBUF on an open connection: sk_sndbuf, locked (SOCK_SNDBUF_LOCK)."""
        self.sk_sndbuf, self.sndbuf_locked = space, True
        self._size_sndbuf()

    def _size_sndbuf(self) -> None:
        """The send buffer's payload share of sk_sndbuf, in whole segments: Linux checks the
        memory only when a write needs a new skb (sk_stream_memory_free, wmem_queued < sndbuf)
        and fills that one to the segment size, so the queue ends on a segment boundary."""
        mss = self.mss
        self.sndbuf.capacity = -(-win_from_space(self.sk_sndbuf) // mss) * mss

    def _init_buffer_space(self, now: int) -> None:
        """Linux's tcp_init_buffer_space, when the connection is established: the send buffer
        sized for the initial window (unless locked), and the first DRS measurement starts from
        what ten segments (or the window offered, if smaller) hold."""
        if not self.sndbuf_locked:
            self._sndbuf_expand()
        self._size_sndbuf()  # (the segment size is known now)
        rcvbuf = self.rcvbuf
        self._rcvq_time = now // 1000
        self._rcvq_seq = (rcvbuf.rcv_nxt - len(rcvbuf._ready)) & MASK  # copied_seq
        advmss = self.local_mss - (_TS_OVERHEAD if self.ts_ok else 0)
        window = self.rcv_wnd or self.rcv_ssthresh
        space = self.rcv_ssthresh if self.rcv_ssthresh < window else window
        self.rcvq_space = space if space < TCP_INIT_CWND * advmss else TCP_INIT_CWND * advmss

    def _rcv_rtt_measure(self, now: int) -> None:
        """Linux's tcp_rcv_rtt_measure: the time from one window's worth of data to the next is
        an RTT sample (the caller saw RCV.NXT reach the mark); a new mark one window ahead.  The
        window is the one last advertised (Linux's tp->rcv_wnd): the right edge plus what came
        since that ACK."""
        now_us = now // 1000
        if self._rcv_rtt_time is not None:
            delta = now_us - self._rcv_rtt_time
            self.rcv_rtt_us8 = rcv_rtt_update(self.rcv_rtt_us8, delta if delta > 0 else 1, True, True)
        self._rcv_rtt_seq = (self._rcv_edge + self._rcv_unacked) & MASK
        self._rcv_rtt_time = now_us

    def _rcv_rtt_measure_ts(self, size: int, now: int) -> None:
        """Linux's tcp_rcv_rtt_measure_ts: a full segment echoing a new timestamp is an RTT
        sample of our timestamp clock (ms); a zero difference is no sample (sub-ms paths rely
        on the window samples), and a larger one is ignored while unread data waits."""
        tsecr = self._rx_tsecr
        self._rcv_rtt_last_tsecr = tsecr
        if size < self._rcv_mss:
            return
        delta = (self._tsval(now) - tsecr) & MASK
        if 0 < delta < 2_147_483:  # (INT_MAX / 1000: a sample of more than 24 days is garbage)
            self.rcv_rtt_us8 = rcv_rtt_update(self.rcv_rtt_us8, delta * 1000, False,
                                              len(self.rcvbuf._ready) <= size)

    def _rcv_space_adjust(self, now_us: int) -> None:
        """Linux's tcp_rcv_space_adjust (called by recv() once an RTT has passed since the last
        measurement): what the application read in that RTT, less what still waits, and when
        that beats the last measurement the buffer grows (``tcp_rcvbuf_grow``).  netsim calls it
        once per recv() after the copy, Linux after each skb copied (the first one that passes the
        time test decides; the application here reads as the data arrives, one segment at a time)."""
        rcvbuf = self.rcvbuf
        inq = len(rcvbuf._ready)
        copied_seq = (rcvbuf.rcv_nxt - inq) & MASK
        copied = ((copied_seq - self._rcvq_seq) & MASK) - inq
        if copied > self.rcvq_space:
            self._rcvbuf_grow(copied)
        self._rcvq_seq = copied_seq
        self._rcvq_time = now_us

    def _rcvbuf_grow(self, newval: int) -> None:
        """Linux 6.18's tcp_rcvbuf_grow: the buffer for twice what was read in the last RTT
        (plus the slow-start growth and the out-of-order span, see
        :func:`~netsim.proto.tcp.autotune.rcvbuf_grow_target`), at most ``tcp_rmem[2]``, never
        smaller; the window clamp (here the ReceiveBuffer's capacity) follows.  Not with
        ``tcp_moderate_rcvbuf = 0`` or a buffer locked by SO_RCVBUF."""
        oldval, self.rcvq_space = self.rcvq_space, newval
        if self.rcvbuf_locked or not self.settings.moderate_rcvbuf:
            return
        rcvbuf = self.rcvbuf
        span = 0
        if rcvbuf._ooo:
            rcv_nxt = rcvbuf.rcv_nxt
            span = max(((start + len(chunk) - rcv_nxt) & MASK) for start, chunk in rcvbuf._ooo.items())
        space = space_from_win(rcvbuf_grow_target(newval, oldval, span))
        space = min(space, self.settings.rmem_max)
        if space > self.sk_rcvbuf:
            self.sk_rcvbuf = space
            rcvbuf.capacity = win_from_space(space)

    def _sndbuf_expand(self) -> None:
        """Linux's tcp_sndbuf_expand: room for two congestion windows of segments at their
        worst-case memory cost, up to ``tcp_wmem[2]``; never smaller."""
        mss = self.peer_mss if self.peer_mss > self.mss else self.mss  # max(mss_clamp, mss_cache)
        space = sndbuf_expanded(mss, self.cc.cwnd // self.mss)
        space = min(space, self.settings.wmem_max)
        if space > self.sk_sndbuf:
            self.sk_sndbuf = space
            self._size_sndbuf()
            self.events |= EV_WRITABLE

    def _check_space(self) -> None:
        """Linux's tcp_check_space / tcp_new_space after an ACK, while a writer waits for room
        (SOCK_NOSPACE): the send buffer grows when it, not the congestion window, held the
        sender back (tcp_should_expand_sndbuf: fewer segments in flight than cwnd)."""
        if not self.sndbuf_locked and self.pipe < self.cc.cwnd:
            self._sndbuf_expand()

    # --- timers --------------------------------------------------------------------------------

    def on_timer(self, now: int) -> None:
        """Run every timer whose deadline has come."""
        if self.t_wait is not None and now >= self.t_wait:
            self.t_wait = None
            if self.state is S.TIME_WAIT or self.state is S.FIN_WAIT_2:
                self._set_state(S.CLOSED, "timeout", now)
                return
        if self.t_delack is not None and now >= self.t_delack:
            self.t_delack = None
            if self.state in _DATA_IN_STATES or self.state is S.CLOSE_WAIT:
                self._send_ack(now)
        if self.t_rtx is not None and now >= self.t_rtx:
            self.t_rtx = None
            self._on_rto(now)
        if self.t_tlp is not None and now >= self.t_tlp:
            self.t_tlp = None
            self._on_loss_probe(now)
        if self.t_reo is not None and now >= self.t_reo:
            self.t_reo = None
            self._on_reo_timeout(now)
        if self.t_persist is not None and now >= self.t_persist:
            self.t_persist = None
            self._on_persist(now)
        if self.t_keepalive is not None and now >= self.t_keepalive:
            self.t_keepalive = None
            self._on_keepalive(now)

    def _timed_out(self, now: int, boundary: int, rto_base: int) -> bool:
        """Linux ``retransmits_timed_out``: the time the retries would take with backoff."""
        if self.retrans_stamp is None:
            return False
        thresh = _ilog2(self.settings.rto_max // rto_base)
        if boundary <= thresh:
            timeout = ((2 << boundary) - 1) * rto_base
        else:
            timeout = ((2 << thresh) - 1) * rto_base + (boundary - thresh) * self.settings.rto_max
        return now - self.retrans_stamp >= timeout

    def _on_rto(self, now: int) -> None:
        """The retransmission timer expired (RFC 6298 §5.4-5.7, RFC 5681 §3.1)."""
        state = self.state
        self.rto_expiries.append(now)
        if state is S.SYN_SENT or (state is S.SYN_RECEIVED and not self.passive_open):
            if self.retrans_stamp is None:
                self.retrans_stamp = self._syn_time
            if self._timed_out(now, self.settings.syn_retries, self.settings.rto_initial):
                self._fail(self.soft_error or errno.ETIMEDOUT, "timeout", now)
                return
            self.rtt.on_timeout()
            self._send_syn(now)
            return
        if state is S.SYN_RECEIVED:
            if self._synack_retries >= self.settings.synack_retries:
                self._set_state(S.CLOSED, "timeout", now)  # the request is dropped quietly
                return
            self._synack_retries += 1
            self.rtt.on_timeout()
            self._send_syn(now)
            return
        if state not in _SENDING_STATES or not self.rtx:
            return
        head = self.rtx[0]
        if self.retrans_stamp is None:
            self.retrans_stamp = head.tx_time
        if self._timed_out(now, self.settings.retries2, self.settings.rto_min):
            self._fail(self.soft_error or errno.ETIMEDOUT, "timeout", now)
            return
        self.tlp_high = None  # (tcp_retransmit_timer)
        # enter Loss: every segment not SACKed is presumed lost, slow start from one segment
        if self.ca_state != CA_LOSS or self._una >= self.recover:
            self.prior_ssthresh = self._current_ssthresh()
            self.prior_cwnd = self.cc.cwnd
            self.cc.on_timeout(self.flight, now)
            self._init_undo()
        else:
            self.cc.cwnd = self.mss
        # F-RTO for a timeout from the Open state or a repeated one (tcp_enter_loss)
        self.frto = bool(self.settings.frto) and (self.ca_state == CA_OPEN or self.rtt.backoff > 0)
        self._rexmit_new = False
        self.ca_state = CA_LOSS
        self.recover = self._max
        self.dupacks = 0
        self._reno_sacked = 0
        # every segment not SACKed is lost (tcp_timeout_mark_lost), but with RACK the head
        # only and those older than RACK's RTT: one sent within it may still arrive
        recent = now - self.rack.rtt if self.sack_ok and self.rack.mode & LOSS_DETECTION else now
        head = self.rtx[0]
        for s in self.rtx:
            if s.sacked or (s.tx_time > recent and s is not head):
                continue
            s.retrans_out = False
            s.lost = True
        self._retrans_bytes = sum(s.end - s.start for s in self.rtx if s.retrans_out)
        self._lost_bytes = sum(s.end - s.start for s in self.rtx if s.lost)
        self.cc.cwnd = self.pipe + self.mss  # what is still in flight, and one more (tcp_enter_loss)
        self.rtt.on_timeout()
        self._retransmit_lost(now, force=True)
        self.t_rtx = now + self.rtt.rto

    # --- undo (Linux's tcp_try_undo_*) ----------------------------------------------------------

    def _current_ssthresh(self) -> int:
        """Linux's tcp_current_ssthresh: in recovery ssthresh, else at least 3/4 of cwnd."""
        cc = self.cc
        if self.ca_state == CA_RECOVERY:
            return cc.ssthresh
        segments = cc.cwnd // max(1, self.mss)
        return max(cc.ssthresh, ((segments >> 1) + (segments >> 2)) * self.mss)

    def _init_undo(self) -> None:
        """tcp_init_undo: from here, the reduction is undone if every retransmission turns out
        needless (each reported as a duplicate) or the ACKs show the originals arrived."""
        self.undo_marker = self._una
        mss = max(1, self.mss)
        self.undo_retrans = -(-self._retrans_bytes // mss) if self._retrans_bytes else -1
        if not self._retrans_bytes:
            self.undo_stamp = None

    def _packet_delayed(self, tsecr: int | None) -> bool:
        """tcp_packet_delayed: the ACK echoes a timestamp from before the first retransmission,
        so an original did arrive (RFC 3522, Eifel detection)."""
        return self.undo_stamp is not None and bool(tsecr) and seq_lt(tsecr or 0, self._tsval(self.undo_stamp))

    def _may_undo(self, tsecr: int | None) -> bool:
        """tcp_may_undo: every retransmission was a duplicate, or an original arrived."""
        return self.undo_marker is not None and (self.undo_retrans == 0 or self._packet_delayed(tsecr))

    def _undo(self, unmark_lost: bool) -> None:
        """tcp_undo_cwnd_reduction: back to the window before the reduction (the larger of it and
        the present one; ssthresh if it was larger), and RACK looks at the losses again."""
        if unmark_lost:
            for seg in self.rtx:
                seg.lost = False
            self._lost_bytes = 0
        cc = self.cc
        if self.prior_ssthresh:
            cc.cwnd = max(cc.cwnd, self.prior_cwnd)
            cc.ssthresh = max(cc.ssthresh, self.prior_ssthresh)
        self.undo_marker = None
        self.rack.advanced = True
        self.undos += 1

    def _try_undo_dsack(self) -> bool:
        """tcp_try_undo_dsack: every retransmission since the reduction came back as a D-SACK:
        undo it (Open or recovery; recovery then ends, tcp_try_to_open)."""
        if self.undo_marker is None or self.undo_retrans != 0 or self.ca_state == CA_LOSS:
            return False
        self.rack.persist = min(RECOVERY_THRESH, self.rack.persist + 1)
        self._undo(False)
        if self.ca_state == CA_RECOVERY:
            self.ca_state = CA_OPEN
            self._reno_sacked = 0
        return True

    def _on_persist(self, now: int) -> None:
        """A zero-window probe (RFC 9293 §3.8.6.1; Linux ``tcp_xmit_probe_skb``: SND.UNA - 1)."""
        if self.state not in _SENDING_STATES:
            return
        if self.snd_wnd:
            self._push(now, force=True)  # a window too small for SWS avoidance: use it anyway
            return
        self._emit(seq_add(self.snd_una, -1), ACK, b"", now)
        self._persist_backoff = min(self._persist_backoff + 1, 16)
        self.t_persist = now + self._persist_interval()

    def _on_keepalive(self, now: int) -> None:
        """RFC 1122 §4.2.3.6 with Linux's timing: probes after ``keepalive_time`` idle, every
        ``keepalive_intvl``, and after ``keepalive_probes`` unanswered an RST and ETIMEDOUT."""
        if not self.keepalive or self.state not in (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_2):
            return
        settings = self.settings
        idle = now - self.last_rcv
        if self._max > self._una or len(self.sndbuf) > 0:
            self.t_keepalive = now + settings.keepalive_time
            return
        if idle < settings.keepalive_time and self._keepalive_probes == 0:
            self.t_keepalive = self.last_rcv + settings.keepalive_time
            return
        if self._keepalive_probes >= settings.keepalive_probes:
            self._emit(self.snd_nxt, RST | ACK, b"", now)
            self._fail(self.soft_error or errno.ETIMEDOUT, "timeout", now)
            return
        self._emit(seq_add(self.snd_una, -1), ACK, b"", now)
        self._keepalive_probes += 1
        self.t_keepalive = now + settings.keepalive_intvl

    def set_keepalive(self, on: bool, now: int) -> None:
        self.keepalive = on
        if on and self.state.synchronized:
            self.t_keepalive = self.last_rcv + self.settings.keepalive_time
        elif not on:
            self.t_keepalive = None
