"""Frames that did not come to our own MAC (Linux's pkt_type other than PACKET_HOST).

A datagram addressed to one of our unicast addresses can still arrive in a link-layer broadcast
or multicast frame.  Linux delivers it to UDP and ICMP, but TCP never sees it (tcp_v4_rcv and
tcp_v6_rcv discard it: RFC 1122 §4.2.3.10's rule, taken at the link layer too), no ICMP error
answers it (RFC 1122 §3.2.2, RFC 4443 §2.4 e.3; __icmp_send and icmp6_send check pkt_type), and
a router never forwards it (ip_forward, ip6_forward).  The same datagram in a unicast frame is
the control: there the port unreachable, the RST and the forwarding happen.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from netsim.sim.network import Network
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.tcp import TCPFlags, TCPSegment
from netsim.wire.udp import UDPDatagram
from tests.sim.topologies import two_routers

BROADCAST = b"\xff" * 6
IPV4_MULTICAST = b"\x01\x00\x5e\x00\x00\x01"  # 224.0.0.1's MAC: every host listens to it
IPV6_ALL_NODES = b"\x33\x33\x00\x00\x00\x01"  # ff02::1's MAC: every IPv6 host listens to it


def _pair(version: int) -> tuple[Network, Any, Any]:
    net = Network(3)
    a, b = net.add_host("a"), net.add_host("b")
    for host, address in ((a, "10.0.0.1/24" if version == 4 else "2001:db8::1/64"),
                          (b, "10.0.0.2/24" if version == 4 else "2001:db8::2/64")):
        host.add_interface("eth0")
        host.add_address("eth0", address)
    net.connect(a["eth0"], b["eth0"])
    return net, a, b


def _frame(version: int, mac: bytes, sender: Any, payload: UDPDatagram | TCPSegment) -> bytes:
    protocol = 17 if isinstance(payload, UDPDatagram) else 6
    if version == 4:
        data = IPv4Packet(src=IPv4Address("10.0.0.1"), dst=IPv4Address("10.0.0.2"), protocol=protocol,
                          payload=payload).to_bytes()
        return mac + sender["eth0"].mac.packed + b"\x08\x00" + data
    data = IPv6Packet(src=IPv6Address("2001:db8::1"), dst=IPv6Address("2001:db8::2"), next_header=protocol,
                      payload=payload).to_bytes()
    return mac + sender["eth0"].mac.packed + b"\x86\xdd" + data


def _macs(version: int, b: Any) -> list[tuple[str, bytes]]:
    return [("unicast", b["eth0"].mac.packed), ("broadcast", BROADCAST),
            ("multicast", IPV4_MULTICAST if version == 4 else IPV6_ALL_NODES)]


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("kind", ["unicast", "broadcast", "multicast"])
def test_udp_to_a_closed_port_answers_only_a_unicast_frame(version: int, kind: str) -> None:
    net, a, b = _pair(version)
    mac = dict(_macs(version, b))[kind]
    a["eth0"].transmit(_frame(version, mac, a, UDPDatagram(src_port=5000, dst_port=9, payload=b"x")))
    net.run("1s")
    assert b["eth0"].counters.drops["udp-no-socket"] == 1  # UDP saw it either way
    # the Destination Unreachable itself (over IPv6 neighbour discovery comes first)
    errors = [r for r in net.trace.select("rx", "a:eth0")
              if (r.fields["data"][23] == 1 if version == 4 else r.fields["data"][20] == 58
                  and r.fields["data"][54] == 1)]
    assert len(errors) == (1 if kind == "unicast" else 0)


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("kind", ["unicast", "broadcast", "multicast"])
def test_tcp_sees_only_frames_for_our_mac(version: int, kind: str) -> None:
    """A SYN to a closed port: a RST in answer to the unicast frame, nothing otherwise."""
    net, a, b = _pair(version)
    mac = dict(_macs(version, b))[kind]
    syn = TCPSegment(src_port=40000, dst_port=80, seq=1, flags=TCPFlags.SYN, window=1000)
    a["eth0"].transmit(_frame(version, mac, a, syn))
    net.run("1s")
    tcp_rx = [r for r in net.trace.select("rx", "a:eth0")
              if (r.fields["data"][23] == 6 if version == 4 else r.fields["data"][20] == 6)]
    if kind == "unicast":
        assert len(tcp_rx) == 1  # the RST
        assert "tcp-broadcast" not in b["eth0"].counters.drops
    else:
        assert tcp_rx == []
        assert b["eth0"].counters.drops["tcp-broadcast"] == 1
        assert b.tcp.counters.get("rst-sent", 0) == 0


@pytest.mark.parametrize("kind", ["unicast", "broadcast", "multicast"])
def test_a_router_forwards_only_frames_for_its_mac(kind: str) -> None:
    """A TTL-1 datagram through r1: Time Exceeded for the unicast frame, silence otherwise."""
    net, h1, r1, _r2, _h2 = two_routers(4)
    mac = {"unicast": r1["eth0"].mac.packed, "broadcast": BROADCAST, "multicast": IPV4_MULTICAST}[kind]
    data = IPv4Packet(src=IPv4Address("10.0.1.10"), dst=IPv4Address("10.0.2.20"), protocol=17,
                      payload=UDPDatagram(src_port=5000, dst_port=7, payload=b"x"), ttl=1).to_bytes()
    h1["eth0"].transmit(mac + h1["eth0"].mac.packed + b"\x08\x00" + data)
    net.run("1s")
    drops = r1["eth0"].counters.drops
    if kind == "unicast":
        assert drops["ttl-exceeded"] == 1 and r1["eth0"].counters.tx_frames >= 1  # Time Exceeded back
    else:
        assert drops["not-for-host"] == 1 and "ttl-exceeded" not in drops
        assert r1["eth0"].counters.tx_frames == 0


def test_every_ipv4_interface_is_in_the_all_hosts_group() -> None:
    """RFC 1112 §4 (Linux's ip_mc_up joins 224.0.0.1 on every IPv4 device): a datagram to
    224.0.0.1 reaches a socket on its port on every host of the link, and a host with no such
    socket drops it without an ICMP error (its IP destination is multicast)."""
    net = Network(5)
    switch = net.add_switch("sw", ports=3)
    hosts = [net.add_host(name) for name in ("a", "b", "c")]
    for index, host in enumerate(hosts):
        host.add_interface("eth0")
        host.add_address("eth0", f"10.0.0.{index + 1}/24")
        net.connect(host["eth0"], switch[f"p{index + 1}"])
    a, b, c = hosts
    assert IPv4Address("224.0.0.1") in b.groups["eth0"]
    a.add_route("224.0.0.0/4", dev="eth0")  # (as on Linux, a multicast send needs a route)
    heard: list[tuple[str, bytes]] = []

    def listen() -> Any:
        sock = b.socket("udp")
        sock.bind(("0.0.0.0", 9999))
        data, _peer = yield sock.recvfrom(100)
        heard.append(("b", data))

    def speak() -> Any:
        sock = a.socket("udp")
        yield sock.sendto(b"hello", ("224.0.0.1", 9999))

    net.process(listen())
    net.process(speak())
    net.run("1s")
    assert heard == [("b", b"hello")]
    assert c["eth0"].counters.drops["udp-no-socket"] == 1
    assert c["eth0"].counters.tx_frames == 0
