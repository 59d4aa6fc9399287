"""The small network the report tests draw: h1 -- sw1 -- r1 -- h2, a TCP echo and a UDP exchange."""

from __future__ import annotations

from typing import Any

from netsim.observe.capture import Capture
from netsim.sim.apps import udp_echo_server
from netsim.sim.network import Network
from netsim.sim.records import Impairments
from netsim.sim.tcp_apps import tcp_client, tcp_echo_server


def udp_client(host: Any, address: tuple[str, int], message: bytes, results: dict[str, Any]) -> Any:
    sock = host.socket("udp")
    yield sock.sendto(message, address)
    data, sender = yield sock.recvfrom(2048)
    results["udp"] = {"sent": len(message), "received": len(data), "from": f"{sender[0]}:{sender[1]}"}
    sock.close()


def small_network(seed: int = 7, *, h1_name: str = "h1", size: int = 1000,
                  impairments: Impairments | None = None) -> tuple[Network, dict[str, Any], Capture]:
    """h1 10.0.1.10 -- sw1 -- r1 (10.0.1.1 | 10.0.2.1) -- h2 10.0.2.20, run to completion;
    ``impairments`` go on the r1--h2 link."""
    net = Network(seed)
    h1, h2 = net.add_host(h1_name), net.add_host("h2")
    sw = net.add_switch("sw1")
    r1 = net.add_router("r1")
    h1.add_interface("eth0")
    h1.add_address("eth0", "10.0.1.10/24")
    h1.set_default_gateway("10.0.1.1")
    h2.add_interface("eth0")
    h2.add_address("eth0", "10.0.2.20/24")
    h2.set_default_gateway("10.0.2.1")
    r1.add_interface("eth0")
    r1.add_address("eth0", "10.0.1.1/24")
    r1.add_interface("eth1")
    r1.add_address("eth1", "10.0.2.1/24")
    sw.add_interface("p1")
    sw.add_interface("p2")
    net.connect(h1["eth0"], sw["p1"], rate="100Mbps", delay="1ms")
    net.connect(sw["p2"], r1["eth0"], rate="1Gbps", delay="100us")
    net.connect(r1["eth1"], h2["eth0"], rate="10Mbps", delay="5ms", impairments=impairments)
    capture = Capture(h2["eth0"], "tcp or udp")
    results: dict[str, Any] = {}
    net.process(tcp_echo_server(h2, 7, connections=1))
    net.process(udp_echo_server(h2, 9))

    def run_client() -> Any:
        results["tcp"] = yield net.process(tcp_client(h1, ("10.0.2.20", 7), size=size))

    net.process(run_client())
    net.process(udp_client(h1, ("10.0.2.20", 9), b"hello udp", results))
    net.run(until="5s")
    return net, results, capture


def nat_network(seed: int = 3, *, size: int = 100) -> Network:
    """h1 192.168.1.10 -- nat1 (inside eth0 | outside eth1 203.0.113.1) -- h2 203.0.113.10, one TCP echo."""
    net = Network(seed)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    nat = net.add_nat_router("nat1")
    h1.add_interface("eth0")
    h1.add_address("eth0", "192.168.1.10/24")
    h1.set_default_gateway("192.168.1.1")
    h2.add_interface("eth0")
    h2.add_address("eth0", "203.0.113.10/24")
    h2.set_default_gateway("203.0.113.1")
    nat.add_interface("eth0")
    nat.add_address("eth0", "192.168.1.1/24")
    nat.add_interface("eth1")
    nat.add_address("eth1", "203.0.113.1/24")
    nat.enable_nat(inside="eth0", outside="eth1")
    net.connect(h1["eth0"], nat["eth0"], rate="100Mbps", delay="1ms")
    net.connect(nat["eth1"], h2["eth0"], rate="100Mbps", delay="2ms")
    net.process(tcp_echo_server(h2, 7, connections=1))
    net.process(tcp_client(h1, ("203.0.113.10", 7), size=size))
    net.run(until="2s")
    return net
