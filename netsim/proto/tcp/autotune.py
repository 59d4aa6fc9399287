"""Linux's buffer autotuning, the arithmetic (``net/ipv4/tcp_input.c``, ``include/net/tcp.h``).

Linux sizes a socket's buffers in memory, not in payload: ``sk_rcvbuf`` and ``sk_sndbuf``
(``SO_RCVBUF`` / ``SO_SNDBUF`` doubled, ``tcp_rmem`` / ``tcp_wmem``) are compared with the
*truesize* of the queued skbs (payload plus the sk_buff, its head and shared info), and the
window a buffer can offer is ``tcp_win_from_space(space) = space * scaling_ratio >> 8``, where
``scaling_ratio`` is skb->len / skb->truesize in 1/256ths, measured on the first full-sized
segment (``tcp_measure_rcv_mss``; 128, i.e. 50 %, before that: ``TCP_DEFAULT_SCALING_RATIO``).

netsim has no skbs, so it takes one fixed ratio for every connection, both buffers and both
directions: :data:`SCALING_RATIO` = 162, what Linux 6.18 measures for a 1448-byte segment over
a veth pair (truesize 2280: ``tcp_rcvbuf_grow`` trace, ``scaling_ratio=162``; the send queue of
the same kernel holds 1448 bytes per 2280 of ``sk_wmem_queued``).  That is the oracle netsim is
compared with (``tests/oracles/test_linux_autotune.py``), so the windows come out as Linux's there:
the default 128 KiB buffer offers 82944 bytes, ``tcp_rmem[2]`` = 6 MiB offers 3981312.  Real NICs
give other ratios (Eric Dumazet's traces show 188 to 230), and a small segment has a smaller one;
a fixed ratio keeps the engine deterministic and the per-segment path free of divisions.  Queued
data is counted in payload bytes (``tcp_space`` = window of the buffer less the bytes waiting),
which is the same thing at that ratio.

Send side: ``tcp_sndbuf_expand`` sizes ``sk_sndbuf`` for twice the congestion window (CUBIC and
Reno have no ``sndbuf_expand`` hook: factor 2) in the worst case of one skb per segment, each
``roundup_pow_of_two(MSS + MAX_TCP_HEADER + shared info) + sk_buff`` bytes: 2304 for a 1460-byte
MSS on x86-64 (measured: 46080 = 2 x 10 x 2304 right after the handshake with CUBIC).
"""

from __future__ import annotations

TCP_RMEM_TO_WIN_SCALE = 8
SCALING_RATIO = 162  # skb->len / skb->truesize in 1/256ths (1448 / 2280 over veth, Linux 6.18)
TCP_INIT_CWND = 10
MAX_TCP_HEADER = 256  # L1_CACHE_ALIGN(128 + MAX_HEADER) on x86-64
SKB_SHARED_INFO = 320  # SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
SK_BUFF = 256  # SKB_DATA_ALIGN(sizeof(struct sk_buff))


def win_from_space(space: int) -> int:
    """``tcp_win_from_space``: the payload a buffer of ``space`` bytes of memory can hold."""
    return (space * SCALING_RATIO) >> TCP_RMEM_TO_WIN_SCALE


def space_from_win(win: int) -> int:
    """``tcp_space_from_win``: the memory ``win`` bytes of payload need."""
    return (win << TCP_RMEM_TO_WIN_SCALE) // SCALING_RATIO


def sndbuf_per_mss(mss: int) -> int:
    """The memory one segment costs in the send queue at worst (``tcp_sndbuf_expand``'s
    per_mss): its head is kmalloced in a power-of-two area."""
    size = mss + MAX_TCP_HEADER + SKB_SHARED_INFO
    return (1 << (size - 1).bit_length()) + SK_BUFF


def sndbuf_expanded(mss: int, cwnd_segments: int, reordering: int = 3) -> int:
    """``tcp_sndbuf_expand``'s target: room for 2 x max(TCP_INIT_CWND, cwnd, reordering + 1)
    segments (RFC 5681 §3.2: fast recovery can keep 1.7 windows queued; CUBIC and Reno keep
    the default factor 2)."""
    segments = cwnd_segments if cwnd_segments > TCP_INIT_CWND else TCP_INIT_CWND
    segments = max(segments, reordering + 1)
    return 2 * segments * sndbuf_per_mss(mss)


def rcv_rtt_update(old: int, sample_us: int, win_dep: bool, queue_empty: bool) -> int:
    """``tcp_rcv_rtt_update``: the receiver's RTT estimate, in 1/8 µs as Linux keeps it.
    A smaller sample is taken at once (the estimate seeks the minimum); a larger one is
    ignored when it came from the window (``win_dep``) or while unread data waits (the
    application, not the path, made it large), else smoothed by 1/8."""
    scaled = sample_us << 3
    if old == 0 or scaled < old:
        return scaled
    if win_dep or not queue_empty:
        return old
    return old - (old >> 3) + sample_us


def rcvbuf_grow_target(newval: int, oldval: int, ooo_span: int) -> int:
    """``tcp_rcvbuf_grow``'s window (before the memory conversion and the ``tcp_rmem[2]`` cap):
    twice what the application read in the last RTT (DRS is always one RTT late), plus twice the
    growth rate of that (the sender may double its rate in slow start), plus the span of the
    out-of-order queue."""
    rcvwin = newval << 1
    if oldval > 0 and newval > oldval:
        rcvwin += ((rcvwin * (newval - oldval)) // oldval) << 1
    return rcvwin + ooo_span


def offered_wscale(rmem_max: int, core_rmem_max: int, locked_rcvbuf: int | None) -> int:
    """The window scale a SYN offers (Linux's tcp_select_initial_window): from the largest
    buffer the connection could grow to (tcp_rmem[2], net.core.rmem_max) or, with SO_RCVBUF set
    (``locked_rcvbuf``, in memory units), from the window that buffer holds (window_clamp =
    tcp_full_space): 7 by default, 1 for SO_RCVBUF 64 KiB; at most 14 (RFC 7323 §2.3)."""
    space = max(rmem_max, core_rmem_max)
    if locked_rcvbuf is not None:
        space = min(space, win_from_space(locked_rcvbuf))
    return max(0, min(14, space.bit_length() - 16))
