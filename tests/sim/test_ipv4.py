"""Fragmentation across a 576-byte link, reassembly, PMTUD with DF (RFC 791, 1191; Linux's
IP_MTU_DISCOVER modes)."""

from __future__ import annotations

import socket

from netsim.observe.capture import Capture
from netsim.sim.sockets import IP_MTU_DISCOVER, IP_PMTUDISC_DONT
from netsim.wire import EthernetFrame, IPv4Packet
from tests.sim.topologies import two_routers

PATTERN = bytes(range(256)) * 16


def _exchange(net, h1, h2, sizes: list[int], pmtudisc: int | None = None):  # type: ignore[no-untyped-def]
    """h1 sends datagrams of ``sizes`` 100 ms apart; returns the process collecting what h2 got."""
    server = h2.socket("udp")
    server.bind(("0.0.0.0", 9000))
    server.settimeout("1s")
    client = h1.socket("udp")
    if pmtudisc is not None:
        client.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, pmtudisc)

    def send():  # type: ignore[no-untyped-def]
        for size in sizes:
            yield client.sendto(PATTERN[:size], ("10.0.2.20", 9000))
            yield net.env.timeout(100_000_000)

    def receive():  # type: ignore[no-untyped-def]
        got = []
        while True:
            try:
                got.append((yield server.recv(65535)))
            except TimeoutError:
                return got

    net.process(send())
    return net.process(receive())


def _ip_headers(capture: Capture) -> list[tuple[int, int, bool, bool]]:
    out = []
    for record in capture.records:
        payload = EthernetFrame.parse(record.data, decode=False).payload
        packet = IPv4Packet.parse(payload, decode=False)  # type: ignore[arg-type]
        out.append((len(packet.to_bytes()), packet.fragment_offset, packet.more_fragments, packet.dont_fragment))
    return out


def test_router_fragments_for_a_576_byte_link_and_the_host_reassembles() -> None:
    net, h1, r1, _r2, h2 = two_routers(middle_mtu=576)
    middle = Capture(r1["eth1"], "udp or (ip and not icmp)", direction="out")
    received = _exchange(net, h1, h2, [1400], pmtudisc=IP_PMTUDISC_DONT)
    net.run()
    # 1408 bytes of UDP cut at multiples of 8 that fit 576 - 20: 552 + 552 + 304 (RFC 791)
    assert _ip_headers(middle) == [(572, 0, True, False), (572, 69, True, False), (324, 138, False, False)]
    assert received.value == [PATTERN[:1400]]


def test_pmtud_frag_needed_lowers_the_path_mtu_then_the_host_fragments() -> None:
    net, h1, r1, _r2, h2 = two_routers(middle_mtu=576)
    errors = Capture(h1["eth0"], "icmp", direction="in")
    leaving = Capture(h1["eth0"], "udp or (ip and not icmp)", direction="out")
    received = _exchange(net, h1, h2, [1000, 1000])
    net.run()
    # the first datagram fit h1's link, so it left with DF (IP_PMTUDISC_WANT) and died at r1 ...
    assert r1["eth0"].counters.drops["fragmentation-needed"] == 1
    assert [line.split(" ", 1)[1] for line in errors.lines()] == [
        "IP 10.0.1.1 > 10.0.1.10: ICMP 10.0.1.10 unreachable - need to frag (mtu 576), length 556"
    ]
    # ... which taught h1 the path MTU: the second left in fragments it made itself, without DF
    assert h1.pmtu.lookup(h2["eth0"].ipv4[0].ip, net.now) == 576
    assert _ip_headers(leaving) == [(1028, 0, False, True), (572, 0, True, False), (476, 69, False, False)]
    assert received.value == [PATTERN[:1000]]


def test_reassembly_of_many_fragments_delivers_the_datagram_once() -> None:
    net, h1, _r1, _r2, h2 = two_routers(middle_mtu=576)
    h1.pmtu.update(h2["eth0"].ipv4[0].ip, 576, 0)  # as if PMTUD had already run
    arriving = Capture(h2["eth0"], "ip", direction="in")
    received = _exchange(net, h1, h2, [3000])
    net.run()
    assert received.value == [PATTERN[:3000]]
    assert arriving.count == 6  # 3008 bytes of UDP in 552-byte pieces


def test_ping_to_the_host_itself_goes_through_loopback() -> None:
    from netsim.sim.apps import ping

    net, h1, _r1, _r2, _h2 = two_routers()
    loopback = Capture(h1["lo"], "icmp")
    process = net.process(ping(h1, "10.0.1.10", count=1))
    net.run()
    assert process.value.received == 1 and process.value.rtts[0] == 0
    assert loopback.count == 4  # request and reply, each seen going out and coming in on lo
    assert h1["eth0"].counters.tx_frames == 0


def test_an_incomplete_datagram_times_out_with_icmp_reassembly_time_exceeded() -> None:
    from netsim.wire import UDPDatagram

    net, h1, _r1, _r2, h2 = two_routers()
    whole = IPv4Packet(src=h1["eth0"].ipv4[0].ip, dst=h2["eth0"].ipv4[0].ip, protocol=17, identification=99,
                       payload=UDPDatagram(src_port=5000, dst_port=9000, payload=bytes(2000)))
    from netsim.proto.fragment import fragment_ipv4

    first, *_rest = fragment_ipv4(whole, 576)  # only the first fragment is ever sent
    route = h1.route_to(first.dst)
    assert route is not None
    h1._output(first, route, h1["eth0"])
    errors = Capture(h1["eth0"], "icmp", direction="in")
    net.run()
    assert [line.split(" ", 1)[1] for line in errors.lines()] == [
        "IP 10.0.2.20 > 10.0.1.10: ICMP ip reassembly time exceeded, length 556"
    ]
    assert errors.records[0].timestamp_ns > 30_000_000_000  # net.ipv4.ipfrag_time
