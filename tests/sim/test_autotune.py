"""Buffer autotuning on a long fat path: with Linux's defaults (tcp_rmem[1] = 128 KiB,
tcp_wmem[1] = 16 KiB) a bulk transfer over 1 Gbps with a 50 ms RTT moves far more than 128 KiB
per round trip, because the receiver's buffer grows with the read rate (tcp_rcv_space_adjust) and
the sender's with its congestion window (tcp_sndbuf_expand); with autotuning off and a send
buffer locked at the old size it cannot.
"""

from __future__ import annotations

import socket
from typing import Any

from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.network import Network
from netsim.sim.tcp_apps import ServerStats, bulk_send, bulk_sink

SIZE = 12_000_000
RTT = 50_000_000


def _long_fat_path(settings: TCPSettings | None = None, sndbuf: int | None = None) -> dict[str, Any]:
    net = Network(1)
    kwargs = {"tcp": settings} if settings is not None else {}
    a, b = net.add_host("a", **kwargs), net.add_host("b", **kwargs)
    for host, address in ((a, "10.0.0.1/24"), (b, "10.0.0.2/24")):
        host.add_interface("eth0")
        host.add_address("eth0", address)
    net.connect(a["eth0"], b["eth0"], rate="1Gbps", delay="25ms", queue_packets=4000)
    stats = ServerStats()
    net.process(bulk_sink(b, 5001, stats=stats))
    sender = net.process(bulk_send(a, ("10.0.0.2", 5001), SIZE, sndbuf=sndbuf))
    seen = {"window": 0, "flight": 0, "rcvbuf": 0, "sndbuf": 0}

    def watch() -> Any:
        while not sender.triggered or stats.bytes_received < SIZE:
            yield net.env.timeout(1_000_000)
            for sock in a.tcp.connections.values():
                if sock.conn is not None:
                    seen["flight"] = max(seen["flight"], sock.conn.flight)
                    seen["sndbuf"] = max(seen["sndbuf"], sock.conn.sk_sndbuf)
            for sock in b.tcp.connections.values():
                if sock.conn is not None:
                    seen["window"] = max(seen["window"], sock.conn.rcv_wnd)
                    seen["rcvbuf"] = max(seen["rcvbuf"], sock.conn.sk_rcvbuf)
            if net.now > 60_000_000_000:
                return

    net.process(watch())
    net.run("70s")
    assert stats.bytes_received == SIZE
    seen["seconds"] = sender.value.finished_at / 1e9
    return seen


def test_a_long_fat_path_moves_far_more_than_128_kib_per_rtt() -> None:
    seen = _long_fat_path()
    assert seen["window"] > 2_000_000  # the receiver's window grew from 64 KiB to megabytes
    assert seen["flight"] > 1_000_000  # and the sender used it: > 1 MB in flight in one 50 ms RTT
    assert seen["rcvbuf"] > 131072 and seen["sndbuf"] > 1_000_000
    assert seen["seconds"] < 1.5  # 12 MB in well under 1.5 s (at 128 KiB per RTT: 4.6 s)


def test_without_autotuning_a_long_fat_path_is_held_at_the_buffer() -> None:
    """tcp_moderate_rcvbuf = 0 and a send buffer locked by SO_SNDBUF: the old ceiling."""
    seen = _long_fat_path(TCPSettings(moderate_rcvbuf=False), sndbuf=65536)
    assert seen["window"] <= 82944 and seen["rcvbuf"] == 131072
    assert seen["flight"] <= 82944
    assert seen["seconds"] > 0.95 * SIZE / 82944 * RTT / 1e9


def test_so_rcvbuf_and_so_sndbuf_are_capped_by_net_core_rmem_max_and_wmem_max() -> None:
    """Linux's sock_setsockopt: min(value, net.core.rmem_max / wmem_max) (212992), doubled;
    the tcp_rmem / tcp_wmem maximums are for autotuning only."""
    net = Network(1)
    host = net.add_host("a")
    sock = host.socket("tcp")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 30)
    assert sock.rcvbuf == sock.sndbuf == 2 * 212992
    other = net.add_host("b", tcp=TCPSettings(core_rmem_max=1 << 20)).socket("tcp")
    other.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 30)
    assert other.rcvbuf == 2 << 20


def test_the_offered_window_scale_follows_a_locked_buffer() -> None:
    """tcp_select_initial_window: 7 from tcp_rmem[2] (6 MB); with SO_RCVBUF the scale that the
    buffer's window needs: 64 KiB (82944 bytes of window) -> 1."""
    from netsim.proto.tcp.autotune import offered_wscale

    assert offered_wscale(6291456, 212992, None) == 7
    assert offered_wscale(33554432, 212992, None) == 10
    assert offered_wscale(6291456, 212992, 2 * 65536) == 1
    assert offered_wscale(6291456, 212992, 2 * 212992) == 3
    assert offered_wscale(6291456, 212992, 4096) == 0
