"""RACK (RFC 8985 §6, Linux's default loss detection with SACK) in a simulated network: a link
that reorders a few segments by less than a quarter of the RTT costs a spurious retransmission
only until reordering is seen, where the duplicate threshold (``tcp_recovery = 0``) resends
on every reordering; and what ``info()`` reports of it (TCP_INFO's min_rtt, reordering,
reord_seen)."""

from __future__ import annotations

from typing import Any

from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.network import Network
from netsim.sim.records import Impairments
from netsim.sim.tcp_apps import ServerStats, bulk_sink

SIZE = 2_000_000


def _transfer(recovery: int) -> tuple[dict[str, Any], int]:
    net = Network(7)
    settings = TCPSettings(recovery=recovery, rmem_default=1 << 20, wmem_default=1 << 20)
    a, b = net.add_host("a", tcp=settings), net.add_host("b", tcp=settings)
    for host, address in ((a, "10.0.0.1/24"), (b, "10.0.0.2/24")):
        host.add_interface("eth0")
        host.add_address("eth0", address)
    # 100 Mbps, 10 ms each way; 2% of frames 1 ms late (about 8 segments' worth)
    net.connect(a["eth0"], b["eth0"], rate="100Mbps", delay="10ms", queue_packets=1000,
                impairments=Impairments(reorder=0.02, reorder_delay="1ms"))
    stats = ServerStats()
    net.process(bulk_sink(b, 5001, stats=stats))
    info: dict[str, Any] = {}

    def sender() -> Any:
        sock = a.socket("tcp")
        yield sock.connect(("10.0.0.2", 5001))
        yield sock.sendall(bytes(SIZE))
        yield net.env.timeout(10_000_000_000)  # all of it acknowledged by then
        info.update(sock.info())
        sock.close()

    net.process(sender())
    net.run("30s")
    assert stats.bytes_received == SIZE and info
    return info, net.links[0].forward.counters.reordered


def test_rack_stops_resending_once_reordering_is_seen() -> None:
    rack, reordered = _transfer(recovery=1)
    dupthresh, reordered_too = _transfer(recovery=0)
    assert reordered >= 20 and reordered_too >= 20  # (about 2% of either run's frames)
    assert rack["reord_seen"] >= 1 and rack["reordering"] > 3
    assert rack["retransmits"] <= 3  # the first reordering or two, before it was seen
    assert dupthresh["retransmits"] >= 3 * rack["retransmits"] + 10
    assert dupthresh["reord_seen"] == 0 and dupthresh["lost_retransmits"] == rack["lost_retransmits"] == 0


def test_info_reports_the_least_rtt() -> None:
    rack, _ = _transfer(recovery=1)
    assert 20_000_000 <= rack["min_rtt"] < 21_000_000  # 2 x 10 ms plus serialisation
