"""netsim's IPv6 forwarding and ICMP error handling beside Linux's own.

The experiment of linux_ipv6.py runs through real Linux namespaces (a client, a router whose far
link has MTU 1400, a server) and through netsim; what must match, probe by probe: the errors on
the client's error queue (errno, ICMP type and code, the MTU a Packet Too Big carries, who sent
it), what a connected socket without IPV6_RECVERR/IP_RECVERR gets (which errors are "hard"),
the path MTU the socket reports, what the next oversized send fails with, how many errors a
burst of probes draws (the rate limit), whether an error also becomes the socket's pending
error, the fragments a datagram over the path MTU leaves as (sizes, offsets, M flags, one
identification), and the TCP MSS after Packet Too Big.  Skipped where the machine cannot create
namespaces; NETSIM_REQUIRE_NETNS=1 makes that a failure.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Generator
from ipaddress import IPv6Address
from typing import Any

import pytest

from netsim.observe.capture import Capture
from netsim.sim.ipv6 import link_local_for
from netsim.sim.network import Network
from tests.oracles import linux_ipv6, linux_netns

Process = Generator[Any, Any, Any]
SERVER, UNROUTED = "2001:db8:2::20", "2001:db8:99::1"
IPV6_RECVERR, IPV6_DONTFRAG, IPV6_MTU, IP_RECVERR, IP_MTU = 25, 62, 24, 11, 14


@pytest.fixture(scope="module")
def linux() -> dict[str, Any]:
    linux_netns.require(linux_ipv6.available(), "Linux IPv6 oracle")
    return linux_ipv6.run()


@pytest.fixture(scope="module")
def mine() -> dict[str, Any]:
    return _netsim()


def _name(code: int) -> str:
    return errno.errorcode.get(code, str(code))


def _netsim() -> dict[str, Any]:
    """The same topology and client experiment through netsim."""
    net = Network(5)
    cli, r1, srv = net.add_host("cli"), net.add_router("r1"), net.add_host("srv")
    cli.add_interface("v")
    r1.add_interface("ra")
    r1.add_interface("rb", mtu=1400)
    srv.add_interface("w")
    for host, iface, v6, v4 in ((cli, "v", "2001:db8:1::10/64", "10.1.0.10/24"),
                                (r1, "ra", "2001:db8:1::1/64", "10.1.0.1/24"),
                                (r1, "rb", "2001:db8:2::1/64", "10.2.0.1/24"),
                                (srv, "w", "2001:db8:2::20/64", "10.2.0.20/24")):
        host.add_address(iface, v6)
        host.add_address(iface, v4)
    cli.add_address("v", "2001:db8:1::11/64")
    cli.add_route("::/0", via="2001:db8:1::1")
    cli.add_route("0.0.0.0/0", via="10.1.0.1")
    srv.add_route("::/0", via="2001:db8:2::1")
    srv.add_route("0.0.0.0/0", via="10.2.0.1")
    net.connect(cli["v"], r1["ra"], delay="100us")
    net.connect(r1["rb"], srv["w"], delay="100us")
    out: dict[str, Any] = {"addresses": {"cli": str(link_local_for(cli["v"].mac)),
                                         "r1": str(link_local_for(r1["ra"].mac))}}

    def sink() -> Process:
        listener = srv.socket("tcp6")
        listener.bind(("::", 9000))
        listener.listen()
        conn, _peer = yield listener.accept()
        while (yield conn.recv(65536)):
            pass
        conn.close()

    def errors(sock: Any) -> Process:
        yield net.env.timeout(300_000_000)
        found = [[_name(r.errno), r.type, r.code, r.next_hop_mtu, r.offender] for r in sock.error_queue]
        sock.error_queue.clear()
        return found

    def outcome(call: Any, *args: Any) -> Process:
        try:
            yield call(*args)
        except TimeoutError:
            return "timeout"
        except OSError as exc:
            return _name(exc.errno or 0)
        return "ok"

    def udp(recverr: bool = True, hops: int | None = None, family: int = 6) -> Any:
        sock = cli.socket("udp6" if family == 6 else "udp")
        if recverr:
            sock.setsockopt(*((socket.IPPROTO_IPV6, IPV6_RECVERR) if family == 6 else (socket.IPPROTO_IP, IP_RECVERR)),
                            1)
        if hops is not None:
            sock.setsockopt(*((socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS) if family == 6
                              else (socket.IPPROTO_IP, socket.IP_TTL)), hops)
        return sock

    def client() -> Process:
        sock = udp(hops=1)
        yield sock.sendto(b"probe", (SERVER, 33434))
        out["hop1"] = yield from errors(sock)
        sock = udp(hops=2)
        yield sock.sendto(b"probe", (SERVER, 33435))
        out["hop2"] = yield from errors(sock)
        sock = udp()
        yield sock.sendto(b"anyone", (UNROUTED, 9))
        out["unrouted"] = yield from errors(sock)
        sock = udp(hops=1)
        yield sock.sendto(b"probe", (UNROUTED, 9))
        out["hop1_unrouted"] = yield from errors(sock)
        sock = udp(hops=1, family=4)
        yield sock.sendto(b"probe", ("10.99.0.1", 9))
        out["v4_hop1_unrouted"] = yield from errors(sock)
        sock = udp()
        sock.bind((f"{out['addresses']['cli']}%v", 0))
        yield sock.sendto(b"from fe80", (SERVER, 7))
        out["scope"] = yield from errors(sock)
        for key, target, hops in (("closed", SERVER, None), ("hop1", SERVER, 1), ("unrouted", UNROUTED, None)):
            sock = udp(recverr=False, hops=hops)
            sock.settimeout("1s")
            yield sock.connect((target, 9))
            yield sock.send(b"x")
            out["connected_" + key] = yield from outcome(sock.recv, 10)
        sock = udp()
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1)
        yield sock.connect((SERVER, 9))
        first = yield from outcome(sock.send, bytes(1452))
        found = yield from errors(sock)
        mtu = sock.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU)
        out["too_big"] = {"first": first, "errors": found, "mtu": mtu,
                          "again": (yield from outcome(sock.send, bytes(1452))),
                          "fits": (yield from outcome(sock.send, bytes(1352)))}
        sock = udp()
        capture = Capture(cli["v"], "ip6", direction="out")
        yield sock.sendto(bytes(4000), (SERVER, 9))
        found = yield from errors(sock)
        frames = [r.data for r in capture.records if r.data[20] == 44]
        out["fragments"] = {"sizes": [[len(f) - 14, int.from_bytes(f[56:58], "big") >> 3, f[57] & 1] for f in frames],
                            "one_id": len({f[58:62] for f in frames}) == 1, "errors": found}
        sock = udp(recverr=False)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1)
        sock.settimeout("1s")
        yield sock.connect(("2001:db8:2::21", 9))
        yield sock.send(bytes(1452))
        out["too_big_connected"] = yield from outcome(sock.recv, 10)
        sock = udp(hops=1)
        sock.bind(("2001:db8:1::11", 0))
        for port in range(100):
            yield from outcome(sock.sendto, b"x", (SERVER, 40000 + port))
        out["burst"] = len((yield from errors(sock)))
        sock = udp(hops=1)
        yield sock.sendto(b"x", (SERVER, 33434))
        yield net.env.timeout(300_000_000)
        out["pending_after_recverr"] = [(yield from outcome(sock.sendto, b"x", (SERVER, 33435))),
                                        (yield from outcome(sock.sendto, b"x", (SERVER, 33436)))]
        for key, target, ttl in (("closed", "10.2.0.20", 64), ("hop1", "10.2.0.20", 1), ("unrouted", "10.99.0.1", 64)):
            sock = udp(recverr=False, hops=ttl, family=4)
            sock.settimeout("1s")
            yield sock.connect((target, 9))
            yield sock.send(b"x")
            out["v4_connected_" + key] = yield from outcome(sock.recv, 10)
        sock = udp(recverr=False, family=4)
        sock.settimeout("1s")
        yield sock.connect(("10.2.0.21", 9))
        yield sock.send(bytes(1472))
        out["v4_too_big_connected"] = yield from outcome(sock.recv, 10)
        out["v4_mtu"] = sock.getsockopt(socket.IPPROTO_IP, IP_MTU)
        out["v4_again"] = yield from outcome(sock.send, bytes(1472))
        sock = udp(hops=1, family=4)
        yield sock.sendto(b"x", ("10.2.0.20", 33434))
        yield net.env.timeout(300_000_000)
        out["v4_pending_after_recverr"] = [(yield from outcome(sock.sendto, b"x", ("10.2.0.20", 33435))),
                                           (yield from outcome(sock.sendto, b"x", ("10.2.0.20", 33436)))]
        tcp = cli.socket("tcp6")
        yield tcp.connect((SERVER, 9000))
        yield tcp.sendall(bytes(100_000))
        yield net.env.timeout(300_000_000)
        out["tcp_mss"] = tcp.conn.mss
        tcp.close()

    net.process(sink())
    net.process(client())
    net.run("60s")
    return out


def _same_offenders(found: list[list[Any]], addresses: dict[str, str]) -> list[list[Any]]:
    """The offender as a role where it is a link-local address (the kernel's comes from a random MAC)."""
    names = {address: f"{role}'s link-local address" for role, address in addresses.items()}
    return [[*entry[:4], names.get(entry[4], entry[4])] for entry in found]


@pytest.mark.parametrize("probe", ["hop1", "hop2", "unrouted", "scope", "hop1_unrouted", "v4_hop1_unrouted"])
def test_the_error_queue_holds_what_linux_s_holds(linux: dict[str, Any], mine: dict[str, Any], probe: str) -> None:
    assert _same_offenders(mine[probe], mine["addresses"]) == _same_offenders(linux[probe], linux["addresses"])


@pytest.mark.parametrize("probe", ["connected_closed", "connected_hop1", "connected_unrouted", "too_big_connected",
                                   "v4_connected_closed", "v4_connected_hop1", "v4_connected_unrouted",
                                   "v4_too_big_connected"])
def test_a_connected_socket_without_recverr_hears_only_hard_errors(linux: dict[str, Any], mine: dict[str, Any],
                                                                   probe: str) -> None:
    assert mine[probe] == linux[probe]


def test_packet_too_big_sets_the_path_mtu_and_the_next_oversized_send_fails(linux: dict[str, Any],
                                                                           mine: dict[str, Any]) -> None:
    assert mine["too_big"] == linux["too_big"]
    assert (mine["v4_mtu"], mine["v4_again"]) == (linux["v4_mtu"], linux["v4_again"])


def test_a_datagram_over_the_path_mtu_is_fragmented_as_linux_fragments_it(linux: dict[str, Any],
                                                                         mine: dict[str, Any]) -> None:
    """RFC 8200 §4.5, Linux's ip6_fragment: the same fragment sizes, offsets and M flags, one
    identification, and the server's Port Unreachable about the reassembled datagram."""
    assert mine["fragments"] == linux["fragments"]


def test_with_recverr_an_error_is_also_the_socket_s_pending_error(linux: dict[str, Any], mine: dict[str, Any]) -> None:
    assert mine["pending_after_recverr"] == linux["pending_after_recverr"]
    assert mine["v4_pending_after_recverr"] == linux["v4_pending_after_recverr"]


def test_a_burst_of_probes_draws_as_many_errors_as_linux_s_rate_limit_allows(linux: dict[str, Any],
                                                                            mine: dict[str, Any]) -> None:
    assert mine["burst"] == linux["burst"]


def test_tcp_lowers_its_mss_to_what_packet_too_big_allows(linux: dict[str, Any], mine: dict[str, Any]) -> None:
    assert mine["tcp_mss"] == linux["tcp_mss"] == 1400 - 40 - 20 - 12


def test_the_netsim_side_alone_has_the_linux_answers() -> None:
    """What Linux 6.x gave (kept here so the netsim half is checked where namespaces are not)."""
    mine = _netsim()
    assert mine["hop1"] == [["EHOSTUNREACH", 3, 0, 0, "2001:db8:1::1"]]
    assert mine["hop2"] == [["ECONNREFUSED", 1, 4, 0, SERVER]]
    assert mine["unrouted"] == mine["hop1_unrouted"] == [["ENETUNREACH", 1, 0, 0, "2001:db8:1::1"]]
    assert mine["v4_hop1_unrouted"] == [["ENETUNREACH", 3, 0, 0, "10.1.0.1"]]  # no route is said before TTL
    assert mine["scope"] == [["EHOSTUNREACH", 1, 2, 0, mine["addresses"]["r1"]]]
    assert (mine["connected_closed"], mine["connected_hop1"], mine["connected_unrouted"]) == (
        "ECONNREFUSED", "timeout", "timeout")
    assert mine["too_big"] == {"first": "ok", "errors": [["EMSGSIZE", 2, 0, 1400, "2001:db8:1::1"]], "mtu": 1400,
                               "again": "EMSGSIZE", "fits": "ok"}
    assert mine["too_big_connected"] == mine["v4_too_big_connected"] == "EMSGSIZE"
    assert mine["fragments"] == {"sizes": [[1400, 0, 1], [1400, 169, 1], [1352, 338, 0]], "one_id": True,
                                 "errors": [["ECONNREFUSED", 1, 4, 0, SERVER]]}
    assert mine["burst"] == 6
    assert mine["pending_after_recverr"] == mine["v4_pending_after_recverr"] == ["EHOSTUNREACH", "ok"]
    assert (mine["v4_connected_closed"], mine["v4_connected_hop1"], mine["v4_connected_unrouted"]) == (
        "ECONNREFUSED", "timeout", "timeout")
    assert (mine["v4_mtu"], mine["v4_again"]) == (1400, "ok")
    assert IPv6Address(mine["addresses"]["r1"]).is_link_local
