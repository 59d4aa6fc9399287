"""A host hands the receiving host its own TCP segment beside the frame's bytes (to spare the
decode): it must be exactly what decoding those bytes gives, and never outlive a corruption."""

from __future__ import annotations

from typing import Any

import pytest

from netsim.sim.records import Impairments
from netsim.sim.tcp_apps import ServerStats, bulk_send, bulk_sink
from netsim.wire.fastpath import decode_ipv4_tcp_packet
from tests.sim.topologies import two_hosts


@pytest.mark.pure_python  # (it replaces Interface.receive on two interfaces)
def test_the_decoded_segment_is_what_the_bytes_decode_to() -> None:
    net, h1, h2 = two_hosts(impairments=Impairments(loss=0.02, corrupt=0.05, duplicate=0.02, reorder=0.02))
    seen: list[tuple[bytes, Any]] = []
    for host in (h1, h2):
        iface = host["eth0"]
        receive = iface.receive

        def spy(data: bytes, decoded: Any = None, as_sent: bool = False, receive: Any = receive) -> None:
            seen.append((data, decoded))
            receive(data, decoded, as_sent)

        iface.receive = spy
    stats = ServerStats()
    net.process(bulk_sink(h2, 5001, stats=stats))
    net.process(bulk_send(h1, ("10.0.0.2", 5001), 200_000))
    net.run("60s")
    assert stats.bytes_received == 200_000
    hinted = [(data, decoded) for data, decoded in seen if decoded is not None]
    assert len(hinted) > 100
    for data, decoded in hinted:
        packet = decode_ipv4_tcp_packet(data)
        assert packet is not None and packet.payload == decoded
    link = net.links[0]
    corrupted = link.forward.counters.corrupted + link.backward.counters.corrupted
    assert corrupted > 0
    assert sum(1 for _data, decoded in seen if decoded is None) >= corrupted  # ARP frames have none either
