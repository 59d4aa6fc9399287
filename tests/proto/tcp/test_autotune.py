"""Linux's buffer autotuning in the engine alone, time passed in (netsim.proto.tcp.autotune).

The receive buffer grows with what the application reads per RTT (dynamic right-sizing,
tcp_rcv_space_adjust / tcp_rcvbuf_grow), not when it does not read, not when SO_RCVBUF locked it
or tcp_moderate_rcvbuf is off, never past tcp_rmem[2]; the send buffer grows with the congestion
window (tcp_sndbuf_expand) unless SO_SNDBUF locked it.
"""

from __future__ import annotations

from netsim.proto.tcp.autotune import (
    rcv_rtt_update,
    rcvbuf_grow_target,
    sndbuf_expanded,
    sndbuf_per_mss,
    space_from_win,
    win_from_space,
)
from netsim.proto.tcp.settings import MS, TCPSettings
from tests.proto.tcp.harness import App, Pair, Wire

SIZE = 3 << 20


def _transfer(*, read: bool = True, size: int = SIZE, settings_b: TCPSettings | None = None,
              b_kwargs: dict[str, int] | None = None, a_kwargs: dict[str, int] | None = None,
              until: int = 30_000 * MS) -> tuple[Pair, App]:
    """A sends ``size`` bytes to B over a 1 Gbps path with a 20 ms RTT; B's application reads
    everything as it comes (or nothing)."""
    pair = Pair(Wire(delay=10 * MS, rate_bps=1_000_000_000), settings_b=settings_b)
    pair.b_kwargs = b_kwargs or {}
    pair.connect(**(a_kwargs or {}))
    App(pair, "a", bytes(size), shutdown=False)
    reader = App(pair, "b", read=read)
    pair.run(until, stop=lambda: len(reader.got) >= size)
    return pair, reader


def _windows(pair: Pair) -> list[int]:
    """The windows B advertised after the handshake, in bytes."""
    assert pair.b is not None
    return [seg.window << pair.b.rcv_wscale for _t, who, seg in pair.log if who == "B>" and not seg.flags & 0x02]


def test_the_arithmetic_is_linuxs() -> None:
    """The numbers of a tcp_rcvbuf_grow trace of Linux 6.18 over veth (scaling_ratio 162): the
    first measurement read 68056 bytes after a first guess of 14480, giving sk_rcvbuf 1806759 and
    window_clamp 1143339; the default 128 KiB buffer offers 82944, tcp_rmem[2] = 6 MiB 3981312."""
    assert space_from_win(rcvbuf_grow_target(68056, 14480, 0)) == 1806759
    assert win_from_space(1806759) == 1143339
    assert win_from_space(131072) == 82944
    assert win_from_space(6291456) == 3981312
    # tcp_sndbuf_expand right after the handshake (IW10, MSS 1460): 2 x 10 x 2304
    assert sndbuf_per_mss(1460) == 2304
    assert sndbuf_expanded(1460, 10) == 46080
    assert sndbuf_expanded(1460, 100) == 460800


def test_the_receivers_rtt_seeks_the_minimum() -> None:
    """tcp_rcv_rtt_update (1/8 us): a smaller sample is taken at once; a larger one from the
    window is ignored, from a timestamp smoothed by 1/8 unless unread data waits."""
    first = rcv_rtt_update(0, 1000, True, True)
    assert first == 8000
    assert rcv_rtt_update(first, 500, True, True) == 4000
    assert rcv_rtt_update(first, 2000, True, True) == first
    assert rcv_rtt_update(first, 2000, False, True) == first - first // 8 + 2000
    assert rcv_rtt_update(first, 2000, False, False) == first


def test_the_receive_buffer_grows_with_the_read_rate() -> None:
    pair, reader = _transfer()
    b = pair.b
    assert b is not None and len(reader.got) == SIZE
    assert b.rcv_rtt_us8 >> 3 >= 20_000  # the receiver measured the 20 ms RTT (and what queues add)
    assert b.sk_rcvbuf > 131072 and b.rcvbuf.capacity == win_from_space(b.sk_rcvbuf)
    windows = _windows(pair)
    assert windows[0] == 65280  # as before: the SYN-ACK's 65160 (rounded up to the scale unit), then growing
    assert max(windows) > 4 * 131072  # far past the fixed 128 KiB buffer of before
    assert max(windows) <= win_from_space(6291456) + 128


def test_the_window_stops_at_the_default_buffer_when_the_application_does_not_read() -> None:
    pair, _reader = _transfer(read=False, until=5_000 * MS)
    b = pair.b
    assert b is not None
    assert b.sk_rcvbuf == 131072 and b.rcvbuf.capacity == 82944
    assert 82944 - 128 < b.recv_q <= 82944  # the buffer filled (to the scale unit), and the window closed
    assert b.rcv_wnd < 128
    assert max(_windows(pair)) <= 82944


def test_so_rcvbuf_locks_the_buffer() -> None:
    """SOCK_RCVBUF_LOCK: a reader as fast as before, but the buffer the application chose stays."""
    pair, reader = _transfer(b_kwargs={"rcvbuf": 2 * 65536}, size=1 << 20)
    b = pair.b
    assert b is not None and len(reader.got) == 1 << 20
    assert b.rcvbuf_locked and b.sk_rcvbuf == 131072 and b.rcvbuf.capacity == 82944
    assert max(_windows(pair)) <= 82944


def test_moderate_rcvbuf_off_keeps_the_buffer() -> None:
    pair, reader = _transfer(settings_b=TCPSettings(moderate_rcvbuf=False), size=1 << 20)
    b = pair.b
    assert b is not None and len(reader.got) == 1 << 20
    assert b.sk_rcvbuf == 131072 and max(_windows(pair)) <= 82944


def test_the_buffer_stops_at_rmem_max() -> None:
    settings = TCPSettings(rmem_max=1 << 20)
    pair, reader = _transfer(settings_b=settings)
    b = pair.b
    assert b is not None and len(reader.got) == SIZE
    assert b.sk_rcvbuf == 1 << 20 and b.rcvbuf.capacity == win_from_space(1 << 20)
    assert max(_windows(pair)) <= win_from_space(1 << 20) + (1 << b.rcv_wscale)


def test_the_send_buffer_grows_with_the_congestion_window() -> None:
    pair, _reader = _transfer()
    a = pair.a
    assert a is not None
    # tcp_wmem[1] = 16 KiB, at once 2 x IW10 segments (tcp_init_buffer_space), then with cwnd
    assert a.sk_sndbuf > 10 * 46080
    assert a.sndbuf.capacity == -(-win_from_space(a.sk_sndbuf) // a.mss) * a.mss  # whole segments
    assert a.sk_sndbuf <= sndbuf_expanded(1460, max(a.cwnd, a.max_packets_out * a.mss) // a.mss + 1)


def test_the_send_buffer_starts_at_two_initial_windows() -> None:
    pair = Pair(Wire(delay=10 * MS))
    pair.connect()
    pair.run(100 * MS)
    assert pair.a is not None and pair.a.sk_sndbuf == 46080
    assert pair.a.sndbuf.capacity == 21 * 1448  # 46080 holds 20 skbs of 2280 bytes, and a 21st may start


def test_so_sndbuf_locks_the_send_buffer() -> None:
    pair, _reader = _transfer(a_kwargs={"sndbuf": 2 * 65536}, size=1 << 20)
    a = pair.a
    assert a is not None and a.sndbuf_locked and a.sk_sndbuf == 131072


def test_no_growth_before_an_rtt_has_passed() -> None:
    """tcp_rcv_space_adjust measures once per RTT of the receiver's estimate: reads within the
    first RTT of the transfer change nothing, however much they read."""
    pair, _reader = _transfer(until=25 * MS, size=1 << 20)
    b = pair.b
    assert b is not None and b.recv_q == 0 and b.rcv_nxt != 0
    assert b.sk_rcvbuf == 131072
