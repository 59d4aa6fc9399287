"""IPv6 fragmentation at the source and reassembly at the destination (RFC 8200 §4.5), end to
end through hosts and a router: what Linux's ip6_fragment sends, what ipv6_frag_rcv does with
good and bad fragments, and the ICMPv6 errors that come back."""

from __future__ import annotations

import errno
import socket
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest

from netsim.observe.capture import Capture
from netsim.sim.apps import ping
from netsim.sim.network import Network
from netsim.wire.icmpv6 import ICMPv6Message, ICMPv6ParameterProblem, ICMPv6TimeExceeded
from netsim.wire.ipv6 import IPv6Fragment, IPv6Packet
from netsim.wire.udp import UDPDatagram
from tests.oracles.tshark import defects, tshark_fields

IPV6_RECVERR, IPV6_DONTFRAG = 25, 62  # Linux's values (not in Python's socket module)
A, B = "2001:db8:1::10", "2001:db8:2::20"
MESSAGE = bytes(range(256)) * 15 + bytes(160)  # 4000 bytes


def _routed(narrow: int = 1500) -> tuple[Network, Any, Any, Any]:
    """a 2001:db8:1::10 --- r --- b 2001:db8:2::20; r's second link has MTU ``narrow``."""
    net = Network(11)
    a, r, b = net.add_host("a"), net.add_router("r"), net.add_host("b")
    for node, iface, address, mtu in ((a, "eth0", f"{A}/64", 1500), (r, "eth0", "2001:db8:1::1/64", 1500),
                                      (r, "eth1", "2001:db8:2::1/64", narrow), (b, "eth0", f"{B}/64", 1500)):
        node.add_interface(iface, mtu=mtu)
        node.add_address(iface, address)
    a.add_route("::/0", via="2001:db8:1::1")
    b.add_route("::/0", via="2001:db8:2::1")
    net.connect(a["eth0"], r["eth0"], delay="1ms")
    net.connect(r["eth1"], b["eth0"], delay="1ms")
    return net, a, r, b


def _fragments(capture: Capture, src: str) -> list[tuple[int, int, bool, int]]:
    """(IPv6 length, offset in 8-byte units, M, identification) of each fragment from ``src``."""
    found = []
    for record in capture.records:
        data = record.data
        if data[12:14] != b"\x86\xdd" or IPv6Address(data[22:38]) != IPv6Address(src):
            continue
        fragment = IPv6Packet.parse(data[14:], decode=False).fragment
        if fragment is not None:
            found.append((len(data) - 14, fragment.offset, fragment.more_fragments, fragment.identification))
    return found


def _server(net: Network, b: Any, got: list[bytes], *, echo: bool = True) -> None:
    """A UDP server on b's port 9000 that keeps what it gets (and sends it back, with ``echo``)."""
    def server() -> Any:
        sock = b.socket("udp6")
        sock.bind(("::", 9000))
        while True:
            data, peer = yield sock.recvfrom(70000)
            got.append(data)
            if echo:
                yield sock.sendto(data, peer)

    net.process(server())


def _exchange(net: Network, a: Any, sizes: list[int], out: dict[str, Any], *, dontfrag: bool = False) -> None:
    """a sends datagrams of ``sizes`` to b's echo port, 100 ms apart: what each send and
    recv gave (the errno name on failure)."""
    def client() -> Any:
        sock = a.socket("udp6")
        sock.settimeout("50ms")
        if dontfrag:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1)
        for size in sizes:
            try:
                yield sock.sendto(MESSAGE * (size // 4000) + MESSAGE[: size % 4000], (B, 9000))
                data, _peer = yield sock.recvfrom(70000)
                out.setdefault("echo", []).append(len(data))
            except TimeoutError:
                out.setdefault("echo", []).append("timeout")
            except OSError as exc:
                out.setdefault("echo", []).append(errno.errorcode[exc.errno or 0])
            yield net.env.timeout(100_000_000)

    net.process(client())


@pytest.mark.tshark
def test_4000_bytes_of_udp_over_1500_go_as_three_fragments_both_ways(tmp_path: Path) -> None:
    """ip6_fragment: 1448 bytes a fragment over a 1500-byte link, offsets 0/181/362, M on all but
    the last, one identification; the router forwards them unchanged; tshark reassembles them
    without a defect."""
    net, a, _r, b = _routed()
    pcap = tmp_path / "frag6.pcap"
    near, far = Capture(a["eth0"], "ip6"), Capture(b["eth0"], "ip6", path=pcap)
    got: list[bytes] = []
    out: dict[str, Any] = {}
    _server(net, b, got)
    _exchange(net, a, [4000], out)
    net.run("1s")
    far.close()
    assert got == [MESSAGE] and out["echo"] == [4000]
    there, back = _fragments(far, A), _fragments(far, B)
    assert [f[:3] for f in there] == [f[:3] for f in back] == [(1496, 0, True), (1496, 181, True), (1160, 362, False)]
    assert len({f[3] for f in there}) == 1 and len({f[3] for f in back}) == 1 and there[0][3] != back[0][3]
    # forwarded unchanged, but for the hop limit
    source = IPv6Address(A).packed
    sent = [rec.data[14:] for rec in near.records if rec.data[20] == 44 and rec.data[22:38] == source]
    received = [rec.data[14:] for rec in far.records if rec.data[20] == 44 and rec.data[22:38] == source]
    assert [s[:7] + s[8:] for s in sent] == [x[:7] + x[8:] for x in received] and received[0][7] == sent[0][7] - 1
    rows = tshark_fields(pcap, ["ipv6.fraghdr.offset", "ipv6.fraghdr.more", "udp.length", "data.len"], "ipv6.fraghdr")
    assert [row[:2] for row in rows] == [["0", "1"], ["181", "1"], ["362", "0"]] * 2
    assert rows[2][2:] == rows[5][2:] == ["4008", "4000"]  # reassembled by tshark
    assert defects(pcap) == []


def test_after_packet_too_big_the_next_datagram_is_cut_for_1280() -> None:
    """RFC 8201 §4 and §5.2: the first datagram's too-big fragments draw Packet Too Big (1280)
    and are lost; the next is cut to the path MTU: 1232 bytes a fragment."""
    net, a, r, b = _routed(narrow=1280)
    far = Capture(b["eth0"], "ip6")
    got: list[bytes] = []
    out: dict[str, Any] = {}
    _server(net, b, got)
    _exchange(net, a, [4000, 4000], out)
    net.run("1s")
    assert out["echo"] == ["timeout", 4000] and got == [MESSAGE]
    assert r["eth0"].counters.drops["packet-too-big"] == 2  # (the third fragment fits and waits in vain at b)
    sizes = [f[:3] for f in _fragments(far, A)]
    assert sizes == [(1160, 362, False), (1280, 0, True), (1280, 154, True), (1280, 308, True), (360, 462, False)]
    assert a.pmtu.lookup(IPv6Address(B), net.now) == 1280


def test_ipv6_dontfrag_still_fails_with_emsgsize_and_sends_nothing() -> None:
    net, a, _r, b = _routed()
    out: dict[str, Any] = {}
    _exchange(net, a, [4000, 1452], out, dontfrag=True)
    net.run("1s")
    assert out["echo"] == ["EMSGSIZE", "timeout"]  # (nothing listens: the datagram that fits is refused at b)
    assert b["eth0"].counters.drops["udp-no-socket"] == 1


def test_udp_over_ipv6_takes_65527_bytes_fragmented_and_refuses_one_more() -> None:
    net, a, _r, b = _routed()
    got: list[bytes] = []
    out: dict[str, Any] = {}
    _server(net, b, got)
    _exchange(net, a, [65527, 65528], out)
    net.run("1s")
    assert out["echo"] == [65527, "EMSGSIZE"] and len(got[0]) == 65527
    assert b.ip6.reassembler.reassembled == 1 and a.ip6.reassembler.reassembled == 1


@pytest.mark.parametrize("destination", [B, A])
def test_an_echo_request_over_65535_bytes_is_emsgsize_even_to_ourselves(destination: str) -> None:
    net, a, _r, _b = _routed()
    result: dict[str, Any] = {}

    def run() -> Any:
        result["ping"] = yield from ping(a, destination, count=1, size=65528)

    net.process(run())
    net.run("2s")
    assert result["ping"].errors == ("EMSGSIZE",)


def test_ping_with_3000_bytes_over_ipv6_is_fragmented_both_ways() -> None:
    net, a, _r, _b = _routed()
    near = Capture(a["eth0"], "ip6")
    result: dict[str, Any] = {}

    def run() -> Any:
        result["ping"] = yield from ping(a, B, count=2, size=3000, interval="100ms")

    net.process(run())
    net.run("2s")
    assert result["ping"].received == 2
    assert result["ping"].lines[0].startswith(f"3008 bytes from {B}: icmp_seq=1 ttl=63")
    assert [f[:3] for f in _fragments(near, A)] == [f[:3] for f in _fragments(near, B)] == [
        (1496, 0, True), (1496, 181, True), (160, 362, False)] * 2  # (3008 bytes of ICMPv6)


def _errors_at(a: Any) -> list[tuple[int, ICMPv6Message]]:
    """The ICMPv6 errors ``a`` receives from now on, with when."""
    seen: list[tuple[int, ICMPv6Message]] = []
    original = a.ip6._error_input

    def spy(packet: Any, message: Any, iface: Any) -> None:
        seen.append((a.network.now, message))
        original(packet, message, iface)

    a.ip6._error_input = spy
    return seen


def _lose(b: Any, offset: int) -> None:
    """Make b lose every arriving fragment with this offset (in 8-byte units)."""
    original = b.ip6.input

    def lossy(iface: Any, data: bytes) -> None:
        if data[20] == 44 and int.from_bytes(data[56:58], "big") >> 3 == offset:
            return
        original(iface, data)

    b.ip6.input = lossy


@pytest.mark.parametrize("lost", [181, 0])
def test_a_lost_fragment_draws_time_exceeded_after_60_s_only_when_fragment_zero_came(lost: int) -> None:
    """RFC 8200 §4.5: code 1 (fragment reassembly time exceeded), quoting the first fragment,
    sent 60 s after it came (ip6frag_time).  Without fragment zero the datagram goes silently."""
    net, a, _r, b = _routed()
    _lose(b, lost)
    errors = _errors_at(a)

    def client() -> Any:
        yield a.socket("udp6").sendto(MESSAGE, (B, 9000))

    net.process(client())
    net.run("59s")
    assert errors == [] and len(b.ip6.reassembler) == 1
    net.run("75s")
    assert b["eth0"].counters.drops["ipv6-frag-timeout"] == 1 and len(b.ip6.reassembler) == 0
    if lost == 0:
        assert errors == []
        return
    [(when, message)] = errors
    assert isinstance(message, ICMPv6TimeExceeded) and message.code == 1
    assert 60_000_000_000 < when < 60_050_000_000  # (after neighbour discovery on the way)
    quoted = message.original  # (as much of fragment zero as keeps the error within 1280 bytes)
    assert len(quoted) == 1280 - 48 and quoted[6] == 44 and quoted[42:44] == b"\x00\x01"  # offset 0, M


@pytest.mark.parametrize(("lost", "port", "expected"), [
    (362, 9000, (3, 1, errno.EHOSTUNREACH, B)),  # Time Exceeded code 1, 60 s on
    (None, 9, (1, 4, errno.ECONNREFUSED, B)),  # the reassembled datagram to a closed port: as an unfragmented one
])
def test_an_error_about_a_fragmented_datagram_reaches_the_ipv6_recverr_socket(lost: int | None, port: int,
                                                                                expected: tuple[Any, ...]) -> None:
    """Errors quoting fragment zero name the socket (Linux's icmpv6_notify skips the Fragment header)."""
    net, a, _r, b = _routed()
    if lost is not None:
        _lose(b, lost)
    out: dict[str, Any] = {}

    def client() -> Any:
        sock = a.socket("udp6")
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        sock.settimeout("70s")
        yield sock.sendto(MESSAGE, (B, port))
        out["report"] = yield sock.recv_error()

    net.process(client())
    net.run("75s")
    report = out["report"]
    assert (report.type, report.code, report.errno, report.offender) == expected


# --- crafted fragments into b ------------------------------------------------------------------


def _inject(b: Any, r: Any, packets: list[IPv6Packet]) -> None:
    """Hand b these datagrams as if r had forwarded them."""
    for packet in packets:
        b["eth0"].receive(b["eth0"].mac.packed + r["eth1"].mac.packed + b"\x86\xdd" + packet.to_bytes())


def _crafted(offset: int, data: bytes, *, more: bool, ident: int = 5) -> IPv6Packet:
    return IPv6Packet(src=IPv6Address(A), dst=IPv6Address(B), next_header=17, payload=data, hop_limit=63,
                      extensions=(IPv6Fragment(offset=offset // 8, more_fragments=more, identification=ident),))


def _udp(size: int) -> bytes:
    return UDPDatagram(src_port=5000, dst_port=9000, payload=bytes(size)).to_bytes(src=IPv6Address(A),
                                                                                 dst=IPv6Address(B))


def _receiver() -> tuple[Network, Any, Any, list[bytes], list[tuple[int, ICMPv6Message]]]:
    """The topology with b listening on port 9000 (what it gets) and the errors a receives,
    10 ms on (the neighbours known): net, r, b, what b got, a's errors."""
    net, a, r, b = _routed()
    got: list[bytes] = []
    errors = _errors_at(a)
    _server(net, b, got, echo=False)
    net.run("10ms")
    return net, r, b, got, errors


def test_overlapping_fragments_are_dropped_silently() -> None:
    """RFC 5722 §4: the whole datagram goes, no ICMPv6 is sent, the rest is dropped at timeout."""
    net, r, b, got, errors = _receiver()
    datagram = _udp(200)
    _inject(b, r, [_crafted(0, datagram[:104], more=True), _crafted(96, datagram[96:], more=False),
                        _crafted(104, datagram[104:], more=False)])
    net.run("70s")
    assert got == [] and errors == []
    drops = b["eth0"].counters.drops
    assert drops["ipv6-frag-overlap"] == 1 and drops["ipv6-frag-timeout"] == 1  # (the last one, alone)


def test_a_short_middle_fragment_draws_parameter_problem_at_the_payload_length() -> None:
    net, r, b, got, errors = _receiver()
    datagram = _udp(200)
    _inject(b, r, [_crafted(0, datagram[:100], more=True)])
    net.run("1s")
    _inject(b, r, [_crafted(0, datagram[:104], more=True), _crafted(104, datagram[104:], more=False)])
    net.run("2s")
    assert got == [bytes(200)]  # the datagram lived on
    [(_when, problem)] = errors
    assert isinstance(problem, ICMPv6ParameterProblem) and (problem.code, problem.pointer) == (0, 4)
    assert b["eth0"].counters.drops["ipv6-frag-not-multiple-of-8"] == 1


def test_an_atomic_fragment_is_delivered_at_once() -> None:
    """RFC 6946 §4: offset 0, M clear: the packet without its Fragment header."""
    net, r, b, got, _errors = _receiver()
    _inject(b, r, [_crafted(0, _udp(30), more=False)])
    net.run("20ms")
    assert got == [bytes(30)] and len(b.ip6.reassembler) == 0


def test_a_first_fragment_without_the_udp_header_draws_parameter_problem_code_3() -> None:
    """RFC 7112 §5, as Linux since 5.9: the header chain must be whole in the first fragment."""
    net, r, b, _got, errors = _receiver()
    _inject(b, r, [_crafted(0, _udp(0)[:4], more=True)])
    net.run("1s")
    [(_when, problem)] = errors
    assert isinstance(problem, ICMPv6ParameterProblem) and (problem.code, problem.pointer) == (3, 0)
    assert b["eth0"].counters.drops["ipv6-frag-incomplete-chain"] == 1
