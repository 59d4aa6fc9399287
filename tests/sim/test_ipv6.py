"""IPv6 on hosts (lecture §2.6 and quiz 3): addresses and link-local addresses, neighbour
discovery, ICMPv6 echo, TCP over IPv6 with scope ids, dual-stack sockets."""

from __future__ import annotations

import errno
import socket
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest

from netsim.observe.capture import Capture
from netsim.observe.ss import ss
from netsim.sim.ipv6 import link_local_for, solicited_node
from netsim.sim.network import Network
from netsim.wire.mac import MACAddress
from tests.oracles.tshark import defects, tshark_fields


def _pair(**link: Any) -> tuple[Network, Any, Any]:
    net = Network(2)
    a, b = net.add_host("a"), net.add_host("b")
    for host, v4, v6 in ((a, "10.0.0.1/24", "2001:db8::1/64"), (b, "10.0.0.2/24", "2001:db8::2/64")):
        host.add_interface("eth0")
        host.add_address("eth0", v4)
        host.add_address("eth0", v6)
    net.connect(a["eth0"], b["eth0"], **link)
    return net, a, b


def _echo_server(host: Any, address: str, port: int, seen: dict[str, Any], *, v6only: bool = False) -> Any:
    listener = host.socket("tcp6")
    if v6only:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    listener.bind((address, port))
    listener.listen()
    while True:
        conn, peer = yield listener.accept()
        seen.setdefault("peers", []).append(peer)
        seen.setdefault("names", []).append(conn.getsockname())
        while True:
            data = yield conn.recv(4000)
            if not data:
                break
            yield conn.sendall(data)
        conn.close()


def test_link_local_addresses_are_modified_eui64_and_solicited_node_groups_are_rfc_4291() -> None:
    assert link_local_for(MACAddress.parse("02:42:ac:11:00:02")) == IPv6Address("fe80::42:acff:fe11:2")
    assert solicited_node(IPv6Address("2001:db8::1:2345:6789")) == IPv6Address("ff02::1:ff45:6789")
    _net, a, _b = _pair()
    addresses = [str(x) for x in a["eth0"].addresses]
    assert f"{link_local_for(a['eth0'].mac)}/64" in addresses and "2001:db8::1/64" in addresses


@pytest.mark.tshark
def test_tcp_over_ipv6_global_addresses_with_neighbour_discovery(tmp_path: Path) -> None:
    net, a, b = _pair(delay="1ms")
    pcap = tmp_path / "v6.pcap"
    capture = Capture([a["eth0"]], path=str(pcap))
    seen: dict[str, Any] = {}
    net.process(_echo_server(b, "::", 9000, seen))
    out: dict[str, Any] = {}

    def client() -> Any:
        sock = a.socket("tcp6")
        yield sock.connect(("2001:db8::2", 9000))
        out["name"], out["peer"] = sock.getsockname(), sock.getpeername()
        yield sock.sendall(b"hello over IPv6" * 200)
        got = b""
        while len(got) < 3000:
            got += yield sock.recv(4000)
        out["echo"] = got
        sock.close()

    net.process(client())
    net.run("2s")
    capture.close()
    assert out["echo"] == b"hello over IPv6" * 200
    assert out["peer"] == ("2001:db8::2", 9000, 0, 0) and out["name"][0] == "2001:db8::1"
    assert seen["peers"] == [("2001:db8::1", out["name"][1], 0, 0)]
    rows = tshark_fields(pcap, ["icmpv6.type", "tcp.len", "ipv6.src"])
    assert any(r[0] == "135" for r in rows) and any(r[0] == "136" for r in rows)  # NS and NA
    assert max(int(r[1] or 0) for r in rows) == 1500 - 60 - 12  # MSS over IPv6, timestamps on
    assert defects(pcap) == []


def test_link_local_needs_a_scope_and_the_scope_is_in_the_socket_address() -> None:
    net, a, b = _pair()
    seen: dict[str, Any] = {}
    peer_ll = str(link_local_for(b["eth0"].mac))
    net.process(_echo_server(b, "::", 9000, seen))
    out: dict[str, Any] = {}

    def client() -> Any:
        bare = a.socket("tcp6")
        try:
            yield bare.connect((peer_ll, 9000))
        except OSError as exc:
            out["no-scope"] = exc.errno
        scoped = a.socket("tcp6")
        yield scoped.connect((f"{peer_ll}%eth0", 9000))
        out["peer"], out["name"] = scoped.getpeername(), scoped.getsockname()
        yield scoped.sendall(b"x")
        out["echo"] = yield scoped.recv(10)
        by_index = a.socket("tcp6")
        yield by_index.connect((peer_ll, 9000, 0, a.interface_index("eth0")))
        out["by-index"] = by_index.getpeername()

    net.process(client())
    net.run("2s")
    index = a.interface_index("eth0")
    assert out["no-scope"] == errno.EINVAL  # Linux: a link-local destination needs its interface
    assert out["peer"] == (peer_ll, 9000, 0, index) and out["by-index"] == (peer_ll, 9000, 0, index)
    assert out["name"][0] == str(link_local_for(a["eth0"].mac)) and out["name"][3] == index
    assert out["echo"] == b"x"
    assert seen["peers"][0][0] == str(link_local_for(a["eth0"].mac)) and seen["peers"][0][3] == 2
    rows = ss(b, "established")
    assert not rows or all(r.local.startswith("[") for r in rows)


def test_a_dual_stack_listener_takes_ipv4_as_mapped_addresses_unless_v6only() -> None:
    net, a, b = _pair()
    seen: dict[str, Any] = {}
    net.process(_echo_server(b, "::", 9000, seen))
    net.process(_echo_server(b, "::", 9001, {}, v6only=True))
    out: dict[str, Any] = {}

    def client() -> Any:
        v4 = a.socket("tcp")
        yield v4.connect(("10.0.0.2", 9000))
        yield v4.sendall(b"v4")
        out["echo"] = yield v4.recv(10)
        only6 = a.socket("tcp")
        try:
            yield only6.connect(("10.0.0.2", 9001))
        except OSError as exc:
            out["v6only"] = exc.errno

    net.process(client())
    net.run("2s")
    assert out["echo"] == b"v4"
    assert seen["peers"][0][0] == "::ffff:10.0.0.1" and seen["names"][0][:2] == ("::ffff:10.0.0.2", 9000)
    assert out["v6only"] == errno.ECONNREFUSED


def test_dual_stack_and_ipv4_wildcards_conflict_unless_v6only() -> None:
    _net, _a, b = _pair()
    v4 = b.socket("tcp")
    v4.bind(("0.0.0.0", 7000))
    v4.listen()
    dual = b.socket("tcp6")
    with pytest.raises(OSError) as caught:
        dual.bind(("::", 7000))
    assert caught.value.errno == errno.EADDRINUSE
    only6 = b.socket("tcp6")
    only6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    only6.bind(("::", 7000))  # an IPv6-only wildcard does not overlap IPv4


def test_echo_requests_are_answered_and_hosts_without_ipv6_still_drop_it() -> None:
    from netsim.wire.icmpv6 import ICMPv6Echo

    net, a, _b = _pair()
    replies: list[Any] = []
    original = a.ip6._icmp_input

    def spy(packet: Any, message: Any, iface: Any) -> None:
        if isinstance(message, ICMPv6Echo) and message.type == 129:
            replies.append((str(packet.src), message.identifier, message.sequence))
        original(packet, message, iface)

    a.ip6._icmp_input = spy
    a.send_ip(IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2"), 58, ICMPv6Echo(128, 7, 1, b"ping"))
    net.run("1s")
    assert replies == [("2001:db8::2", 7, 1)]
    plain = Network(0)
    h1, h2 = plain.add_host("h1"), plain.add_host("h2")
    h1.add_interface("eth0")
    h1.add_address("eth0", "2001:db8::1/64")
    h2.add_interface("eth0")
    h2.add_address("eth0", "10.0.0.2/24")
    plain.connect(h1["eth0"], h2["eth0"])
    h1.send_ip(IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2"), 58, ICMPv6Echo(128, 1, 1, b""))
    plain.run("5s")
    # its solicitations go to a group h2 never joined: its NIC filters them out, nothing answers
    assert h2["eth0"].counters.drops["other-host"] >= 1 and h1["eth0"].counters.rx_frames == 0


def test_udp_over_ipv6_keeps_datagrams_names_senders_and_takes_ipv4_in_dual_stack() -> None:
    net, a, b = _pair()
    got: list[Any] = []
    peer_ll = str(link_local_for(b["eth0"].mac))

    def server() -> Any:
        sock = b.socket("udp6")
        sock.bind(("::", 5353))
        for _ in range(3):
            data, sender = yield sock.recvfrom(2000)
            got.append((data, sender))
            yield sock.sendto(data.upper(), sender)

    def clients() -> Any:
        v6 = a.socket("udp6")
        yield v6.sendto(b"global", ("2001:db8::2", 5353))
        reply, frm = yield v6.recvfrom(100)
        got.append(("reply", reply, frm))
        scoped = a.socket("udp6")
        yield scoped.connect((f"{peer_ll}%eth0", 5353))
        yield scoped.send(b"link-local")
        got.append(("reply", (yield scoped.recv(100)), scoped.getpeername()))
        v4 = a.socket("udp")
        yield v4.sendto(b"v4", ("10.0.0.2", 5353))
        got.append(("reply", *(yield v4.recvfrom(100))))

    net.process(server())
    net.process(clients())
    net.run("2s")
    index = a.interface_index("eth0")
    data, sender = got[0]
    assert data == b"global" and sender[0] == "2001:db8::1" and len(sender) == 4
    assert got[1] == ("reply", b"GLOBAL", ("2001:db8::2", 5353, 0, 0))
    assert got[2][0] == b"link-local" and got[2][1][0] == str(link_local_for(a["eth0"].mac))
    assert got[3] == ("reply", b"LINK-LOCAL", (peer_ll, 5353, 0, index))
    assert got[4][0] == b"v4" and got[4][1][0] == "::ffff:10.0.0.1"  # an IPv4 sender of a dual-stack socket
    assert got[5] == ("reply", b"V4", ("10.0.0.2", 5353))
