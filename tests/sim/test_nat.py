"""NatRouter between simulated hosts: the lecture's §2.4 example and quiz 2, observer views,
hairpinning, timeouts by state, port exhaustion, ICMP through the NAT, NAT reboot, double NAT,
port forwarding, and captures on both sides checked by tshark."""

from __future__ import annotations

import contextlib
import errno
import re
from collections.abc import Generator
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

import attrs
import pytest

from netsim.observe.capture import Capture
from netsim.observe.views import connection_view, flow_view
from netsim.proto.nat import PRESETS, TCP, NatBehaviour, PortAssignment, PortForward, Timeouts, flow
from netsim.sim.apps import ping, traceroute
from netsim.sim.network import Network
from netsim.sim.tcp_apps import ServerStats, tcp_client, tcp_echo_server
from netsim.units import MS, S
from netsim.wire.tcp import TCPFlags, TCPSegment
from tests.oracles.tshark import defects, tshark_fields
from tests.sim.nat_topologies import NAT2_OUTSIDE, NAT_OUTSIDE, SERVER, double_nat, lan_behind, lecture_2_4, two_nats

Process = Generator[Any, Any, Any]

#: the lecture's NAT: ports handed out in order from 62000 (the lecture's number)
LECTURE_NAT = NatBehaviour(port_assignment=PortAssignment.SEQUENTIAL, port_range=(62000, 65535))


def _run(net: Network, *processes: Any, until: str | int = "10s") -> list[Any]:
    handles = [net.process(p) for p in processes]
    net.run(until)
    return [h.value if h.triggered else None for h in handles]


@attrs.define
class Seen:
    """What a test application saw, filled in as it runs."""

    values: dict[str, Any] = attrs.field(factory=dict)


def accept_one(host: Any, port: int, seen: Seen, *, echo: bool = True) -> Process:
    """Accept one connection; record getsockname/getpeername of the accepted socket; echo."""
    listener = host.socket("tcp")
    listener.bind(("0.0.0.0", port))
    listener.listen(8)
    conn, peer = yield listener.accept()
    seen.values["server_local"], seen.values["server_peer"] = conn.getsockname(), conn.getpeername()
    seen.values["accept_peer"] = peer
    try:
        while echo:
            data = yield conn.recv(4096)
            if not data:
                break
            yield conn.sendall(data)
    except OSError as exc:
        seen.values["server_error"] = errno.errorcode[exc.errno or 0]
    conn.close()
    listener.close()


# --- the lecture: §2.4 and quiz 2 ----------------------------------------------------------------


def _lecture_connection(behaviour: NatBehaviour | str) -> tuple[Any, Seen, Any]:
    lec = lecture_2_4(behaviour=behaviour)
    seen = Seen()

    def client() -> Process:
        sock = lec.client.socket("tcp")
        sock.bind(("192.168.1.10", 55001))
        yield sock.connect((SERVER, 9000))
        seen.values["client_local"], seen.values["client_peer"] = sock.getsockname(), sock.getpeername()
        yield sock.sendall(b"print_tuple")
        seen.values["echo"] = yield sock.recv(100)
        seen.values["view"] = connection_view(lec.net, sock)
        seen.values["conntrack"] = lec.nat.conntrack()
        sock.close()

    _run(lec.net, accept_one(lec.server, 9000, seen), client(), until="5s")
    return lec, seen, seen.values["view"]


def test_lecture_2_4_each_observer_sees_its_own_5_tuple_and_the_nat_links_them() -> None:
    _lec, seen, view = _lecture_connection(LECTURE_NAT)
    v = seen.values
    assert v["echo"] == b"print_tuple"
    client = (*v["client_local"], *v["client_peer"], "TCP")
    server = (*v["server_peer"], *v["server_local"], "TCP")
    assert client == ("192.168.1.10", 55001, "203.0.113.10", 9000, "TCP")
    assert server == ("198.51.100.77", 62000, "203.0.113.10", 9000, "TCP")
    assert v["accept_peer"] == ("198.51.100.77", 62000)
    # the view: same tuples at both ends, the NAT entry between
    assert view.complete
    assert view.client.five_tuple == client
    assert view.server.five_tuple == server
    assert [o.observer for o in view.observations] == [
        "nat-client socket", "nat-client:eth0 out", "nat:eth0 in (inside)", "nat:eth1 out", "isp:eth1 in",
        "isp:eth0 out", "server:eth0 in", "server socket"]
    assert view.observer("nat:eth0 in (inside)").five_tuple == client
    assert view.observer("nat:eth1 out").five_tuple == server
    (link,) = view.nat_links
    assert link.node == "nat"
    assert link.before == flow("tcp", "192.168.1.10", 55001, SERVER, 9000)
    assert link.after == flow("tcp", NAT_OUTSIDE, 62000, SERVER, 9000)
    assert "ESTABLISHED" in link.conntrack and "sport=55001" in link.conntrack and "dport=62000" in link.conntrack
    table = view.table()
    print(table)  # docs/nat.md shows it
    lines = table.splitlines()
    assert lines[0].split() == ["observer", "src", "sport", "dst", "dport", "proto"]
    assert lines[1].split() == ["nat-client", "socket", "192.168.1.10", "55001", "203.0.113.10", "9000", "TCP"]
    assert lines[8].split() == ["server", "socket", "198.51.100.77", "62000", "203.0.113.10", "9000", "TCP"]
    assert lines[9] == ("NAT nat: tcp 192.168.1.10:55001 -> 203.0.113.10:9000  =>  "
                        "tcp 198.51.100.77:62000 -> 203.0.113.10:9000")
    assert lines[10].strip().startswith("tcp      6 431999 ESTABLISHED src=192.168.1.10 dst=203.0.113.10 "
                                        "sport=55001 dport=9000 src=203.0.113.10 dst=198.51.100.77 sport=9000 "
                                        "dport=62000 [ASSURED]")
    data = view.as_dict()
    assert data["complete"] and len(data["observations"]) == 8 and data["nat"][0]["node"] == "nat"
    assert table in _docs_text(), "docs/nat.md shows this table"


def test_lecture_2_4_under_linux_masquerade_the_port_is_kept_and_only_the_address_changes() -> None:
    _lec, seen, view = _lecture_connection("linux-masquerade")
    assert seen.values["server_peer"] == ("198.51.100.77", 55001)
    assert view.server.five_tuple == ("198.51.100.77", 55001, "203.0.113.10", 9000, "TCP")
    assert len(view.nat_links) == 1


@pytest.mark.parametrize("behaviour", [LECTURE_NAT, "linux-masquerade", "symmetric"],
                         ids=["lecture", "linux-masquerade", "symmetric"])
def test_quiz_2_two_connections_in_a_row_reach_the_server_from_different_ports(behaviour: Any) -> None:
    lec = lecture_2_4(behaviour=behaviour)
    stats = ServerStats()

    def two_in_a_row() -> Process:
        first = yield lec.net.process(tcp_client(lec.client, (SERVER, 9000), message=b"one"))
        second = yield lec.net.process(tcp_client(lec.client, (SERVER, 9000), message=b"two"))
        return first, second

    _server, (first, second) = _run(lec.net, tcp_echo_server(lec.server, 9000, connections=2, stats=stats),
                                    two_in_a_row())
    assert first.echo_ok and second.echo_ok
    assert first.local[0] == second.local[0] == "192.168.1.10"
    assert [peer[0] for peer in stats.peers] == [NAT_OUTSIDE, NAT_OUTSIDE]
    assert stats.peers[0][1] != stats.peers[1][1]
    if behaviour is LECTURE_NAT:
        assert [peer[1] for peer in stats.peers] == [62000, 62001]
    # both entries are in the table (the first in TIME_WAIT), linked to the client's two ports
    lines = lec.nat.conntrack()
    assert len(lines) == 2
    for result, peer in zip((first, second), stats.peers, strict=True):
        assert any(f"sport={result.local[1]} " in line and f"dport={peer[1]} " in line for line in lines)


def _docs_text() -> str:
    return (Path(__file__).parents[2] / "docs" / "nat.md").read_text()


# --- hairpinning ---------------------------------------------------------------------------------

HAIRPIN_ON = PRESETS["port-restricted-cone"]
HAIRPIN_OFF = attrs.evolve(HAIRPIN_ON, hairpinning=False)


def test_hairpinning_an_inside_host_reaches_a_forwarded_inside_server_via_the_outside_address() -> None:
    net, lan, _isp, _servers = lan_behind(behaviour=HAIRPIN_ON,
                                          forwards=[PortForward(TCP, None, 8080, "192.168.1.20", 80)])
    h1, h2 = lan.hosts
    seen = Seen()
    _s, result = _run(net, accept_one(h2, 80, seen), tcp_client(h1, (NAT_OUTSIDE, 8080), message=b"hairpin"))
    assert result.error is None and result.echo_ok
    assert result.local[0] == "192.168.1.10" and result.peer == (NAT_OUTSIDE, 8080)
    # RFC 4787 REQ-9a / RFC 5382 REQ-8: the source is the client's outside endpoint, not its
    # inside address, so both ends keep talking through the NAT
    assert seen.values["server_local"] == ("192.168.1.20", 80)
    assert seen.values["server_peer"] == (NAT_OUTSIDE, result.local[1])
    assert lan.nat.nat_counters == {}


def test_hairpinning_to_a_mapped_port_under_endpoint_independent_filtering() -> None:
    net, lan, _isp, (_server,) = lan_behind(behaviour="full-cone")
    h1, h2 = lan.hosts
    got: dict[str, Any] = {}

    def h2_app() -> Process:
        sock = h2.socket("udp")
        sock.bind(("0.0.0.0", 6000))
        yield sock.sendto(b"open a mapping", (SERVER, 7))  # nobody listens: the mapping is what counts
        got["h2"] = yield sock.recvfrom(100)

    def h1_app() -> Process:
        yield net.env.timeout(10 * MS)
        sock = h1.socket("udp")
        sock.bind(("0.0.0.0", 6001))
        (mapped,) = lan.nat.nat.lookup_mapping(17, IPv4Address("192.168.1.20"), 6000)
        got["mapped"] = mapped
        yield sock.sendto(b"via the outside address", (str(mapped[0]), mapped[1]))

    _run(net, h2_app(), h1_app(), until="1s")
    assert got["mapped"] == (IPv4Address(NAT_OUTSIDE), 6000)
    assert got["h2"] == (b"via the outside address", (NAT_OUTSIDE, 6001))


def test_hairpinning_off_drops_and_counts() -> None:
    net, lan, _isp, _servers = lan_behind(behaviour=HAIRPIN_OFF,
                                          forwards=[PortForward(17, None, 5353, "192.168.1.20", 5353)])
    h1, h2 = lan.hosts
    got: dict[str, Any] = {}

    def server() -> Process:
        sock = h2.socket("udp")
        sock.bind(("0.0.0.0", 5353))
        sock.settimeout("1s")
        try:
            got["server"] = yield sock.recvfrom(100)
        except TimeoutError:
            got["server"] = None

    def client() -> Process:
        sock = h1.socket("udp")
        for _ in range(3):
            yield sock.sendto(b"hairpin?", (NAT_OUTSIDE, 5353))

    _run(net, server(), client(), until="2s")
    assert got["server"] is None
    assert lan.nat.nat_counters == {"hairpin disabled": 3}
    assert lan.nat["eth0"].counters.drops["nat-hairpin-disabled"] == 3
    assert lan.nat.nat.drops == {"hairpin disabled": 3}
    assert len(lan.nat.nat) == 0


# --- timeouts by state ---------------------------------------------------------------------------

SHORT = Timeouts(udp=10 * S, udp_stream=20 * S, tcp_syn_sent=5 * S, tcp_established=600 * S)


def _ct(nat: Any, proto: str) -> list[str]:
    return [line for line in nat.conntrack() if line.startswith(proto)]


def _remaining(line: str) -> int:
    return int(line.split()[2])


@pytest.mark.parametrize("behaviour", ["port-restricted-cone", "symmetric"])
def test_udp_mapping_expires_after_its_timeout_and_a_late_packet_is_dropped(behaviour: str) -> None:
    lec = lecture_2_4(behaviour=attrs.evolve(PRESETS[behaviour], timeouts=SHORT))
    net, nat = lec.net, lec.nat
    got: dict[str, Any] = {"client": [], "lines": {}}

    def server() -> Process:
        sock = lec.server.socket("udp")
        sock.bind(("0.0.0.0", 9000))
        data, sender = yield sock.recvfrom(100)
        got["first_sender"] = sender
        yield sock.sendto(b"echo " + data, sender)
        yield net.env.timeout(12 * S - net.now)
        yield sock.sendto(b"late", sender)  # the mapping is gone
        data, sender = yield sock.recvfrom(100)
        got["second_sender"] = sender
        yield sock.sendto(b"echo " + data, sender)

    def client() -> Process:
        sock = lec.client.socket("udp")
        sock.bind(("0.0.0.0", 5000))
        yield sock.sendto(b"one", (SERVER, 9000))
        got["client"].append((yield sock.recvfrom(100)))
        for t in (1, 9):
            yield net.env.timeout(t * S - net.now)
            got["lines"][t] = _ct(nat, "udp")
        yield net.env.timeout(11 * S - net.now)
        got["lines"][11] = _ct(nat, "udp")
        yield net.env.timeout(13 * S - net.now)
        yield sock.sendto(b"two", (SERVER, 9000))
        got["client"].append((yield sock.recvfrom(100)))
        got["lines"][13] = _ct(nat, "udp")

    _run(net, server(), client(), until="15s")
    (line_1,) = got["lines"][1]
    # the reply at ~1 ms set the deadline to ~10.001 s (udp = 10 s: a reply in the first 2 s
    # does not make a stream)
    assert _remaining(line_1) == 9 and "[UNREPLIED]" not in line_1 and "[ASSURED]" not in line_1
    assert _remaining(got["lines"][9][0]) == 1
    assert got["lines"][11] == []  # expired at 10 s after the last packet
    # the late datagram found no mapping: not delivered (the router's own stack got it)
    assert [data for data, _ in got["client"]] == [b"echo one", b"echo two"]
    assert nat.nat.drops == {"no mapping": 1}
    assert nat.counters.get("forwarded", 0) == 4
    (line_13,) = got["lines"][13]
    assert _remaining(line_13) == 9
    first, second = got["first_sender"], got["second_sender"]
    assert first[0] == second[0] == NAT_OUTSIDE
    if behaviour == "port-restricted-cone":
        assert first == second == (NAT_OUTSIDE, 5000)  # the port is preserved again
    else:
        assert first[1] != second[1]  # symmetric: sequential ports, a new one


def test_tcp_established_survives_a_long_idle_while_a_syn_sent_entry_expires() -> None:
    lec = lecture_2_4(behaviour=attrs.evolve(PRESETS["linux-masquerade"], timeouts=SHORT))
    net, nat, client = lec.net, lec.nat, lec.client
    lec.isp.add_blackhole("203.0.113.99/32")  # SYNs to it vanish: no answer, no error
    got: dict[str, Any] = {"lines": {}}

    def app() -> Process:
        sock = client.socket("tcp")
        sock.bind(("0.0.0.0", 55001))
        yield sock.connect((SERVER, 9000))
        yield sock.sendall(b"before")
        got["before"] = yield sock.recv(100)
        started = net.now
        syn = TCPSegment(src_port=40000, dst_port=9000, seq=1, flags=TCPFlags.SYN, window=64240)
        client.send_ip(IPv4Address("192.168.1.10"), IPv4Address("203.0.113.99"), 6, syn, df=True)
        for t in (2, 4, 6, 500):
            yield net.env.timeout(started + t * S - net.now)
            got["lines"][t] = _ct(nat, "tcp")
        yield sock.sendall(b"after 500 s idle")
        got["after"] = yield sock.recv(100)
        sock.close()

    _run(net, accept_one(lec.server, 9000, Seen()), app(), until="600s")
    assert got["before"] == b"before" and got["after"] == b"after 500 s idle"
    syn_sent, established = got["lines"][2]  # sorted by original tuple: 203.0.113.99 first
    assert established.split()[3] == "ESTABLISHED" and "[ASSURED]" in established
    assert 597 <= _remaining(established) <= 598
    assert syn_sent.split()[3] == "SYN_SENT" and "[UNREPLIED]" in syn_sent and "dst=203.0.113.99" in syn_sent
    assert _remaining(syn_sent) == 3
    assert _remaining(got["lines"][4][0]) == 1
    (only,) = got["lines"][6]  # the SYN_SENT entry expired at 5 s
    assert only.split()[3] == "ESTABLISHED"
    (idle,) = got["lines"][500]
    assert idle.split()[3] == "ESTABLISHED" and 98 <= _remaining(idle) <= 100  # 600 s from the last ACK


# --- port exhaustion -----------------------------------------------------------------------------

TWO_PORTS = NatBehaviour(port_range=(40000, 40001))


def test_port_exhaustion_new_udp_flows_are_dropped_and_counted_existing_ones_keep_working() -> None:
    net, lan, _isp, (server,) = lan_behind(behaviour=TWO_PORTS, clients=1)
    (client,) = lan.hosts
    answers: dict[int, list[Any]] = {}

    def echo() -> Process:
        sock = server.socket("udp")
        sock.bind(("0.0.0.0", 7))
        while True:
            data, sender = yield sock.recvfrom(100)
            yield sock.sendto(data, sender)

    def flows() -> Process:
        socks = {}
        for port in (5001, 5002, 5003):
            sock = socks[port] = client.socket("udp")
            sock.bind(("0.0.0.0", port))
            sock.settimeout("500ms")
        for round_ in range(2):
            for port, sock in socks.items():
                yield sock.sendto(f"{port} {round_}".encode(), (SERVER, 7))
                try:
                    data, _sender = yield sock.recvfrom(100)
                except TimeoutError:
                    data = None
                answers.setdefault(port, []).append(data)

    net.process(echo())
    _run(net, flows(), until="5s")
    assert answers == {5001: [b"5001 0", b"5001 1"], 5002: [b"5002 0", b"5002 1"], 5003: [None, None]}
    assert lan.nat.nat_counters == {"ports exhausted": 2}
    assert lan.nat["eth0"].counters.drops["nat-ports-exhausted"] == 2
    assert sorted(e.outside[1] for e in lan.nat.nat.entries()) == [40000, 40001]


def test_port_exhaustion_a_new_tcp_connection_times_out_while_two_open_ones_echo() -> None:
    net, lan, _isp, (server,) = lan_behind(behaviour=TWO_PORTS, clients=1)
    (client,) = lan.hosts
    stats = ServerStats()
    net.process(tcp_echo_server(server, 9000, stats=stats))

    def later(delay: int, message: bytes, hold: int = 0) -> Process:
        yield net.env.timeout(delay)
        return (yield net.process(tcp_client(client, (SERVER, 9000), message=message, hold=hold)))

    first, second, third = _run(net, later(0, b"one", hold=200 * S), later(MS, b"two", hold=200 * S),
                                later(10 * MS, b"three"), until="300s")
    assert first.echo_ok and second.echo_ok and first.error is None and second.error is None
    assert third.error == "ETIMEDOUT" and third.connected_at is None
    assert {peer[1] for peer in stats.peers} == {40000, 40001}
    assert lan.nat.nat_counters["ports exhausted"] >= 6  # the SYN and its retransmissions


# --- ICMP through the NAT -------------------------------------------------------------------------


def test_icmp_port_unreachable_is_translated_back_to_a_connected_udp_socket_as_econnrefused() -> None:
    lec = lecture_2_4()
    got: dict[str, Any] = {}

    def client() -> Process:
        sock = lec.client.socket("udp")
        sock.connect((SERVER, 9999))  # nobody listens there
        yield sock.send(b"anyone?")
        try:
            yield sock.recv(100)
        except OSError as exc:
            got["errno"] = exc.errno
        got["local"] = sock.getsockname()

    _run(lec.net, client(), until="1s")
    assert got["errno"] == errno.ECONNREFUSED
    assert lec.nat.counters.get("forwarded", 0) == 2  # the datagram out, the translated error in


def test_traceroute_through_the_nat_shows_the_nat_then_the_internet() -> None:
    lec = lecture_2_4()
    (result,) = _run(lec.net, traceroute(lec.client, SERVER, probes=1, timeout="1s"), until="30s")
    assert result.reached
    assert [hop.responders[0] for hop in result.hops] == ["192.168.1.1", "198.51.100.1", SERVER]


def test_icmp_echo_identifiers_are_translated_so_two_inside_pingers_do_not_collide() -> None:
    net, lan, _isp, (_server,) = lan_behind(clients=2)
    capture = Capture([lan.nat["eth1"]], "icmp")
    got: dict[str, Any] = {}

    def pinger(host: Any, delay: int) -> Process:
        yield net.env.timeout(delay)
        sock = host.socket("icmp")
        sock.bind(("0.0.0.0", 777))  # the same identifier on both hosts
        sock.settimeout("1s")
        from netsim.wire.icmpv4 import ICMPv4Echo, ICMPv4Message

        yield sock.sendto(ICMPv4Echo(8, 0, 1, b"ping").to_bytes(), (SERVER, 0))
        data, sender = yield sock.recvfrom(100)
        reply = ICMPv4Message.parse(data)
        got[host.name] = (sender[0], reply.identifier, reply.sequence)

    _run(net, pinger(lan.hosts[0], 0), pinger(lan.hosts[1], MS), until="2s")
    assert got == {"nat-h1": (SERVER, 777, 1), "nat-h2": (SERVER, 777, 1)}
    outside_ids = sorted({int(line.split("id ")[1].split(",")[0]) for line in capture.lines()})
    assert len(outside_ids) == 2 and 777 in outside_ids  # the first kept it, the second got another
    entries = [e for e in lan.nat.nat.entries() if e.protocol == 1]
    assert sorted(e.outside[1] for e in entries) == outside_ids
    (result,) = _run(net, ping(lan.hosts[0], SERVER, count=3, interval="100ms"), until=net.now + S)
    assert result.received == 3


def _errno_name(exc: OSError) -> str:
    return "timeout" if isinstance(exc, TimeoutError) else errno.errorcode[exc.errno or 0]


# --- NAT reboot ----------------------------------------------------------------------------------


def _reboot_run(behaviour: Any, *, server_speaks_first: bool = False) -> tuple[Any, Seen, dict[str, Any]]:
    lec = lecture_2_4(behaviour=behaviour)
    net = lec.net
    seen = Seen()
    got: dict[str, Any] = {}

    def first(conn: Any) -> Process:
        seen.values["first_peer"] = conn.getpeername()
        try:
            data = yield conn.recv(100)
            yield conn.sendall(data)
            if server_speaks_first:
                yield net.env.timeout(2 * S - net.now)
                yield conn.sendall(b"server after reboot")
                yield conn.recv(100)
            else:
                seen.values["after"] = yield conn.recv(100)
                yield conn.sendall(seen.values["after"])
                yield conn.recv(100)
        except OSError as exc:
            seen.values["server_error"] = _errno_name(exc)

    def then(conn: Any) -> Process:
        seen.values["new_peer"] = conn.getpeername()
        data = yield conn.recv(100)
        yield conn.sendall(data)
        conn.close()

    def server() -> Process:
        listener = lec.server.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen(8)
        for handler in (first, then):
            conn, _peer = yield listener.accept()
            net.process(handler(conn))

    def client() -> Process:
        sock = lec.client.socket("tcp")
        sock.settimeout("30s")
        sock.bind(("0.0.0.0", 55001))
        yield sock.connect((SERVER, 9000))
        yield sock.sendall(b"before")
        got["before"] = yield sock.recv(100)
        yield net.env.timeout(1 * S - net.now)
        got["flushed"] = lec.nat.flush_nat()
        got["lines_after_flush"] = lec.nat.conntrack()
        try:
            if not server_speaks_first:
                yield sock.sendall(b"after")
            got["after"] = yield sock.recv(100)
        except OSError as exc:
            got["error"] = _errno_name(exc)
        got["lines"] = lec.nat.conntrack()
        sock.close()
        yield net.env.timeout(max(0, 5 * S - net.now))
        got["new"] = yield net.process(tcp_client(lec.client, (SERVER, 9000), message=b"new"))

    _run(net, server(), client(), until="60s")
    return lec, seen, got


def test_nat_reboot_with_port_preservation_the_next_segment_is_picked_up_and_the_connection_lives() -> None:
    """Linux: nf_conntrack_tcp_loose picks the connection up from a mid-stream ACK, and MASQUERADE
    keeps the port (it is free after the flush), so the server sees the same tuple."""
    _lec, seen, got = _reboot_run("linux-masquerade")
    assert got["flushed"] == 1 and got["lines_after_flush"] == []
    assert got["before"] == b"before" and got["after"] == b"after" and "error" not in got
    assert seen.values["first_peer"] == (NAT_OUTSIDE, 55001)
    # the entry was re-created from the client's ACK: ESTABLISHED, but not from a handshake
    (picked_up,) = [line for line in got["lines"] if "sport=55001" in line]
    assert picked_up.split()[3] == "ESTABLISHED"
    assert got["new"].echo_ok and got["new"].error is None
    assert seen.values["new_peer"][0] == NAT_OUTSIDE


def test_nat_reboot_with_random_ports_the_server_resets_the_orphaned_connection() -> None:
    behaviour = NatBehaviour(port_assignment=PortAssignment.RANDOM)
    lec, seen, got = _reboot_run(behaviour)
    assert got["flushed"] == 1
    first_port = seen.values["first_peer"][1]
    # the client's next segment gets a new mapping (a new port): the server knows no such
    # connection and answers RST, which the new entry carries back to the client
    assert got["error"] == "ECONNRESET" and "after" not in got
    assert "after" not in seen.values  # the server's connection never heard of it
    assert got["lines"] and all(f"dport={first_port} " not in line for line in got["lines"])
    assert any("CLOSE" in line.split()[3] for line in got["lines"])
    # nothing else is corrupted: a new connection works
    assert got["new"].echo_ok and got["new"].error is None
    assert lec.nat.nat_counters == {}


def test_nat_reboot_when_the_server_speaks_first_the_nat_itself_answers_rst() -> None:
    behaviour = NatBehaviour(port_assignment=PortAssignment.RANDOM)
    lec, seen, got = _reboot_run(behaviour, server_speaks_first=True)
    # the server's segment finds no entry and goes to the NAT router's own stack, which has no
    # such socket and answers RST (Linux does the same); the client hears nothing
    assert lec.nat.nat.drops["no mapping"] == 1
    assert seen.values["server_error"] == "ECONNRESET"
    # the client gives up and closes: its FIN (and retransmissions) cannot open an entry
    assert set(lec.nat.nat.drops) == {"no mapping", "invalid"}
    assert lec.nat.nat_counters == {"invalid": lec.nat.nat.drops["invalid"]}
    assert got["error"] == "timeout" and got["lines"] == []  # its 30 s receive timeout
    assert got["new"].echo_ok and seen.values["new_peer"][0] == NAT_OUTSIDE


# --- double NAT, port forwarding ----------------------------------------------------------------


def test_double_nat_the_view_has_two_nat_links_and_the_server_sees_the_cgn_address() -> None:
    net, client, home_nat, cgn, server = double_nat()
    seen = Seen()
    got: dict[str, Any] = {}

    def app() -> Process:
        sock = client.socket("tcp")
        sock.bind(("0.0.0.0", 55001))
        yield sock.connect((SERVER, 9000))
        yield sock.sendall(b"two NATs")
        got["echo"] = yield sock.recv(100)
        got["view"] = connection_view(net, sock)
        sock.close()

    _run(net, accept_one(server, 9000, seen), app(), until="5s")
    view = got["view"]
    assert got["echo"] == b"two NATs"
    assert [link.node for link in view.nat_links] == ["home", "cgn"]
    home_link, cgn_link = view.nat_links
    assert home_link.after.src == IPv4Address("100.64.0.2")
    assert home_link.after == cgn_link.before
    assert cgn_link.after.src == IPv4Address(NAT_OUTSIDE)
    assert view.client.five_tuple == ("192.168.1.10", 55001, SERVER, 9000, "TCP")
    assert view.server.five_tuple[:2] == seen.values["server_peer"]
    assert seen.values["server_peer"][0] == NAT_OUTSIDE
    observers = [o.observer for o in view.observations]
    assert "home:eth0 in (inside)" in observers and "cgn:eth0 in (inside)" in observers
    assert view.observer("cgn:eth0 in (inside)").src == IPv4Address("100.64.0.2")
    # each NAT's table knows only its own side: the CGN never sees the home network's address
    (home_line,) = home_nat.conntrack()
    (cgn_line,) = cgn.conntrack()
    assert "src=192.168.1.10" in home_line and "dst=100.64.0.2" in home_line
    assert "src=100.64.0.2" in cgn_line and f"dst={NAT_OUTSIDE}" in cgn_line and "192.168" not in cgn_line


def test_port_forwarding_an_outside_client_reaches_an_inside_server_which_sees_its_real_address() -> None:
    net, lan, _isp, (outside,) = lan_behind(clients=1,
                                            forwards=[PortForward(TCP, None, 8080, "192.168.1.10", 80)])
    (inside,) = lan.hosts
    seen = Seen()
    got: dict[str, Any] = {}

    def app() -> Process:
        sock = outside.socket("tcp")
        yield sock.connect((NAT_OUTSIDE, 8080))
        got["local"], got["peer"] = sock.getsockname(), sock.getpeername()
        yield sock.sendall(b"dnat")
        got["echo"] = yield sock.recv(100)
        got["view"] = connection_view(net, sock)
        got["lines"] = lan.nat.conntrack()
        sock.close()

    _run(net, accept_one(inside, 80, seen), app(), until="5s")
    assert got["echo"] == b"dnat" and got["peer"] == (NAT_OUTSIDE, 8080)
    assert seen.values["server_local"] == ("192.168.1.10", 80)
    assert seen.values["server_peer"] == got["local"] and got["local"][0] == SERVER
    view = got["view"]
    (link,) = view.nat_links
    assert link.before.dst == IPv4Address(NAT_OUTSIDE) and link.after.dst == IPv4Address("192.168.1.10")
    assert view.server.five_tuple == (SERVER, got["local"][1], "192.168.1.10", 80, "TCP")
    assert "nat:eth1 in (outside)" in [o.observer for o in view.observations]
    (line,) = got["lines"]
    assert re.search(rf"src={SERVER} dst={NAT_OUTSIDE} sport=\d+ dport=8080 src=192.168.1.10 dst={SERVER} "
                     r"sport=80 dport=\d+", line)


def test_flow_view_of_a_udp_flow_through_the_nat() -> None:
    lec = lecture_2_4(behaviour=LECTURE_NAT)

    def app() -> Process:
        sock = lec.server.socket("udp")
        sock.bind(("0.0.0.0", 53))
        client = lec.client.socket("udp")
        client.bind(("0.0.0.0", 5353))
        yield client.sendto(b"query", (SERVER, 53))
        yield sock.recvfrom(100)
        return flow_view(lec.net, lec.client, flow("udp", "192.168.1.10", 5353, SERVER, 53))

    (view,) = _run(lec.net, app(), until="1s")
    assert view.complete and view.server.five_tuple == (NAT_OUTSIDE, 62000, SERVER, 53, "UDP")
    assert view.observations[-1].observer == "server socket"


# --- captures on both sides, checked by tshark ---------------------------------------------------


@pytest.mark.tshark
def test_captures_inside_and_outside_show_the_rewrite_and_tshark_finds_no_defect(tmp_path: Path) -> None:
    lec = lecture_2_4(behaviour=LECTURE_NAT)
    net, nat = lec.net, lec.nat
    inside_pcap, outside_pcap = tmp_path / "inside.pcap", tmp_path / "outside.pcap"
    inside = Capture([nat["eth0"]], "ip", path=inside_pcap)
    outside = Capture([nat["eth1"]], "ip", path=outside_pcap)
    seen = Seen()

    def client() -> Process:
        sock = lec.client.socket("tcp")
        sock.bind(("0.0.0.0", 55001))
        yield sock.connect((SERVER, 9000))
        yield sock.sendall(bytes(range(256)) * 20)
        got = 0
        while got < 5120:
            got += len((yield sock.recv(65536)))
        sock.close()
        udp = lec.client.socket("udp")
        udp.connect((SERVER, 9999))  # closed: an ICMP port unreachable comes back, translated
        seen.values["udp_port"] = udp.getsockname()[1]
        yield udp.send(b"x" * 33)
        with contextlib.suppress(OSError):
            yield udp.recv(100)
        yield net.process(ping(lec.client, SERVER, count=2, interval="10ms"))

    _run(net, accept_one(lec.server, 9000, seen), client(), until="5s")
    inside.close()
    outside.close()
    fields = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport"]
    inside_rows = {tuple(r) for r in tshark_fields(inside_pcap, fields, "tcp")}
    outside_rows = {tuple(r) for r in tshark_fields(outside_pcap, fields, "tcp")}
    assert inside_rows == {("192.168.1.10", "55001", SERVER, "9000"), (SERVER, "9000", "192.168.1.10", "55001")}
    assert outside_rows == {(NAT_OUTSIDE, "62000", SERVER, "9000"), (SERVER, "9000", NAT_OUTSIDE, "62000")}
    # the ICMP error: the quoted datagram is rewritten too (RFC 5508 §4.2)
    icmp_fields = ["ip.dst", "udp.srcport"]
    assert tshark_fields(outside_pcap, icmp_fields, "icmp.type == 3") == [[f"{NAT_OUTSIDE},{SERVER}", "62000"]]
    assert tshark_fields(inside_pcap, icmp_fields, "icmp.type == 3") == [
        [f"192.168.1.10,{SERVER}", str(seen.values["udp_port"])]]
    # the echo identifiers, inside and outside
    echo_ids = ["icmp.ident"]
    inside_ids = {r[0] for r in tshark_fields(inside_pcap, echo_ids, "icmp.type == 8")}
    outside_ids = {r[0] for r in tshark_fields(outside_pcap, echo_ids, "icmp.type == 8")}
    assert len(inside_ids) == len(outside_ids) == 1
    assert defects(inside_pcap) == [] and defects(outside_pcap) == []


def test_views_follow_links_when_two_home_networks_use_the_same_private_addresses() -> None:
    net, lan_a, lan_b, server = two_nats("linux-masquerade", "symmetric")
    views: dict[str, Any] = {}

    def client(lan: Any, key: str) -> Process:
        sock = lan.hosts[0].socket("tcp")
        sock.bind(("0.0.0.0", 55001))
        yield sock.connect((SERVER, 9000))
        yield sock.sendall(key.encode())
        yield sock.recv(100)
        views[key] = connection_view(net, sock)
        sock.close()

    net.process(tcp_echo_server(server, 9000, connections=2))
    _run(net, client(lan_a, "a"), client(lan_b, "b"), until="5s")
    for key, nat_name, outside in (("a", "nat-a", NAT_OUTSIDE), ("b", "nat-b", NAT2_OUTSIDE)):
        view = views[key]
        assert view.complete
        assert view.client.five_tuple == ("192.168.1.10", 55001, SERVER, 9000, "TCP")  # the same on both
        assert [link.node for link in view.nat_links] == [nat_name]
        assert view.server.src == IPv4Address(outside)


# --- fragments and the MTU through the NAT --------------------------------------------------------


def _udp_pair(lec: Any) -> tuple[Any, Any]:
    """A UDP socket on the server's port 53 and one on the client's 5353."""
    server = lec.server.socket("udp")
    server.bind(("0.0.0.0", 53))
    client = lec.client.socket("udp")
    client.bind(("0.0.0.0", 5353))
    return server, client


def test_a_fragmented_datagram_is_reassembled_translated_and_fragmented_again() -> None:
    """Linux's nf_defrag: the NAT needs the ports, which only the first fragment carries, so it
    reassembles, translates the whole datagram and fragments it again on the way out."""
    lec = lecture_2_4(behaviour=LECTURE_NAT)
    data = bytes(range(256)) * 16  # 4096 bytes: three fragments on a 1500-byte link

    def app() -> Process:
        server, client = _udp_pair(lec)
        yield client.sendto(data, (SERVER, 53))
        return (yield server.recvfrom(65535))

    (received,) = _run(lec.net, app(), until="1s")
    assert received == (data, (NAT_OUTSIDE, 62000))
    assert lec.nat.nat.entries()[0].packets_out == 1  # one datagram, not three fragments


def test_a_df_datagram_too_big_for_the_outside_link_gets_frag_needed_quoting_the_inside_packet() -> None:
    """RFC 1812 §5.2.7.1 at the NAT: the error quotes the datagram as the client sent it (Linux
    checks the MTU before POSTROUTING's SNAT), so the client's PMTU cache learns the outside
    link's MTU, and its next datagram, fragmented to fit, gets through."""
    lec = lecture_2_4(behaviour=LECTURE_NAT)
    lec.nat.interfaces["eth1"].mtu = 1200
    data = b"x" * 1400  # fits the client's 1500-byte link, so Linux sets DF

    def app() -> Process:
        server, client = _udp_pair(lec)
        yield client.sendto(data, (SERVER, 53))
        yield lec.net.env.timeout(10 * MS)
        yield client.sendto(data, (SERVER, 53))
        return (yield server.recvfrom(65535))

    (received,) = _run(lec.net, app(), until="1s")
    assert lec.nat.interfaces["eth0"].counters.drops["fragmentation-needed"] == 1
    assert lec.client.path_mtu(IPv4Address(SERVER), lec.client.interfaces["eth0"]) == 1200
    assert received == (data, (NAT_OUTSIDE, 62000))


# --- what becomes of a packet the filtering refuses ------------------------------------------------


@pytest.mark.parametrize(("behaviour", "outcome"), [("linux-masquerade", "refused"),
                                                     ("port-restricted-cone", "silence")])
def test_a_refused_packet_is_answered_by_the_router_s_stack_or_dropped_in_silence(behaviour: str,
                                                                                   outcome: str) -> None:
    """A datagram from a remote port no entry knows, to an outside port a mapping uses: Linux's
    masquerade hands it to its own stack (port unreachable; unsolicited = ANSWER); a firewalled
    NAT drops it in silence (DROP, the other presets)."""
    lec = lecture_2_4(behaviour=behaviour)
    got: dict[str, Any] = {}

    def app() -> Process:
        server, client = _udp_pair(lec)
        yield client.sendto(b"query", (SERVER, 53))
        _data, (_address, port) = yield server.recvfrom(100)  # the mapping's outside port
        stranger = lec.server.socket("udp")
        stranger.bind(("0.0.0.0", 99))
        stranger.settimeout("1s")
        yield stranger.connect((NAT_OUTSIDE, port))
        yield stranger.send(b"hello?")
        try:
            yield stranger.recv(10)
            got["outcome"] = "answered"
        except ConnectionRefusedError:
            got["outcome"] = "refused"
        except TimeoutError:
            got["outcome"] = "silence"

    _run(lec.net, app(), until="3s")
    assert got["outcome"] == outcome
    assert lec.nat.nat.drops == {"filtered": 1}
    assert lec.nat.nat_counters == {"filtered": 1}
    assert lec.nat["eth1"].counters.drops.get("nat-filtered", 0) == (1 if outcome == "silence" else 0)


def test_every_kind_of_node_has_its_loopback_address() -> None:
    """A NAT router sets up its own state from a hook after the host's (see Host._init_node):
    the host's part, 127.0.0.1/8 on lo included, must still be there."""
    net = Network(0)
    for node in (net.add_host("h"), net.add_router("r"), net.add_nat_router("n")):
        assert IPv4Interface("127.0.0.1/8") in node.iface("lo").addresses, node.kind
        assert node.route_to(IPv4Address("127.0.0.1")) is not None
    assert net.add_nat_router("n2").nat is None
