"""Every RFC 9293 state reached by real connections between simulated hosts, and the timers
that move them: simultaneous open and close, PMTUD, RTO backoff, the socket-call trace."""

from __future__ import annotations

import errno
import itertools
from ipaddress import IPv4Network
from typing import Any

from netsim.proto.tcp.states import TCPState
from netsim.sim.tcp_apps import ServerStats, tcp_client, tcp_echo_server
from netsim.units import MS, S
from tests.sim.topologies import two_hosts, two_routers

ST = TCPState


def _states(*socks: Any) -> set[TCPState]:
    seen: set[TCPState] = set()
    for sock in socks:
        for _now, old, new, _cause in sock.conn.transitions:
            seen |= {old, new}
    return seen


def test_an_ordinary_connection_and_close_visit_ten_states_and_simultaneous_close_the_eleventh() -> None:
    net, h1, h2 = two_hosts()
    held: dict[str, Any] = {}

    def server() -> Any:
        listener = h2.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen()
        conn, _peer = yield listener.accept()
        held["server"] = conn
        assert (yield conn.recv(10)) == b"hi"
        assert (yield conn.recv(10)) == b""  # the client's FIN: CLOSE-WAIT
        conn.close()  # LAST-ACK

    def client() -> Any:
        sock = h1.socket("tcp")
        held["client"] = sock
        yield sock.connect(("10.0.0.2", 9000))
        yield sock.sendall(b"hi")
        sock.close()  # FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT

    net.process(server())
    net.process(client())
    net.run("70s")
    seen = _states(held["client"], held["server"]) | {ST.LISTEN}
    assert seen == set(TCPState) - {ST.CLOSING}
    assert held["client"].conn.transitions[-1][1:3] == (ST.TIME_WAIT, ST.CLOSED)
    waited = held["client"].conn.transitions[-1][0] - held["client"].conn.transitions[-2][0]
    assert waited == 60 * S  # 2 MSL, Linux's TCP_TIMEWAIT_LEN

    # simultaneous close: both FINs cross, both sides pass through CLOSING
    net, h1, h2 = two_hosts(delay="5ms")
    socks: list[Any] = []

    def side(host: Any, port: int, peer: str, peer_port: int) -> Any:
        sock = host.socket("tcp")
        sock.bind(("0.0.0.0", port))
        socks.append(sock)
        yield sock.connect((peer, peer_port))  # simultaneous open as well: the SYNs cross
        yield net.env.timeout(100 * MS)
        sock.close()

    net.process(side(h1, 5000, "10.0.0.2", 6000))
    net.process(side(h2, 6000, "10.0.0.1", 5000))
    net.run("70s")
    for sock in socks:
        path = [(old, new) for _t, old, new, _c in sock.conn.transitions]
        assert (ST.SYN_SENT, ST.SYN_RECEIVED) in path  # simultaneous open (RFC 9293 figure 8)
        assert (ST.FIN_WAIT_1, ST.CLOSING) in path and (ST.CLOSING, ST.TIME_WAIT) in path  # figure 13
        assert path[-1] == (ST.TIME_WAIT, ST.CLOSED)


def test_pmtud_lowers_the_mss_when_a_router_reports_fragmentation_needed() -> None:
    net, h1, _r1, _r2, h2 = two_routers(middle_mtu=1400)
    stats = ServerStats()
    server = net.process(tcp_echo_server(h2, 9000, connections=1, stats=stats))
    client = net.process(tcp_client(h1, ("10.0.2.20", 9000), size=100_000))
    net.run("10s")
    result = client.value
    assert result.error is None and result.echo_ok is True
    assert h1.pmtu.lookup(h2["eth0"].ipv4[0].ip, net.now) == 1400
    drops = net.nodes["r1"].interfaces["eth0"].counters.drops
    assert drops.get("fragmentation-needed", 0) >= 1
    assert server.triggered and stats.bytes_received == 100_000


def test_data_retransmissions_back_off_and_give_up_after_linux_tcp_retries2() -> None:
    net, h1, r1, _r2, _h2 = two_routers(delay="1ms")
    net.process(tcp_echo_server(_h2, 9000))
    outcome: dict[str, Any] = {}

    def client() -> Any:
        sock = h1.socket("tcp")
        yield sock.connect(("10.0.2.20", 9000))
        r1.routes.remove(IPv4Network("10.0.2.0/24"))
        r1.add_blackhole("10.0.2.0/24")  # the path dies mid-connection
        outcome["sent_at"] = net.now
        yield sock.sendall(b"lost" * 100)
        try:
            yield sock.recv(100)
        except OSError as exc:
            outcome["errno"] = exc.errno
            outcome["failed_at"] = net.now
        outcome["expiries"] = list(sock.conn.rto_expiries) if sock.conn else None
        outcome["probes"] = sock.conn.loss_probes if sock.conn else None

    process = net.process(client())
    net.run("1000s")
    assert process.triggered
    assert outcome["errno"] == errno.ETIMEDOUT
    # Linux's retransmits_timed_out for tcp_retries2 = 15: (2**10 - 1) * 200 ms + 6 * 120 s = 924.6 s
    # from the first retransmission, a tail loss probe one RTO (srtt + 200 ms) after the send (the
    # probe timeout, 2 srtt + 200 ms for one segment out, comes later); the timer then doubles
    # from one RTO up to 120 s, and the connection is given up at the first expiry past that
    # boundary (16 expiries: 15 retransmissions after the probe)
    assert outcome["probes"] == 1
    probe = (outcome["expiries"][1] - outcome["expiries"][0]) // 2  # (the first RTO after it)
    expiries = [t - outcome["sent_at"] - probe for t in outcome["expiries"]]
    assert len(expiries) == 16
    assert expiries[-2] < 924_600 * MS <= expiries[-1] == outcome["failed_at"] - outcome["sent_at"] - probe
    gaps = [expiries[0]] + [b - a for a, b in itertools.pairwise(expiries)]
    assert 200 * MS < gaps[0] == probe < 220 * MS
    assert all(b == min(2 * a, 120 * S) for a, b in itertools.pairwise(gaps))


def test_the_socket_call_trace_shows_tcp_calls_in_order() -> None:
    net, h1, h2 = two_hosts()
    net.process(tcp_echo_server(h2, 9000, connections=1))
    net.process(tcp_client(h1, ("10.0.0.2", 9000), message=b"ping"))
    net.run("2s")
    calls = [(r.where, r.fields["call"], r.fields["result"]) for r in net.trace.select("syscall")]
    client_calls = [c for c in calls if c[0] == "h1"]
    assert [c[1] for c in client_calls][:4] == ["socket", "connect", "connect", "sendall"]
    assert client_calls[1][2] == "EINPROGRESS" and client_calls[2][2] == 0
    assert ("h2", "listen", 0) in calls and any(c[:2] == ("h2", "accept") for c in calls)
    assert client_calls[-1][1] == "close"


def test_a_host_without_the_listener_resets_and_a_retried_connect_succeeds() -> None:
    net, h1, h2 = two_hosts()
    results: list[Any] = []

    def late_server() -> Any:
        yield net.env.timeout(50 * MS)
        yield from tcp_echo_server(h2, 9000, connections=1)

    def client() -> Any:
        first = yield net.env.process(tcp_client(h1, ("10.0.0.2", 9000), message=b"a"))
        results.append(first.error)
        yield net.env.timeout(100 * MS)
        second = yield net.env.process(tcp_client(h1, ("10.0.0.2", 9000), message=b"a"))
        results.append((second.error, second.echo_ok))

    net.process(late_server())
    net.process(client())
    net.run("2s")
    assert results == ["ECONNREFUSED", (None, True)]
