"""Bad frames never raise out of a device: any bytes into a host, a router or a switch are dropped
and counted with a reason, or handled."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.sim.network import Network
from tests import strategies as S
from tests import strategies_ipv6 as S6


def _devices() -> tuple[Network, list]:  # type: ignore[type-arg]
    net = Network(0)
    host, router, switch = net.add_host("h"), net.add_router("r"), net.add_switch("s", ports=2)
    for node, address in ((host, "10.0.0.1/24"), (router, "10.0.0.254/24")):
        node.add_interface("eth0")
        node.add_address("eth0", address)
    router.add_interface("eth1")
    router.add_address("eth1", "192.0.2.1/24")
    net.connect(host["eth0"], switch["p1"])
    net.connect(router["eth0"], switch["p2"])
    return net, [host["eth0"], router["eth0"], router["eth1"], switch["p1"]]


@settings(max_examples=200)
@given(frames=st.lists(st.one_of(st.binary(max_size=120), S.any_ethernet_frames.map(lambda f: f.to_bytes())),
                       min_size=1, max_size=5))
def test_any_bytes_into_any_device_never_raise(frames: list[bytes]) -> None:
    net, ports = _devices()
    for data in frames:
        for port in ports:
            port.receive(data)
            port.receive(port.mac.packed + data[6:])  # the same bytes addressed to this device
    net.run(until="5s")
    total = sum(sum(p.counters.drops.values()) + p.counters.rx_frames for p in ports)
    assert total >= 2 * len(frames) * len(ports)


def _ipv6_devices() -> tuple[Network, list]:  # type: ignore[type-arg]
    """A host and a router running IPv6 (the router forwards it), on one link and beyond."""
    net = Network(0)
    host, router, far = net.add_host("h"), net.add_router("r"), net.add_host("f")
    for node, iface, address in ((host, "eth0", "2001:db8:1::10/64"), (router, "eth0", "2001:db8:1::1/64"),
                                 (router, "eth1", "2001:db8:2::1/64"), (far, "eth0", "2001:db8:2::20/64")):
        node.add_interface(iface, mtu=1280 if node is far else 1500)
        node.add_address(iface, address)
    host.add_route("::/0", via="2001:db8:1::1")
    far.add_route("::/0", via="2001:db8:2::1")
    net.connect(host["eth0"], router["eth0"])
    net.connect(router["eth1"], far["eth0"])
    return net, [host["eth0"], router["eth0"], router["eth1"]]


_KNOWN = ["2001:db8:1::10", "2001:db8:1::1", "2001:db8:2::1", "2001:db8:2::20", "2001:db8:3::1", "fe80::1", "ff02::1"]


@settings(max_examples=200)
@given(packets=st.lists(S6.ipv6_packets(decoded=False), min_size=1, max_size=4),
       addresses=st.lists(st.tuples(st.sampled_from(_KNOWN), st.sampled_from(_KNOWN)), min_size=4, max_size=4),
       cut=st.integers(0, 80), flip=st.integers(0, 200))
def test_any_ipv6_packet_into_a_host_or_a_router_never_raises(packets: list, addresses: list, cut: int,  # type: ignore[type-arg]
                                                              flip: int) -> None:
    """IPv6 datagrams of every shape (extension headers, fragments, any next header and hop
    limit), between addresses the devices know or route, whole, cut short or with a byte
    flipped: forwarded, answered with ICMPv6 errors, or dropped and counted, never raised."""
    from ipaddress import IPv6Address

    import attrs

    net, ports = _ipv6_devices()
    sent = 0
    for packet, (src, dst) in zip(packets, addresses, strict=False):
        data = attrs.evolve(packet, src=IPv6Address(src), dst=IPv6Address(dst)).to_bytes()
        variants = [data, data[: max(1, len(data) - cut)]]
        if flip < len(data):
            variants.append(data[:flip] + bytes([data[flip] ^ 0xFF]) + data[flip + 1:])
        for variant in variants:
            for port in ports:
                port.receive(port.mac.packed + b"\x02\x00\x00\x00\x00\x99\x86\xdd" + variant)
                sent += 1
    net.run(until="5s")
    total = sum(sum(p.counters.drops.values()) + p.counters.rx_frames for p in ports)
    assert total >= sent


@settings(max_examples=200)
@given(messages=st.lists(S6.icmpv6_messages, min_size=1, max_size=4))
def test_any_icmpv6_message_from_a_neighbour_never_raises(messages: list) -> None:  # type: ignore[type-arg]
    """Router advertisements and solicitations, neighbour discovery and errors of every shape
    (any option, prefix length, lifetime), sent as a neighbour would — link-local source, hop
    limit 255, to all nodes — into a host that autoconfigures and a router that advertises."""
    from ipaddress import IPv6Address

    from netsim.sim.ipv6 import link_local_for, multicast_mac
    from netsim.wire.ipv6 import IPv6Packet

    net, ports = _ipv6_devices()
    host, router = ports[0].node, ports[1].node
    host.autoconfigure("eth0")
    router.advertise("eth0")
    group = IPv6Address("ff02::1")
    for message in messages:
        for port, peer in ((ports[0], ports[1]), (ports[1], ports[0])):
            data = IPv6Packet(src=link_local_for(peer.mac), dst=group, next_header=58, payload=message,
                              hop_limit=255).to_bytes()
            port.receive(multicast_mac(group) + peer.mac.packed + b"\x86\xdd" + data)
    net.run(until="30s")


_FRAGMENT_SOURCES = ["2001:db8:2::20", "2001:db8:1::1", "fe80::1", "2001:db8:3::1"]


@settings(max_examples=150)
@given(fragments=st.lists(st.tuples(st.integers(0, 8191), st.booleans(), st.integers(0, 2),
                                    st.sampled_from([6, 17, 58, 59, 0, 44, 60, 253]), st.binary(max_size=120),
                                    st.sampled_from(_FRAGMENT_SOURCES), st.integers(0, 3)),
                          min_size=1, max_size=12),
       size=st.integers(0, 5000), mtu=st.integers(1280, 1500), order=st.randoms(use_true_random=False),
       keep=st.integers(0, 3))
def test_any_fragments_into_a_host_never_raise(fragments: list, size: int, mtu: int, order: Any,  # type: ignore[type-arg]
                                              keep: int) -> None:
    """IPv6 fragments of any offset, M flag, identification, next header and length (RFC 8200
    §4.5), and the real fragments of a datagram shuffled, duplicated, some lost, some cut: into
    a host and a router, over more than the 60 s reassembly timeout, are reassembled, answered
    with ICMPv6 errors, or dropped and counted, never raised."""
    from ipaddress import IPv6Address

    from netsim.proto.fragment6 import fragment_ipv6
    from netsim.wire.ipv6 import IPv6Fragment, IPv6Packet
    from netsim.wire.udp import UDPDatagram

    net, ports = _ipv6_devices()
    host = IPv6Address("2001:db8:1::10")
    crafted = []
    for offset, more, ident, next_header, data, src, hops in fragments:
        fragment = IPv6Fragment(offset=offset, more_fragments=more, identification=ident)
        encoded = bytearray(IPv6Packet(src=IPv6Address(src), dst=host, next_header=253, payload=data,
                                       hop_limit=64 - hops, extensions=(fragment,)).to_bytes())
        encoded[40] = next_header  # (the Fragment header's Next Header: anything, extension headers too)
        crafted.append(bytes(encoded))
    whole = IPv6Packet(src=IPv6Address("2001:db8:2::20"), dst=host, next_header=17,
                       payload=UDPDatagram(src_port=7, dst_port=9, payload=bytes(size))).to_bytes()
    pieces = fragment_ipv6(whole, mtu, 1)
    pieces = [piece for index, piece in enumerate(pieces * 2) if index % 4 != keep]
    pieces.append(pieces[0][: max(48, len(pieces[0]) // 2)] if pieces else b"")
    order.shuffle(pieces)
    sent = 0
    for when, batch in ((0, crafted + pieces[::2]), (30, pieces[1::2] + crafted[::3])):
        net.run(f"{when}s")
        for data in batch:
            for port in ports[:2]:
                port.receive(port.mac.packed + b"\x02\x00\x00\x00\x00\x99\x86\xdd" + data)
                sent += 1
    net.run("200s")
    total = sum(sum(p.counters.drops.values()) + p.counters.rx_frames for p in ports)
    assert total >= sent
    host_node = ports[0].node
    assert len(host_node.ip6.reassembler) == 0 and host_node.ip6.reassembler.memory == 0
