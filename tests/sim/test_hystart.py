"""CUBIC's HyStart (Linux tcp_cubic.c, on by default): slow start ends before the first loss.

Two detectors: an ACK train (ACKs no more than 2 ms apart) lasting more than half the least RTT
plus an offload cushion of at most 1 ms, which fires early on short paths, as on Linux; and a
round whose least RTT exceeds the least RTT by clamp(delay_min / 8, 4 ms, 16 ms), which fires
when a queue builds on longer ones.  Either sets ssthresh to cwnd.
"""

from __future__ import annotations

from typing import Any

import pytest

from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.network import Network
from netsim.sim.tcp_apps import ServerStats, bulk_send, bulk_sink


def _slow_start(rate: str, delay: str, *, hystart: bool = True) -> tuple[dict[str, Any], Any, int]:
    net = Network(1)
    settings = TCPSettings(rmem_default=4 << 20, wmem_default=4 << 20, hystart=hystart)
    a, b = net.add_host("a", tcp=settings), net.add_host("b", tcp=settings)
    for host, address in ((a, "10.0.0.1/24"), (b, "10.0.0.2/24")):
        host.add_interface("eth0")
        host.add_address("eth0", address)
    net.connect(a["eth0"], b["eth0"], rate=rate, delay=delay, queue_packets=2000)
    stats = ServerStats()
    net.process(bulk_sink(b, 5001, stats=stats))
    net.process(bulk_send(a, ("10.0.0.2", 5001), 3_000_000))
    seen: dict[str, Any] = {}

    def watch() -> Any:
        while not seen:
            yield net.env.timeout(1_000_000)
            for sock in a.tcp.connections.values():
                conn = sock.conn
                if conn is not None and getattr(conn.cc, "hystart_exit", None):
                    seen.update(ms=net.now // 1_000_000, cwnd=conn.cwnd // conn.mss, how=conn.cc.hystart_exit,
                                ssthresh=conn.ssthresh // conn.mss, delay_min=conn.cc.delay_min)

    net.process(watch())
    net.run("20s")
    assert stats.bytes_received == 3_000_000
    return seen, net.links[0].forward.counters, net.now


def test_an_ack_train_ends_slow_start_early_on_a_short_path() -> None:
    """1 Gbps, 1 ms: RTT 2 ms, so the gap between one flight's ACKs and the next is under
    2 ms and the train outlasts (2 ms + 1 ms) / 2 in the second round of 16+ segments."""
    seen, counters, _end = _slow_start("1Gbps", "1ms")
    assert seen["how"] == "train" and seen["ssthresh"] == seen["cwnd"] == 20
    assert 2000 <= seen["delay_min"] < 2100 and counters.queue_drops == 0


def test_a_growing_queue_ends_slow_start_on_a_longer_path() -> None:
    """10 Mbps, 20 ms: ACKs 2.4 ms apart (no train); the queue builds until a round's least
    RTT is 5 ms (delay_min / 8) above the least, long before the 2000-frame queue overflows."""
    seen, counters, _end = _slow_start("10Mbps", "20ms")
    assert seen["how"] == "delay" and 60 <= seen["cwnd"] <= 100
    assert counters.queue_drops == 0 and counters.lost == 0


@pytest.mark.parametrize("rate", ["1Gbps", "10Mbps"])
def test_without_hystart_slow_start_runs_on(rate: str) -> None:
    seen, _counters, _end = _slow_start(rate, "1ms" if rate == "1Gbps" else "20ms", hystart=False)
    assert seen == {}
