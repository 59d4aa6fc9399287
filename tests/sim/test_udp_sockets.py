"""UDP and the socket API: boundaries, ephemeral ports, bind rules, connected UDP and ICMP errors,
multi-homed source selection (lecture 2.7, 2.10 quiz 1)."""

from __future__ import annotations

import errno
import socket

import pytest

from netsim.sim.apps import udp_echo_server
from netsim.sim.network import Network
from tests.sim.topologies import two_hosts


def test_datagrams_keep_their_boundaries_and_sender() -> None:
    net, h1, h2 = two_hosts()
    server = h2.socket("udp")
    server.bind(("0.0.0.0", 9000))
    client = h1.socket("udp")

    def send():  # type: ignore[no-untyped-def]
        for message in (b"one", b"two two", b"three three three"):
            yield client.sendto(message, ("10.0.0.2", 9000))

    def receive():  # type: ignore[no-untyped-def]
        got = []
        for _ in range(3):
            got.append((yield server.recvfrom(100)))
        return got

    net.process(send())
    receiver = net.process(receive())
    net.run()
    port = client.getsockname()[1]
    assert 32768 <= port <= 60999
    assert receiver.value == [(b"one", ("10.0.0.1", port)), (b"two two", ("10.0.0.1", port)),
                              (b"three three three", ("10.0.0.1", port))]


def test_recv_cuts_a_datagram_to_the_buffer_and_discards_the_rest() -> None:
    net, h1, h2 = two_hosts()
    server = h2.socket("udp")
    server.bind(("10.0.0.2", 9000))
    client = h1.socket("udp")
    client.sendto(b"0123456789", ("10.0.0.2", 9000))
    client.sendto(b"next", ("10.0.0.2", 9000))

    def receive():  # type: ignore[no-untyped-def]
        first = yield server.recv(4)
        second = yield server.recv(100)
        return first, second

    process = net.process(receive())
    net.run()
    assert process.value == (b"0123", b"next")


def test_udp_echo_round_trip_through_the_app() -> None:
    net, h1, h2 = two_hosts()
    net.process(udp_echo_server(h2, 7))
    client = h1.socket("udp")
    client.settimeout("1s")

    def run():  # type: ignore[no-untyped-def]
        yield client.connect(("10.0.0.2", 7))
        yield client.send(b"hello")
        return (yield client.recv(100))

    process = net.process(run())
    net.run(until="2s")
    assert process.value == b"hello"


def test_connected_udp_gets_econnrefused_after_port_unreachable() -> None:
    net, h1, h2 = two_hosts()
    client = h1.socket("udp")

    def run():  # type: ignore[no-untyped-def]
        yield client.connect(("10.0.0.2", 9999))
        yield client.send(b"anyone?")
        try:
            yield client.recv(100)
        except ConnectionRefusedError as exc:
            return exc.errno
        return None

    process = net.process(run())
    net.run()
    assert process.value == errno.ECONNREFUSED
    assert h2["eth0"].counters.drops["udp-no-socket"] == 1
    calls = [r.fields["call"] for r in net.trace.select("syscall", "h1")]
    assert calls == ["socket", "connect", "send", "recv"]


def test_unconnected_udp_ignores_icmp_errors_like_linux() -> None:
    net, h1, _h2 = two_hosts()
    client = h1.socket("udp")
    client.settimeout("100ms")

    def run():  # type: ignore[no-untyped-def]
        yield client.sendto(b"x", ("10.0.0.2", 9999))
        try:
            yield client.recvfrom(100)
        except TimeoutError:
            return "timeout"
        return "data"

    process = net.process(run())
    net.run()
    assert process.value == "timeout"


def test_bind_rules_eaddrinuse_eaddrnotavail_and_reuseaddr() -> None:
    _net, h1, _h2 = two_hosts()
    first = h1.socket("udp")
    first.bind(("0.0.0.0", 5000))
    second = h1.socket("udp")
    with pytest.raises(OSError) as caught:
        second.bind(("10.0.0.1", 5000))
    assert caught.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError) as caught:
        second.bind(("10.9.9.9", 5001))
    assert caught.value.errno == errno.EADDRNOTAVAIL
    third, fourth = h1.socket("udp"), h1.socket("udp")
    for sock in (third, fourth):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("10.0.0.1", 6000))
    assert first.fd == 3 and second.fd == 4
    first.close()
    assert h1.socket("udp").fd == 3  # the lowest free descriptor again


def test_emsgsize_above_the_ipv4_limit() -> None:
    _net, h1, _h2 = two_hosts()
    sock = h1.socket("udp")
    with pytest.raises(OSError) as caught:
        sock.sendto(bytes(65508), ("10.0.0.2", 9))
    assert caught.value.errno == errno.EMSGSIZE


def test_ephemeral_ports_come_from_the_configured_range_and_run_out() -> None:
    net = Network(1)
    host = net.add_host("h", ip_local_port_range=(40000, 40002))
    host.add_interface("eth0")
    host.add_address("eth0", "10.0.0.1/24")
    socks = [host.socket("udp") for _ in range(3)]
    for sock in socks:
        sock.bind(("0.0.0.0", 0))
    assert sorted(s.getsockname()[1] for s in socks) == [40000, 40001, 40002]
    with pytest.raises(OSError) as caught:
        host.socket("udp").bind(("0.0.0.0", 0))
    assert caught.value.errno == errno.EAGAIN


def test_quiz1_multi_homed_server_sees_the_address_the_client_used() -> None:
    """Lecture 2.10 quiz 1: one machine, a server on 0.0.0.0:9000 reached via 127.0.0.1 and via 10.0.0.5."""
    net = Network(0)
    host = net.add_host("server")
    host.add_interface("eth0")
    host.add_address("eth0", "10.0.0.5/24")
    server = host.socket("udp")
    server.bind(("0.0.0.0", 9000))
    net.process(udp_echo_server(host, 9001))
    seen = []
    for target in ("127.0.0.1", "10.0.0.5"):
        client = host.socket("udp")
        client.connect((target, 9000))
        seen.append(client.getsockname()[0])
        client.send(b"hi")

    def collect():  # type: ignore[no-untyped-def]
        peers = []
        for _ in range(2):
            _data, (peer, _port) = yield server.recvfrom(10)
            peers.append(peer)
        return peers

    process = net.process(collect())
    net.run()
    assert seen == ["127.0.0.1", "10.0.0.5"]
    assert process.value == ["127.0.0.1", "10.0.0.5"]


def test_unknown_socket_kinds_fail_with_a_clear_errno() -> None:
    _net, h1, _h2 = two_hosts()
    with pytest.raises(OSError) as caught:
        h1.socket("sctp")
    assert caught.value.errno == errno.EPROTONOSUPPORT


def test_privileged_ports_need_privilege() -> None:
    _net, h1, _h2 = two_hosts()
    with pytest.raises(PermissionError) as caught:
        h1.socket("udp", privileged=False).bind(("0.0.0.0", 53))
    assert caught.value.errno == errno.EACCES
    h1.socket("udp", privileged=False).bind(("0.0.0.0", 1024))
    h1.socket("udp").bind(("0.0.0.0", 53))  # root may


def test_icmp_errors_are_rate_limited_like_linux() -> None:
    net, h1, h2 = two_hosts()
    client = h1.socket("udp")
    h1.neighbors["eth0"].fill(h2["eth0"].ipv4[0].ip, h2["eth0"].mac, 0)  # no ARP queue in the way

    def flood():  # type: ignore[no-untyped-def]
        for _ in range(200):
            yield client.sendto(b"x", ("10.0.0.2", 9))  # nothing listens: each earns a port unreachable
        yield net.env.timeout(1_000_000_000)
        yield client.sendto(b"x", ("10.0.0.2", 9))

    net.process(flood())
    net.run()
    unreachables = [r for r in net.trace.select("tx", "h2:eth0") if r.fields["data"][23] == 1]
    # Linux: per destination, a burst of 6 then one per second (icmp_ratelimit = 1000 ms), inside a
    # host-wide 1000/s with a burst of 50; the flood took well under a second, one more came later
    assert len(unreachables) == 7
    assert h2.counters["icmp-ratelimited"] == 194
    assert h2.icmp_limiter.limited_host == 194


def test_directed_broadcast_needs_so_broadcast_and_reaches_wildcard_sockets() -> None:
    net, h1, h2 = two_hosts()
    listener = h2.socket("udp")
    listener.bind(("0.0.0.0", 5000))
    sender = h1.socket("udp")
    with pytest.raises(PermissionError):
        sender.sendto(b"all", ("10.0.0.255", 5000))
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sender.sendto(b"all", ("10.0.0.255", 5000))

    def receive():  # type: ignore[no-untyped-def]
        return (yield listener.recvfrom(10))

    process = net.process(receive())
    net.run()
    assert process.value[0] == b"all"
    frames = [r for r in net.trace.select("tx", "h1:eth0")]
    assert frames[0].fields["data"][:6] == b"\xff" * 6  # no ARP: sent to the broadcast MAC
