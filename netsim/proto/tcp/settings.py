"""Host-wide TCP settings, named and defaulted as Linux's ``net.ipv4.tcp_*`` sysctls.

One frozen value per host; a socket copies what it may override (buffers, Nagle, keepalive,
congestion control) into its connection.  Durations are integer nanoseconds.
"""

from __future__ import annotations

from typing import Any

import attrs

MS = 1_000_000
S = 1_000_000_000

CONGESTION_CONTROLS = ("reno", "newreno", "cubic")


def _positive(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive integer, got {value!r}")


def _non_negative(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative integer, got {value!r}")


def _syncookies(_inst: Any, attribute: Any, value: Any) -> None:
    if value not in (0, 1, 2) or type(value) is not int:
        raise ValueError(f"{attribute.name} must be 0 (off), 1 (on overflow) or 2 (always), got {value!r}")


def _early_retrans(_inst: Any, attribute: Any, value: Any) -> None:
    if value not in (0, 1, 2, 3, 4) or type(value) is not int:
        raise ValueError(f"{attribute.name} must be 0..4 (3 and 4 send tail loss probes), got {value!r}")


def _recovery(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or not 0 <= value <= 7:
        raise ValueError(f"{attribute.name} must be 0..7 (bits: 1 RACK, 2 static reordering window, "
                         f"4 no duplicate threshold), got {value!r}")


def _frto(_inst: Any, attribute: Any, value: Any) -> None:
    if value not in (0, 1, 2) or type(value) is not int:
        raise ValueError(f"{attribute.name} must be 0..2 (1 and 2 detect spurious timeouts, RFC 5682), got {value!r}")


def _congestion(_inst: Any, attribute: Any, value: Any) -> None:
    if value not in CONGESTION_CONTROLS:
        raise ValueError(f"{attribute.name} must be one of {', '.join(CONGESTION_CONTROLS)}, got {value!r}")


@attrs.frozen
class TCPSettings:
    """Linux defaults (6.x kernels) unless said otherwise."""

    syn_retries: int = attrs.field(default=6, validator=_non_negative)  # tcp_syn_retries
    synack_retries: int = attrs.field(default=5, validator=_non_negative)  # tcp_synack_retries
    retries2: int = attrs.field(default=15, validator=_non_negative)  # tcp_retries2
    rto_initial: int = attrs.field(default=1 * S, validator=_positive)  # TCP_TIMEOUT_INIT, RFC 6298 §2.1
    rto_min: int = attrs.field(default=200 * MS, validator=_positive)  # TCP_RTO_MIN
    rto_max: int = attrs.field(default=120 * S, validator=_positive)  # TCP_RTO_MAX
    delack_min: int = attrs.field(default=40 * MS, validator=_positive)  # TCP_DELACK_MIN
    delack_max: int = attrs.field(default=200 * MS, validator=_positive)  # TCP_DELACK_MAX
    quickacks: int = attrs.field(default=16, validator=_non_negative)  # TCP_MAX_QUICKACKS
    time_wait: int = attrs.field(default=60 * S, validator=_positive)  # TCP_TIMEWAIT_LEN = 2*MSL
    fin_timeout: int = attrs.field(default=60 * S, validator=_positive)  # tcp_fin_timeout (orphans)
    keepalive_time: int = attrs.field(default=7200 * S, validator=_positive)  # tcp_keepalive_time
    keepalive_intvl: int = attrs.field(default=75 * S, validator=_positive)  # tcp_keepalive_intvl
    keepalive_probes: int = attrs.field(default=9, validator=_positive)  # tcp_keepalive_probes
    window_scaling: bool = True  # tcp_window_scaling (RFC 7323 §2)
    timestamps: bool = True  # tcp_timestamps (RFC 7323 §3)
    sack: bool = True  # tcp_sack (RFC 2018)
    dsack: bool = True  # tcp_dsack (RFC 2883: report duplicate segments in the first SACK block)
    early_retrans: int = attrs.field(default=3, validator=_early_retrans)  # tcp_early_retrans: 3, 4 = TLP on
    recovery: int = attrs.field(default=1, validator=_recovery)  # tcp_recovery: 1 = RACK loss detection (RFC 8985)
    frto: int = attrs.field(default=2, validator=_frto)  # tcp_frto: F-RTO after a timeout (RFC 5682)
    congestion_control: str = attrs.field(default="cubic", validator=_congestion)
    hystart: bool = True  # tcp_cubic's hystart module parameter (both detectors: ACK train and delay)
    slow_start_after_idle: bool = True  # tcp_slow_start_after_idle (RFC 5681 §4.1's restart window)
    initial_cwnd: int = attrs.field(default=10, validator=_positive)  # segments, RFC 6928 / TCP_INIT_CWND
    rmem_default: int = attrs.field(default=131072, validator=_positive)  # tcp_rmem[1]
    rmem_max: int = attrs.field(default=6291456, validator=_positive)  # tcp_rmem[2]
    wmem_default: int = attrs.field(default=16384, validator=_positive)  # tcp_wmem[1]
    wmem_max: int = attrs.field(default=4194304, validator=_positive)  # tcp_wmem[2]
    # net.core.rmem_max / wmem_max: the most SO_RCVBUF / SO_SNDBUF may ask for (before doubling)
    core_rmem_max: int = attrs.field(default=212992, validator=_positive)
    core_wmem_max: int = attrs.field(default=212992, validator=_positive)
    moderate_rcvbuf: bool = True  # tcp_moderate_rcvbuf: receive-buffer autotuning (tcp_rcv_space_adjust)
    syncookies: int = attrs.field(default=1, validator=_syncookies)  # tcp_syncookies
    max_syn_backlog: int = attrs.field(default=1024, validator=_positive)  # tcp_max_syn_backlog (RAM-scaled)
    somaxconn: int = attrs.field(default=4096, validator=_positive)  # net.core.somaxconn
    abort_on_overflow: bool = False  # tcp_abort_on_overflow
    base_mss: int = attrs.field(default=536, validator=_positive)  # RFC 9293 §3.7.1 default send MSS

    def evolve(self, **changes: Any) -> TCPSettings:
        return attrs.evolve(self, **changes)
