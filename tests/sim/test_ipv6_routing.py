"""IPv6 across routers: forwarding (RFC 8200 §3, Linux's ip6_forward), ICMPv6 errors sent within
RFC 4443 §2.4's rules and received by the sockets they concern, path MTU discovery (RFC 8201),
and ping and traceroute over IPv6."""

from __future__ import annotations

import errno
import socket
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest

from netsim.observe.capture import Capture
from netsim.sim.apps import ping, traceroute
from netsim.sim.ipv6 import icmpv6_errno, link_local_for
from netsim.sim.network import Network
from netsim.wire.icmpv6 import ICMPv6Echo
from tests.oracles.tshark import DEFECTS, tshark_fields

IPV6_RECVERR = 25  # Linux's value (not in Python's socket module)


def _routed(*, narrow: int = 1500, link_local_gateway: bool = False) -> tuple[Network, Any, Any, Any]:
    """a 2001:db8:1::10 --- r --- b 2001:db8:2::20; r's second link has MTU ``narrow``."""
    net = Network(3)
    a, r, b = net.add_host("a"), net.add_router("r"), net.add_host("b")
    a.add_interface("eth0")
    a.add_address("eth0", "2001:db8:1::10/64")
    r.add_interface("eth0")
    r.add_address("eth0", "2001:db8:1::1/64")
    r.add_interface("eth1", mtu=narrow)
    r.add_address("eth1", "2001:db8:2::1/64")
    b.add_interface("eth0")
    b.add_address("eth0", "2001:db8:2::20/64")
    if link_local_gateway:
        a.add_route("::/0", via=str(link_local_for(r["eth0"].mac)), dev="eth0")
    else:
        a.add_route("::/0", via="2001:db8:1::1")
    b.add_route("::/0", via="2001:db8:2::1")
    net.connect(a["eth0"], r["eth0"], delay="1ms")
    net.connect(r["eth1"], b["eth0"], delay="1ms")
    return net, a, r, b


def _bulk(net: Network, a: Any, b: Any, size: int) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def server() -> Any:
        listener = b.socket("tcp6")
        listener.bind(("::", 9000))
        listener.listen()
        conn, _peer = yield listener.accept()
        got = bytearray()
        while True:
            data = yield conn.recv(65536)
            if not data:
                break
            got += data
        out["got"] = bytes(got)

    def client() -> Any:
        sock = a.socket("tcp6")
        yield sock.connect(("2001:db8:2::20", 9000))
        out["mss_before"] = sock.conn.mss
        yield sock.sendall(bytes(range(256)) * (size // 256))
        out["mss_after"] = sock.conn.mss
        sock.close()

    net.process(server())
    net.process(client())
    net.run("5s")
    return out


def _recv_outcome(sock: Any) -> Any:
    """What a blocking recv ends with: the errno it fails with, or "timeout"."""
    try:
        yield sock.recv(100)
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return exc.errno
    return "data"


@pytest.mark.parametrize("link_local_gateway", [False, True])
def test_routers_forward_ipv6_with_the_hop_limit_one_less(link_local_gateway: bool) -> None:
    net, a, r, b = _routed(link_local_gateway=link_local_gateway)
    out = _bulk(net, a, b, 64 * 1024)
    assert out["got"] == bytes(range(256)) * 256
    assert out["mss_before"] == out["mss_after"] == 1500 - 40 - 20 - 12  # timestamps on
    assert r.counters["forwarded"] > 40
    seen: list[int] = []
    original = b.ip6.input

    def spy(iface: Any, data: bytes) -> None:
        seen.append(data[14 + 7])
        original(iface, data)

    b.ip6.input = spy
    a.send_ip(IPv6Address("2001:db8:1::10"), IPv6Address("2001:db8:2::20"), 58, ICMPv6Echo(128, 1, 1, b""))
    net.run("6s")
    assert seen == [63]  # sent with 64, one router on the way


def test_a_narrower_link_answers_packet_too_big_and_tcp_lowers_its_mss() -> None:
    """RFC 8200 §5: routers never fragment; RFC 4443 §3.2: Packet Too Big with the next link's
    MTU; RFC 8201 §4: the sender caches it and TCP sends smaller segments."""
    net, a, r, b = _routed(narrow=1400)
    out = _bulk(net, a, b, 100_000 // 256 * 256)
    assert out["got"] == bytes(range(256)) * (100_000 // 256)
    assert out["mss_before"] == 1428 and out["mss_after"] == 1400 - 40 - 20 - 12
    assert r["eth0"].counters.drops["packet-too-big"] >= 1
    entry = a.pmtu.entry(IPv6Address("2001:db8:2::20"), net.now)
    assert entry is not None and entry.mtu == 1400
    # Packet Too Big is never rate limited (icmpv6_xrlim_allow): one per dropped segment
    assert r.counters.get("icmp-ratelimited", 0) == 0


def test_a_packet_too_big_below_1280_is_taken_as_1280() -> None:
    """RFC 8201 §4: a node never lowers its PMTU estimate below the IPv6 minimum link MTU."""
    net, a, _r, _b = _routed()
    dst = IPv6Address("2001:db8:2::20")
    a.pmtu.update(dst, 600, net.now)
    assert a.pmtu.lookup(dst, net.now) == 1280


def test_traceroute_over_ipv6_names_each_router_by_the_interface_the_probe_came_in_on() -> None:
    net, a, _r, _b = _routed()
    result: dict[str, Any] = {}

    def run() -> Any:
        result["trace"] = yield from traceroute(a, "2001:db8:2::20", probes=2, timeout="1s")

    net.process(run())
    net.run("10s")
    trace = result["trace"]
    assert [hop.responders for hop in trace.hops] == [("2001:db8:1::1",) * 2, ("2001:db8:2::20",) * 2]
    assert trace.reached and not trace.hops[0].reached


def test_ping_over_ipv6_answers_and_prints_icmpv6_errors_as_iputils() -> None:
    net, a, r, _b = _routed()
    r.add_blackhole("2001:db8:66::/48")
    results: dict[str, Any] = {}

    def run(name: str, destination: str) -> Any:
        results[name] = yield from ping(a, destination, count=2, interval="100ms")

    net.process(run("ok", "2001:db8:2::20"))
    net.process(run("no-route", "2001:db8:99::1"))
    net.process(run("blackhole", "2001:db8:66::1"))
    net.run("10s")
    ok = results["ok"]
    assert ok.received == 2 and ok.lines[0].startswith("64 bytes from 2001:db8:2::20: icmp_seq=1 ttl=63")
    assert results["no-route"].lines == (
        "From 2001:db8:1::1 icmp_seq=1 Destination unreachable: No route",
        "From 2001:db8:1::1 icmp_seq=2 Destination unreachable: No route")
    assert results["no-route"].errors == ("ENETUNREACH", "ENETUNREACH")
    assert results["blackhole"].received == 0 and results["blackhole"].errors == ()  # silence
    assert r["eth0"].counters.drops["blackhole"] == 2


def test_hop_limit_exceeded_reaches_a_socket_with_ipv6_recverr_only() -> None:
    net, a, _r, _b = _routed()
    reports: list[Any] = []
    outcome: dict[str, Any] = {}

    def probe(recverr: bool) -> Any:
        sock = a.socket("udp6")
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 1)
        if recverr:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        sock.connect(("2001:db8:2::20", 7))
        sock.settimeout("500ms")
        yield sock.send(b"x")
        outcome[recverr] = yield from _recv_outcome(sock)
        reports.extend(sock.error_queue)

    net.process(probe(True))
    net.process(probe(False))
    net.run("2s")
    # Time Exceeded is not fatal (icmpv6_err_convert): without the error queue it is not reported
    assert outcome == {True: errno.EHOSTUNREACH, False: "timeout"}
    assert [(x.offender, x.type, x.code, x.original_dst, x.original_dst_port) for x in reports] == [
        ("2001:db8:1::1", 3, 0, "2001:db8:2::20", 7)]


def test_a_closed_udp_port_answers_port_unreachable_and_a_connected_socket_gets_econnrefused() -> None:
    net, a, _r, b = _routed()
    outcome: dict[str, Any] = {}

    def client(connected: bool) -> Any:
        sock = a.socket("udp6")
        sock.settimeout("1s")
        if connected:
            sock.connect(("2001:db8:2::20", 9999))
            yield sock.send(b"anyone?")
        else:
            yield sock.sendto(b"anyone?", ("2001:db8:2::20", 9999))
        outcome[connected] = yield from _recv_outcome(sock)

    net.process(client(True))
    net.process(client(False))
    net.run("3s")
    assert outcome == {True: errno.ECONNREFUSED, False: "timeout"}
    assert b["eth0"].counters.drops["udp-no-socket"] == 2


def test_no_icmpv6_error_about_a_multicast_destination_or_an_error() -> None:
    """RFC 4443 §2.4 (e.1) and (e.2)."""
    net, a, _r, b = _routed()
    sent: list[Any] = []
    original = b.ip6.send

    def spy(src: Any, dst: Any, next_header: int, payload: Any, **kw: Any) -> int:
        if next_header == 58 and payload.type < 128:
            sent.append(payload)
        return original(src, dst, next_header, payload, **kw)

    b.ip6.send = spy
    sock = b.socket("udp6")
    sock.bind(("::", 5000))

    def run() -> Any:
        out = a.socket("udp6")
        yield out.sendto(b"to all nodes", ("ff02::1%eth0", 9))  # (a's own link: nobody there but r)
        yield out.sendto(b"closed", ("2001:db8:2::20", 9))
    net.process(run())
    net.run("1s")
    assert len(sent) == 1 and sent[0].code == 4  # the unicast one only
    # an error quoting an ICMPv6 error is never answered with another
    quoted_error = b.ip6  # the stack itself
    offending = bytes(sent[0].original)
    assert offending[6] == 17
    before = len(sent)
    error_packet = bytearray(offending[:40]) + sent[0].to_bytes(src=IPv6Address("2001:db8:1::10"),
                                                                 dst=IPv6Address("2001:db8:2::20"))
    error_packet[6] = 58
    quoted_error.icmp_error(bytes(error_packet), sent[0], b["eth0"])
    assert len(sent) == before


def test_a_link_local_source_is_not_forwarded_beyond_its_link() -> None:
    """RFC 4291 §2.5.6; Linux's ip6_forward answers Destination Unreachable, beyond scope."""
    net, a, r, _b = _routed()
    own = str(link_local_for(a["eth0"].mac))
    reports: list[Any] = []

    def run() -> Any:
        sock = a.socket("udp6")
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        sock.bind((f"{own}%eth0", 0))
        sock.settimeout("1s")
        yield sock.sendto(b"from fe80", ("2001:db8:2::20", 7))
        reports.append((yield sock.recv_error()))

    net.process(run())
    net.run("2s")
    assert [(x.type, x.code) for x in reports] == [(1, 2)]
    assert reports[0].offender == str(link_local_for(r["eth0"].mac))  # answered from its link-local address
    assert r["eth0"].counters.drops["ipv6-beyond-scope"] == 1


def test_a_neighbour_that_never_answers_gives_address_unreachable() -> None:
    net, a, r, b = _routed()
    b["eth0"].set_up(False)
    reports: list[Any] = []

    def run() -> Any:
        sock = a.socket("udp6")
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        sock.settimeout("10s")
        yield sock.sendto(b"hello?", ("2001:db8:2::20", 7))
        reports.append((yield sock.recv_error()))
        reports.append(net.now)

    net.process(run())
    net.run("10s")
    report, when = reports
    assert (report.offender, report.type, report.code) == ("2001:db8:1::1", 1, 3)
    assert 3_000_000_000 <= when < 4_000_000_000  # RFC 4861 §7.2.2: three solicitations a second apart
    assert r["eth1"].counters.drops["ndp-failed"] == 1


def test_icmpv6_errors_are_rate_limited_per_destination_but_packet_too_big_is_not() -> None:
    net, a, r, _b = _routed()

    def flood() -> Any:
        sock = a.socket("udp6")
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 1)
        for port in range(100):
            yield sock.sendto(b"x", ("2001:db8:2::20", 33434 + port))

    net.process(flood())
    net.run("1s")
    limited = r.icmp_limiter.limited_host
    answered = r["eth0"].counters.drops["hop-limit-exceeded"] - limited
    assert limited > 0 and answered + limited == 100
    assert r.icmp_limiter.is_limited(2, 0, icmpv6=True) is False
    assert r.icmp_limiter.is_limited(128, 0, icmpv6=True) is False
    assert r.icmp_limiter.is_limited(1, 4, icmpv6=True) is True


def test_icmpv6_errnos_are_linux_icmpv6_err_convert() -> None:
    assert icmpv6_errno(1, 0) == (errno.ENETUNREACH, False)
    assert icmpv6_errno(1, 1) == (errno.EACCES, True)
    assert icmpv6_errno(1, 3) == (errno.EHOSTUNREACH, False)
    assert icmpv6_errno(1, 4) == (errno.ECONNREFUSED, True)
    assert icmpv6_errno(1, 99) == (errno.EPROTO, True)
    assert icmpv6_errno(2, 0) == (errno.EMSGSIZE, False)
    assert icmpv6_errno(3, 0) == (errno.EHOSTUNREACH, False)
    assert icmpv6_errno(4, 1) == (errno.EPROTO, True)


def test_ipv6_routes_are_checked_like_ip_route() -> None:
    _net, a, _r, _b = _routed()
    with pytest.raises(ValueError, match="not of the family"):
        a.add_route("2001:db8:7::/48", via="10.0.0.1")
    with pytest.raises(ValueError, match="needs an interface"):
        a.add_route("2001:db8:7::/48", via="fe80::1")
    with pytest.raises(ValueError, match="not on a connected network"):
        a.add_route("2001:db8:7::/48", via="2001:db8:5::1")
    route = a.add_route("2001:db8:7::/48", via="2001:db8:1::1", metric=5)
    assert route.interface == "eth0" and route.gateway == IPv6Address("2001:db8:1::1")


def test_a_ping_socket_for_ipv6_takes_only_echo_requests_and_ipv6_peers() -> None:
    _net, a, _r, _b = _routed()
    sock = a.socket("icmp6")
    with pytest.raises(OSError) as caught:
        sock.sendto(ICMPv6Echo(129, 0, 1, b"", checksum=0).to_bytes(), ("2001:db8:2::20", 0))
    assert caught.value.errno == errno.EINVAL
    with pytest.raises(OSError) as caught:
        sock.sendto(ICMPv6Echo(128, 0, 1, b"", checksum=0).to_bytes(), ("::ffff:10.0.0.1", 0))
    assert caught.value.errno == errno.EINVAL


@pytest.mark.tshark
def test_tshark_reads_the_icmpv6_errors_and_their_quotes_with_good_checksums(tmp_path: Path) -> None:
    net, a, _r, b = _routed(narrow=1400)
    pcap = tmp_path / "a.pcap"
    capture = Capture([a["eth0"]], path=str(pcap))
    _bulk(net, a, b, 20_000 // 256 * 256)

    def run() -> Any:
        yield from traceroute(a, "2001:db8:2::20", probes=1, timeout="1s")
        yield from ping(a, "2001:db8:99::1", count=1)

    net.process(run())
    net.run("15s")
    capture.close()
    # tshark checks the TCP checksum of the segment a Packet Too Big quotes as if the quote were
    # the whole segment (its inner Payload Length says 1460, only 1192 bytes are quoted): it calls
    # each one bad, as it would in a Linux capture. Everything else must be clean, and the
    # ICMPv6 errors' own checksums good.
    assert tshark_fields(pcap, ["frame.number"], f"({DEFECTS}) && !(icmpv6.type < 128)") == []
    assert tshark_fields(pcap, ["frame.number"], "icmpv6.type < 128 && (_ws.malformed || "
                                                 "icmpv6.checksum.status != \"Good\")") == []
    rows = tshark_fields(pcap, ["icmpv6.type", "icmpv6.code", "icmpv6.mtu", "ipv6.src"], "icmpv6.type < 128")
    # (occurrence=a: the quoted packet's fields follow the outer ones; the first is the error's own)
    kinds = {tuple(cell.split(",")[0] for cell in row) for row in rows}
    assert ("2", "0", "1400", "2001:db8:1::1") in kinds  # Packet Too Big, MTU 1400
    assert ("3", "0", "", "2001:db8:1::1") in kinds  # Time Exceeded
    assert ("1", "4", "", "2001:db8:2::20") in kinds  # Port Unreachable
    assert ("1", "0", "", "2001:db8:1::1") in kinds  # No route
    # every error's quote is the start of the offending packet, within 1280 bytes in all
    lengths = tshark_fields(pcap, ["ipv6.plen"], "icmpv6.type == 2")
    assert lengths and all(row[0].split(",")[0] == str(1280 - 40) for row in lengths)


def test_the_connection_view_follows_an_ipv6_path_through_the_router() -> None:
    from netsim.observe.views import connection_view

    net, a, _r, b = _routed(link_local_gateway=True)
    views: list[Any] = []

    def server() -> Any:
        listener = b.socket("tcp6")
        listener.bind(("::", 9000))
        listener.listen()
        yield listener.accept()

    def client() -> Any:
        sock = a.socket("tcp6")
        yield sock.connect(("2001:db8:2::20", 9000))
        views.append(connection_view(net, sock))

    net.process(server())
    net.process(client())
    net.run("1s")
    [view] = views
    assert view.complete
    assert [o.observer for o in view.observations] == [
        "a socket", "a:eth0 out", "r:eth0 in", "r:eth1 out", "b:eth0 in", "b socket"]
    assert {(str(o.src), str(o.dst), o.dport) for o in view.observations} == {
        ("2001:db8:1::10", "2001:db8:2::20", 9000)}


def _routed4(narrow: int) -> tuple[Network, Any, Any, Any]:
    net = Network(4)
    a, r, b = net.add_host("a"), net.add_router("r"), net.add_host("b")
    for host, iface, address, mtu in ((a, "eth0", "10.1.0.10/24", 1500), (r, "eth0", "10.1.0.1/24", 1500),
                                      (r, "eth1", "10.2.0.1/24", narrow), (b, "eth0", "10.2.0.20/24", 1500)):
        host.add_interface(iface, mtu=mtu)
        host.add_address(iface, address)
    a.add_route("0.0.0.0/0", via="10.1.0.1")
    b.add_route("0.0.0.0/0", via="10.2.0.1")
    net.connect(a["eth0"], r["eth0"], delay="1ms")
    net.connect(r["eth1"], b["eth0"], delay="1ms")
    return net, a, r, b


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("when", ["before-connect", "mid-connection"])
def test_tcp_takes_a_path_mtu_another_socket_learned(family: int, when: str) -> None:
    """Linux's tcp_sync_mss: a connection starts from the route cache's path MTU, and follows it
    when another socket's datagram lowers it mid-connection; without that its segments would be
    refused by its own host (EMSGSIZE) for ever."""
    net, a, _r, b = _routed(narrow=1400) if family == 6 else _routed4(narrow=1400)
    server_ip = "2001:db8:2::20" if family == 6 else "10.2.0.20"
    overhead = 60 if family == 6 else 40
    out: dict[str, Any] = {}

    def learn() -> Any:
        # a datagram too big for r's second link: "packet too big" / "fragmentation needed"
        probe = a.socket("udp6" if family == 6 else "udp")
        if family == 4:
            probe.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
        yield probe.sendto(bytes(1500 - overhead + 12), (server_ip, 9))
        yield net.env.timeout(10_000_000)

    def server() -> Any:
        listener = b.socket("tcp6" if family == 6 else "tcp")
        listener.bind(("::" if family == 6 else "0.0.0.0", 9000))
        listener.listen()
        conn, _peer = yield listener.accept()
        got = 0
        while True:
            data = yield conn.recv(65536)
            if not data:
                break
            got += len(data)
        out["got"], out["done_at"] = got, net.now

    def client() -> Any:
        if when == "before-connect":
            yield from learn()
        sock = a.socket("tcp6" if family == 6 else "tcp")
        yield sock.connect((server_ip, 9000))
        out["mss_at_connect"] = sock.conn.mss
        if when == "mid-connection":
            yield from learn()
        out["sent_at"] = net.now
        yield sock.sendall(bytes(100_000))
        out["mss"] = sock.conn.mss
        sock.close()

    net.process(server())
    net.process(client())
    net.run("5s")
    assert out["got"] == 100_000
    assert out["mss"] == 1400 - overhead - 12
    assert out["mss_at_connect"] == (1400 if when == "before-connect" else 1500) - overhead - 12
    assert out["done_at"] - out["sent_at"] < 200_000_000  # no retransmission timeout on the way


def test_flows_carry_one_flow_label_each_as_linux_auto_flowlabels() -> None:
    """RFC 6437 §3: every packet of a flow carries the same nonzero 20-bit label; a TCP
    connection's two directions are two flows (each end's own label), another flow another."""
    net, a, _r, b = _routed()
    labels: dict[tuple[str, str, int], set[int]] = {}
    for host in (a, b):
        original = host.ip6.input

        def spy(iface: Any, data: bytes, original: Any = original) -> None:
            if data[14 + 6] in (6, 17):  # TCP or UDP
                src, dst = str(IPv6Address(data[22:38])), str(IPv6Address(data[38:54]))
                sport = int.from_bytes(data[54:56], "big")
                labels.setdefault((src, dst, sport), set()).add(int.from_bytes(data[15:18], "big") & 0xFFFFF)
            original(iface, data)

        host.ip6.input = spy
    _bulk(net, a, b, 20_000 // 256 * 256)

    def udp() -> Any:
        sock = a.socket("udp6")
        for _ in range(3):
            yield sock.sendto(b"x", ("2001:db8:2::20", 7))
        other = a.socket("udp6")
        yield other.sendto(b"x", ("2001:db8:2::20", 7))

    net.process(udp())
    net.run("6s")
    flows = {key: value for key, value in labels.items()}
    assert len(flows) == 4  # TCP each way, two UDP flows
    assert all(len(seen) == 1 and 0 not in seen for seen in flows.values())
    assert len({next(iter(seen)) for seen in flows.values()}) == 4


# --- what a review found (each once a bug) -------------------------------------------------------


def _inject(net: Network, host: Any, data: bytes, *, mac: bytes | None = None) -> None:
    """Send IPv6 ``data`` out of ``host``'s eth0 to the router, once its MAC is known (or to ``mac``)."""

    def go() -> Any:
        host.ip6.send(IPv6Address("2001:db8:1::10"), IPv6Address("2001:db8:2::20"), 59, b"")  # resolve r
        yield net.env.timeout(100_000_000)
        target = mac if mac is not None else host.neighbors["eth0"].lookup(IPv6Address("2001:db8:1::1"), net.now).packed
        host["eth0"].transmit(target + host["eth0"].mac.packed + b"\x86\xdd" + data)

    net.process(go())


@pytest.mark.parametrize("extension", [False, True])
def test_no_error_about_an_icmpv6_error_even_behind_an_extension_header(extension: bool) -> None:
    """RFC 4443 §2.4 (e.1), with the extension headers skipped as Linux's is_ineligible does."""
    from netsim.wire.icmpv6 import ICMPv6DestUnreachable
    from netsim.wire.ipv6 import IPv6DestinationOptions, IPv6Packet

    net, a, r, _b = _routed()
    error = ICMPv6DestUnreachable(4, original=bytes(48)).to_bytes(src=IPv6Address("2001:db8:1::10"),
                                                                   dst=IPv6Address("2001:db8:2::20"))
    packet = IPv6Packet(src=IPv6Address("2001:db8:1::10"), dst=IPv6Address("2001:db8:2::20"), next_header=58,
                        payload=error, hop_limit=1, extensions=(IPv6DestinationOptions(),) if extension else ())
    _inject(net, a, packet.to_bytes())
    net.run("2s")
    assert r["eth0"].counters.drops["hop-limit-exceeded"] == 1
    assert r.icmp_limiter.limited_host == 0 and r["eth0"].counters.tx_frames <= 2  # (the NDP answer only)


def test_no_port_unreachable_for_a_datagram_that_came_as_a_link_layer_broadcast() -> None:
    """RFC 4443 §2.4 (e.3); Linux's icmp6_send refuses for pkt_type != PACKET_HOST."""
    from netsim.wire.ipv6 import IPv6Packet
    from netsim.wire.udp import UDPDatagram

    net = Network(2)
    a, b = net.add_host("a"), net.add_host("b")
    for host, address in ((a, "2001:db8:1::10/64"), (b, "2001:db8:1::20/64")):
        host.add_interface("eth0")
        host.add_address("eth0", address)
    net.connect(a["eth0"], b["eth0"])
    src, dst = IPv6Address("2001:db8:1::10"), IPv6Address("2001:db8:1::20")
    datagram = UDPDatagram(src_port=5000, dst_port=9, payload=b"x")
    data = IPv6Packet(src=src, dst=dst, next_header=17, payload=datagram).to_bytes()
    a["eth0"].transmit(b"\xff" * 6 + a["eth0"].mac.packed + b"\x86\xdd" + data)
    net.run("1s")
    assert b["eth0"].counters.drops["udp-no-socket"] == 1
    assert b["eth0"].counters.tx_frames == 0  # no Destination Unreachable


def test_a_packet_too_big_about_no_segment_of_ours_changes_no_path_mtu() -> None:
    """Linux's tcp_v6_err checks the quoted segment is in flight before it touches the route
    (RFC 5927 §4.1); netsim's TCP copies the host's path MTU into new connections, so a stray
    report must not get there."""
    from netsim.wire.icmpv6 import ICMPv6PacketTooBig
    from netsim.wire.ipv6 import IPv6Packet
    from netsim.wire.tcp import TCPSegment

    net, a, r, _b = _routed()
    server, client = IPv6Address("2001:db8:2::20"), IPv6Address("2001:db8:1::10")
    quoted = IPv6Packet(src=client, dst=server, next_header=6,
                        payload=TCPSegment(40000, 9000, seq=1, flags=0x10)).to_bytes()
    r.ip6.send(IPv6Address("2001:db8:1::1"), client, 58, ICMPv6PacketTooBig(1300, quoted))
    net.run("1s")
    assert a.pmtu.entry(server, net.now) is None


def test_icmpv6_messages_carry_flow_labels_but_neighbour_discovery_none() -> None:
    """Linux labels what icmp6_send and ping send (auto_flowlabels); ndisc_send_skb labels nothing."""
    net, a, _r, _b = _routed()
    seen: dict[int, set[int]] = {}
    original = a.ip6.input

    def spy(iface: Any, data: bytes) -> None:
        if data[14 + 6] == 58:
            seen.setdefault(data[54], set()).add(int.from_bytes(data[15:18], "big") & 0xFFFFF)
        original(iface, data)

    a.ip6.input = spy

    def run() -> Any:
        sock = a.socket("udp6")
        yield sock.sendto(b"x", ("2001:db8:2::20", 9))  # a closed port: Destination Unreachable
        yield net.env.timeout(100_000_000)
        yield from ping(a, "2001:db8:2::20", count=1)

    net.process(run())
    net.run("3s")
    assert 0 not in seen[1] and 0 not in seen[129]  # the error and the echo reply
    assert seen[136] == {0}  # the router's Neighbor Advertisement
