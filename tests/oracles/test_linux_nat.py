"""netsim's ``linux-masquerade`` NAT beside Linux's own (nftables masquerade, conntrack).

The experiment of linux_nat.py runs through real Linux namespaces and through netsim; what must
match: the source each server socket sees (the inside port kept while the reply tuple it makes
is free, a different port in 1024-65535 when it is not, kept again towards a new remote), the
NAT's ``conntrack -L`` lines (protocol, state, flags, both tuples; the clash's random port and
the seconds left are compared as classes), the answers unsolicited packets get from the
router's own stack, and the default timeouts netsim's preset takes from Linux's sysctls.
Skipped where the machine cannot create namespaces or lacks nft/conntrack;
NETSIM_REQUIRE_NETNS=1 makes that a failure.
"""

from __future__ import annotations

import re
import socket as _socket
from collections.abc import Generator
from typing import Any

import pytest

from netsim.proto.nat import TCP, NatBehaviour, PortForward
from netsim.sim.network import Network
from netsim.units import MS, S
from netsim.wire.icmpv4 import ICMPv4Echo
from tests.oracles import linux_nat, linux_netns

Process = Generator[Any, Any, Any]
OUTSIDE, SERVER = "198.51.100.77", "198.51.100.10"


@pytest.fixture(scope="module")
def linux() -> dict[str, Any]:
    linux_netns.require(linux_nat.available(), "Linux NAT oracle")
    return linux_nat.run()


@pytest.fixture(scope="module")
def mine() -> dict[str, Any]:
    return _netsim()


def _netsim(seed: int = 0) -> dict[str, Any]:
    """The same experiment through netsim: c1 and c2 behind a switch, the NAT, the server."""
    net = Network(seed)
    nat = net.add_nat_router("nat")
    nat.add_interface("eth0")
    nat.add_address("eth0", "192.168.1.1/24")
    nat.add_interface("eth1")
    nat.add_address("eth1", f"{OUTSIDE}/24")
    switch = net.add_switch("br0", ports=3)
    net.connect(switch["p1"], nat["eth0"])
    clients = []
    for index, address in enumerate(("192.168.1.10", "192.168.1.20"), start=2):
        host = net.add_host(f"c{index - 1}")
        host.add_interface("eth0")
        host.add_address("eth0", f"{address}/24")
        host.set_default_gateway("192.168.1.1")
        net.connect(switch[f"p{index}"], host["eth0"])
        clients.append(host)
    server = net.add_host("srv")
    server.add_interface("eth0")
    server.add_address("eth0", f"{SERVER}/24")
    net.connect(nat["eth1"], server["eth0"])
    nat.enable_nat(inside="eth0", outside="eth1", behaviour="linux-masquerade",
                   forwards=[PortForward(TCP, None, 8080, "192.168.1.10", 80)])
    peers: list[list[Any]] = []

    def udp_echo(port: int) -> Process:
        sock = server.socket("udp")
        sock.bind(("0.0.0.0", port))
        while True:
            data, peer = yield sock.recvfrom(100)
            peers.append(["udp", port, *peer])
            yield sock.sendto(data, peer)

    def tcp_echo() -> Process:
        listener = server.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen(8)
        while True:
            conn, peer = yield listener.accept()
            peers.append(["tcp", 9000, *peer])
            net.process(serve(conn))

    def serve(conn: Any) -> Process:
        while data := (yield conn.recv(100)):
            yield conn.sendall(data)
        conn.close()

    def udp_client(host: Any, *ports: int) -> Process:
        sock = host.socket("udp")
        sock.bind(("0.0.0.0", 5353))
        for port in ports:
            yield sock.sendto(b"ping", (SERVER, port))
            data, _ = yield sock.recvfrom(10)
            assert data == b"ping"
        sock.close()

    def tcp_client(host: Any, hold: bool) -> Process:
        sock = host.socket("tcp")
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", 55001))
        yield sock.connect((SERVER, 9000))
        yield sock.sendall(b"ping")
        assert (yield sock.recv(10)) == b"ping"
        if not hold:
            sock.shutdown(_socket.SHUT_WR)
            assert (yield sock.recv(10)) == b""
            sock.close()
        return sock

    def outcome(event: Any, success: str) -> Process:
        try:
            yield event
            return success
        except ConnectionRefusedError:
            return "refused"
        except TimeoutError:
            return "silence"

    def probe() -> Process:
        """linux_nat.PROBE: unsolicited packets from the server to the NAT's outside address."""
        out = {}
        for port in (5353, 7777):
            udp = server.socket("udp")
            udp.bind(("0.0.0.0", 99))
            udp.settimeout("1s")
            yield udp.connect((OUTSIDE, port))
            yield udp.send(b"hello")
            out[f"udp {port}"] = yield from outcome(udp.recv(10), "answered")
            udp.close()
        for port in (55001, 7777):
            tcp = server.socket("tcp")
            tcp.settimeout("1s")
            out[f"tcp {port}"] = yield from outcome(tcp.connect((OUTSIDE, port)), "connected")
            tcp.close()
        return out

    def ping(host: Any) -> Process:
        sock = host.socket("icmp")
        sock.bind(("0.0.0.0", 4242))  # a ping socket's "port" is its echo identifier
        yield sock.sendto(ICMPv4Echo(8, 0, 1, b"x" * 8).to_bytes(), (SERVER, 0))
        data, _ = yield sock.recvfrom(100)
        assert data[0] == 0  # an echo reply
        sock.close()

    def stream() -> Process:
        sock = clients[0].socket("udp")
        sock.bind(("0.0.0.0", 6000))
        for _ in range(2):
            yield sock.sendto(b"ping", (SERVER, 53))
            yield sock.recvfrom(10)
            yield net.env.timeout(2500 * MS)
        sock.close()

    def forwarded() -> Process:
        """A server on c1:80 behind the port forward, and srv:40000 connecting to nat:8080."""
        listener = clients[0].socket("tcp")
        listener.bind(("0.0.0.0", 80))
        listener.listen(1)
        sock = server.socket("tcp")
        sock.bind(("0.0.0.0", 40000))
        yield sock.connect((OUTSIDE, 8080))
        conn, peer = yield listener.accept()
        net.process(serve(conn))
        yield sock.sendall(b"ping")
        assert (yield sock.recv(10)) == b"ping"
        sock.shutdown(_socket.SHUT_WR)
        assert (yield sock.recv(10)) == b""
        sock.close()
        listener.close()
        return list(peer)

    def experiment() -> Process:
        yield from udp_client(clients[0], 53)
        yield from udp_client(clients[1], 53)
        yield from udp_client(clients[0], 54)
        yield from ping(clients[0])
        yield from ping(clients[1])
        yield from stream()
        closed = clients[0].socket("udp")
        closed.bind(("0.0.0.0", 7000))
        closed.settimeout("2s")
        yield closed.connect((SERVER, 7))
        yield closed.send(b"anyone?")
        closed_port = yield from outcome(closed.recv(10), "answered")
        closed.close()
        held = yield from tcp_client(clients[0], True)
        yield from tcp_client(clients[1], False)
        forwarded_peer = yield from forwarded()
        yield net.env.timeout(200 * MS)
        lines = nat.conntrack()
        probes = yield from probe()
        hairpin = clients[0].socket("tcp")
        hairpin.settimeout("1s")
        probes["hairpin tcp 7777"] = yield from outcome(hairpin.connect((OUTSIDE, 7777)), "connected")
        nat.flush_nat()  # a NAT reboot, then the held connection talks again
        held.settimeout("5s")
        yield held.sendall(b"again")
        try:
            after_flush = "echoed again" if (yield held.recv(10)) == b"again" else "wrong echo"
        except OSError as exc:
            after_flush = type(exc).__name__
        yield net.env.timeout(200 * MS)
        picked_up = nat.conntrack()
        held.close()
        return lines, probes, after_flush, picked_up, forwarded_peer, closed_port

    for port in (53, 54):
        net.process(udp_echo(port))
    net.process(tcp_echo())
    done = net.process(experiment())
    net.run(20 * S)
    assert done.triggered, "the netsim experiment did not finish"
    lines, probes, after_flush, picked_up, forwarded_peer, closed_port = done.value
    return {"peers": peers, "conntrack": lines, "probes": probes, "after_flush": after_flush, "picked_up": picked_up,
            "forwarded_peer": forwarded_peer, "closed_port": closed_port}


#: every timeout a line's "seconds left" can be a little under, ascending
_TIMEOUTS = (10, 30, 60, 120, 432000)


def _normalised(lines: list[str], clash_ports: set[int]) -> list[str]:
    """conntrack lines with the seconds left replaced by the timeout they count down from
    and the NAT's randomly chosen clash ports by ``P``, sorted."""
    out = []
    for line in lines:
        fields = line.split()
        left = int(fields[2])
        fields[2] = str(next(t for t in _TIMEOUTS if left <= t))
        text = " ".join(fields)
        for port in clash_ports:
            text = re.sub(rf"\b(sport|dport)={port}\b", r"\1=P", text)
        text = re.sub(r"\bid=(?!4242\b)\d+", "id=P", text)  # the second pinger's identifier
        out.append(text)
    return sorted(out)


def _clash_ports(peers: list[list[Any]]) -> set[int]:
    return {port for _, _, _, port in peers if port not in (5353, 6000, 55001)}


def test_each_server_socket_sees_what_linux_s_masquerade_shows_it(linux: dict[str, Any], mine: dict[str, Any]) -> None:
    for seen in (linux["peers"], mine["peers"]):
        # in order: udp 53 from c1, from c2, udp 54 from c1, udp 53 from c1:6000 twice (the
        # stream), tcp from c1, from c2
        assert [(p[0], p[1], p[2]) for p in seen] == [("udp", 53, OUTSIDE)] * 2 + [("udp", 54, OUTSIDE)] + [
            ("udp", 53, OUTSIDE)] * 2 + [("tcp", 9000, OUTSIDE)] * 2
        ports = [p[3] for p in seen]
        assert ports[0] == ports[2] == 5353 and ports[3] == ports[4] == 6000 and ports[5] == 55001  # kept
        assert ports[1] != 5353 and 1024 <= ports[1] <= 65535  # a clash: another port
        assert ports[6] != 55001 and 1024 <= ports[6] <= 65535


def test_a_port_forward_reaches_the_inside_server_which_sees_the_real_client(linux: dict[str, Any],
                                                                             mine: dict[str, Any]) -> None:
    assert linux["forwarded_peer"] == mine["forwarded_peer"] == [SERVER, 40000]


def test_a_port_unreachable_comes_back_through_the_nat(linux: dict[str, Any], mine: dict[str, Any]) -> None:
    """RFC 5508 §4.2: the server's ICMP error, quoting the translated datagram, is translated
    back to c1, whose connected socket reads ECONNREFUSED; the entry stays [UNREPLIED]."""
    assert linux["closed_port"] == mine["closed_port"] == "refused"


def test_conntrack_lists_the_same_entries_states_and_flags(linux: dict[str, Any], mine: dict[str, Any]) -> None:
    theirs = _normalised(linux["conntrack"], _clash_ports(linux["peers"]))
    ours = _normalised(mine["conntrack"], _clash_ports(mine["peers"]))
    assert ours == theirs
    assert any("ESTABLISHED" in line and "[ASSURED]" in line for line in ours)
    assert any("TIME_WAIT" in line for line in ours)
    assert any(line.startswith("udp 17 120 ") and "[ASSURED]" in line for line in ours)  # the stream
    assert any("dport=7 " in line and "[UNREPLIED]" in line for line in ours)  # the closed port
    # a DNAT entry: the original direction is the outside client's first packet
    assert any(f"src={SERVER} dst={OUTSIDE} sport=40000 dport=8080 src=192.168.1.10" in line for line in ours)
    assert sum("id=P" in line for line in ours) == 1  # two pingers with one identifier: one moved


def test_unsolicited_packets_get_the_answers_linux_s_own_stack_gives(linux: dict[str, Any],
                                                                    mine: dict[str, Any]) -> None:
    """With no filter rule, a packet no conntrack entry expects is for the router itself, which
    answers with a port unreachable or an RST, even on a port a mapping uses."""
    assert linux["probes"] == {"udp 5353": "refused", "udp 7777": "refused", "tcp 55001": "refused",
                               "tcp 7777": "refused", "hairpin tcp 7777": "refused"}
    assert mine["probes"] == linux["probes"]


def test_after_a_nat_reboot_the_next_segment_is_picked_up_mid_stream_as_linux_does(linux: dict[str, Any],
                                                                                       mine: dict[str, Any]) -> None:
    """nf_conntrack_tcp_loose: a bare ACK opens an ESTABLISHED entry; the inside port is free
    again, so it is kept, and the server's connection goes on."""
    assert linux["after_flush"] == mine["after_flush"] == "echoed again"
    assert _normalised(mine["picked_up"], set()) == _normalised(linux["picked_up"], set())
    assert len(mine["picked_up"]) == 1 and "ESTABLISHED" in mine["picked_up"][0]


def test_the_preset_s_timeouts_are_linux_s_defaults(linux: dict[str, Any]) -> None:
    timeouts = NatBehaviour.preset("linux-masquerade").timeouts
    ours = {name: getattr(timeouts, name.replace("_timeout", "")) // S for name in linux_nat.TIMEOUT_SYSCTLS}
    assert ours == linux["timeouts"]
