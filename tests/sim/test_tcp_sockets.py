"""TCP through the socket API on simulated hosts: the lecture's labs, errnos, ports, queues."""

from __future__ import annotations

import errno
import socket
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

from netsim.observe.capture import Capture
from netsim.observe.ss import ss
from netsim.proto.tcp.settings import TCPSettings
from netsim.proto.tcp.states import TCPState
from netsim.sim.network import Network
from netsim.sim.tcp_apps import (
    ServerStats,
    bulk_send,
    bulk_sink,
    syn_flood,
    tcp_client,
    tcp_echo_server,
)
from netsim.units import MS, S
from tests.oracles.tshark import defects, tshark_fields
from tests.sim.topologies import two_hosts, two_routers

FRAMED_LUA = Path(__file__).parent.parent / "oracles" / "framed.lua"


def _run(net: Network, *processes: Any, until: str = "10s") -> list[Any]:
    handles = [net.process(p) for p in processes]
    net.run(until)
    return [h.value if h.triggered else None for h in handles]


# --- the lecture's labs -------------------------------------------------------------------------


@pytest.mark.tshark
def test_lab_1_5_a_64k_framed_echo_crosses_as_45_plus_segments_and_one_reassembled_pdu(tmp_path: Path) -> None:
    net, h1, h2 = two_hosts(rate="100Mbps", delay="1ms")
    pcap = tmp_path / "lab15.pcap"
    capture = Capture([h1["eth0"]], path=str(pcap))
    message = bytes(i % 251 for i in range(65536))
    stats = ServerStats()
    _server, result = _run(net, tcp_echo_server(h2, 9000, framed=True, connections=1, stats=stats),
                           tcp_client(h1, ("10.0.0.2", 9000), message=message, framed=True))
    capture.close()
    assert result.error is None and result.echo_ok is True and result.received == 65540
    assert stats.messages == 1
    rows = tshark_fields(pcap, ["tcp.len"], "ip.src == 10.0.0.1 && tcp.len > 0")
    sizes = [int(r[0]) for r in rows]
    assert len(sizes) >= 45 and max(sizes) <= 1460 and sum(sizes) == 65540
    reassembled = tshark_fields(pcap, ["ip.src", "framed.length", "tcp.segment.count", "tcp.reassembled.length"],
                                "framed", "-X", f"lua_script:{FRAMED_LUA}")
    assert [r[0] for r in reassembled] == ["10.0.0.1", "10.0.0.2"]  # one PDU each way
    for _src, length, count, total in reassembled:
        assert length == "65536" and total == "65540" and int(count) >= 45
    assert defects(pcap) == []


def test_lab_2_5_1_getsockname_and_getpeername_give_the_5_tuple_each_side_sees() -> None:
    net, h1, h2 = two_hosts()
    stats = ServerStats()
    _s, result = _run(net, tcp_echo_server(h2, 9000, connections=1, stats=stats),
                      tcp_client(h1, ("10.0.0.2", 9000), message=b"hello"))
    assert result.peer == ("10.0.0.2", 9000)
    assert result.local[0] == "10.0.0.1" and 32768 <= result.local[1] <= 60999
    assert stats.peers == [result.local]  # the server's peer is the client's own name


# --- errnos ---------------------------------------------------------------------------------------


def _connect(host: Any, address: tuple[str, int]) -> Any:
    sock = host.socket("tcp")
    try:
        yield sock.connect(address)
    except OSError as exc:
        return exc.errno, host.network.now
    return sock, host.network.now


def test_a_closed_port_answers_rst_and_connect_fails_with_econnrefused() -> None:
    net, h1, _h2 = two_hosts()
    (code, when), = _run(net, _connect(h1, ("10.0.0.2", 9999)))
    assert code == errno.ECONNREFUSED
    assert when < 10 * MS


def test_connect_into_a_black_hole_times_out_after_linux_syn_retries() -> None:

    net, h1, r1, _r2, _h2 = two_routers(delay="1ms")
    r1.routes.remove(IPv4Network("10.0.2.0/24"))
    r1.add_blackhole("10.0.2.0/24")  # the SYNs vanish without an answer
    (code, when), = _run(net, _connect(h1, ("10.0.2.20", 9000)), until="200s")
    assert code == errno.ETIMEDOUT
    # 6 retransmissions at 1, 3, 7, 15, 31, 63 s, given up at 127 s (tcp_syn_retries = 6)
    assert 127 * S <= when < 128 * S


def test_fewer_syn_retries_give_up_sooner() -> None:

    net, h1, r1, _r2, _h2 = two_routers(delay="1ms")
    h1.tcp.settings = TCPSettings(syn_retries=2)
    r1.routes.remove(IPv4Network("10.0.2.0/24"))
    r1.add_blackhole("10.0.2.0/24")
    (code, when), = _run(net, _connect(h1, ("10.0.2.20", 9000)), until="60s")
    assert code == errno.ETIMEDOUT
    assert 7 * S <= when < 8 * S  # SYN at 0, retries at 1 and 3 s, given up at 7 s


def test_settimeout_bounds_connect_which_goes_on_in_the_background() -> None:
    """Python's socket.settimeout applies to connect too; as in the kernel, the handshake goes
    on after the caller gave up (here the route comes back and the SYN retransmitted at 3 s
    gets through)."""
    net, h1, r1, _r2, h2 = two_routers(delay="1ms")
    r1.routes.remove(IPv4Network("10.0.2.0/24"))
    r1.add_blackhole("10.0.2.0/24")
    listener = h2.socket("tcp")
    listener.bind(("0.0.0.0", 9000))
    listener.listen(1)
    seen: dict[str, Any] = {}

    def client() -> Any:
        sock = h1.socket("tcp")
        sock.settimeout("2s")
        try:
            yield sock.connect(("10.0.2.20", 9000))
        except TimeoutError:
            seen["timed out at"] = net.now
        r1.routes.remove(IPv4Network("10.0.2.0/24"))
        r1.add_route("10.0.2.0/24", via="10.0.12.2")
        yield net.env.timeout(2 * S)
        seen["state"] = sock.conn.state

    _run(net, client(), until="5s")
    assert seen == {"timed out at": 2 * S, "state": TCPState.ESTABLISHED}


def test_an_unresolvable_neighbour_fails_connect_with_ehostunreach() -> None:
    from netsim.sim.records import Impairments

    net, h1, _h2 = two_hosts()
    net.links[0].set_impairments(Impairments(loss=1.0))
    (code, when), = _run(net, _connect(h1, ("10.0.0.2", 9000)), until="60s")
    # three ARP requests go unanswered; the kernel's host unreachable aborts the SYN-SENT socket
    assert code == errno.EHOSTUNREACH
    assert 2 * S <= when < 5 * S


def test_econnreset_epipe_and_eof() -> None:
    net, h1, h2 = two_hosts()
    seen: dict[str, Any] = {}

    def server() -> Any:
        listener = h2.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen()
        conn, _peer = yield listener.accept()
        yield net.env.timeout(50 * MS)
        conn.close()  # unread data: an RST (RFC 2525 §2.17)

    def client() -> Any:
        sock = h1.socket("tcp")
        yield sock.connect(("10.0.0.2", 9000))
        yield sock.sendall(b"never read")
        yield net.env.timeout(100 * MS)
        try:
            yield sock.recv(10)
        except OSError as exc:
            seen["recv"] = exc.errno
        try:
            yield sock.send(b"more")
        except OSError as exc:
            seen["send"] = exc.errno
        sock.close()

    _run(net, server(), client())
    assert seen == {"recv": errno.ECONNRESET, "send": errno.EPIPE}


def test_shutdown_write_sends_fin_then_send_fails_with_epipe_and_the_peer_reads_eof() -> None:
    net, h1, h2 = two_hosts()
    seen: dict[str, Any] = {}

    def server() -> Any:
        listener = h2.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen()
        conn, _peer = yield listener.accept()
        seen["data"] = yield conn.recv(100)
        seen["eof"] = yield conn.recv(100)
        seen["server_state"] = conn.state
        yield conn.sendall(b"reply after your FIN")  # half-close: this direction still works
        conn.close()

    def client() -> Any:
        sock = h1.socket("tcp")
        yield sock.connect(("10.0.0.2", 9000))
        yield sock.sendall(b"request")
        sock.shutdown(socket.SHUT_WR)
        try:
            yield sock.send(b"x")
        except OSError as exc:
            seen["send"] = exc.errno
        seen["reply"] = yield sock.recv(100)
        seen["client_eof"] = yield sock.recv(100)
        sock.close()

    _run(net, server(), client())
    assert seen["data"] == b"request" and seen["eof"] == b""
    assert seen["server_state"] is TCPState.CLOSE_WAIT
    assert seen["send"] == errno.EPIPE
    assert seen["reply"] == b"reply after your FIN" and seen["client_eof"] == b""


def test_socket_call_errnos() -> None:
    net, h1, h2 = two_hosts()
    seen: dict[str, Any] = {}

    def calls() -> Any:
        sock = h1.socket("tcp")
        for name, call in (("getpeername", sock.getpeername), ("shutdown", lambda: sock.shutdown(socket.SHUT_WR))):
            try:
                call()
            except OSError as exc:
                seen[name] = exc.errno
        try:
            yield sock.recv(10)
        except OSError as exc:
            seen["recv"] = exc.errno
        unprivileged = h1.socket("tcp", privileged=False)
        try:
            unprivileged.bind(("0.0.0.0", 80))
        except OSError as exc:
            seen["bind80"] = exc.errno
        try:
            h1.socket("tcp").bind(("10.9.9.9", 5000))
        except OSError as exc:
            seen["bind-foreign"] = exc.errno
        listener = h2.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen()
        yield sock.connect(("10.0.0.2", 9000))
        try:
            yield sock.connect(("10.0.0.2", 9000))
        except OSError as exc:
            seen["connect-again"] = exc.errno
        try:
            yield listener.connect(("10.0.0.1", 1))
        except OSError as exc:
            seen["listener-connect"] = exc.errno
        try:
            sock.listen()
        except OSError as exc:
            seen["listen-connected"] = exc.errno

    _run(net, calls())
    assert seen == {
        "getpeername": errno.ENOTCONN, "shutdown": errno.ENOTCONN, "recv": errno.ENOTCONN,
        "bind80": errno.EACCES, "bind-foreign": errno.EADDRNOTAVAIL, "connect-again": errno.EISCONN,
        "listener-connect": errno.EINVAL, "listen-connected": errno.EINVAL,
    }


# --- ports and the 4-tuple --------------------------------------------------------------------------


def _listener(host: Any, port: int, reuse: bool = False) -> Any:
    sock = host.socket("tcp")
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    sock.listen(4096)
    return sock


def test_bind_conflicts_eaddrinuse_and_so_reuseaddr_over_time_wait() -> None:
    net, h1, h2 = two_hosts()
    seen: dict[str, Any] = {}

    def scenario(reuse: bool) -> Any:
        listener = _listener(h2, 9000, reuse)
        try:
            h2.socket("tcp").bind(("0.0.0.0", 9000))
        except OSError as exc:
            seen["second-bind-while-listening"] = exc.errno
        client = h1.socket("tcp")
        yield client.connect(("10.0.0.2", 9000))
        conn, _peer = yield listener.accept()
        conn.close()  # the server closes first: its side goes to TIME-WAIT
        listener.close()
        yield client.recv(10)
        client.close()
        yield net.env.timeout(100 * MS)
        seen["time-wait"] = [row.state for row in ss(h2, "time-wait")]
        restarted = h2.socket("tcp")
        if reuse:
            restarted.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            restarted.bind(("0.0.0.0", 9000))
            seen["restart"] = 0
        except OSError as exc:
            seen["restart"] = exc.errno
        yield net.env.timeout(61 * S)  # TIME-WAIT is over (2 MSL = 60 s)
        seen["after"] = [row.state for row in ss(h2)]
        late = h2.socket("tcp")
        late.bind(("0.0.0.0", 9001))
        seen["late"] = 0

    _run(net, scenario(False), until="70s")
    assert seen["second-bind-while-listening"] == errno.EADDRINUSE
    assert seen["time-wait"] == ["TIME-WAIT"]
    assert seen["restart"] == errno.EADDRINUSE
    assert seen["after"] == []

    seen.clear()
    net, h1, h2 = two_hosts()
    _run(net, scenario(True), until="70s")
    assert seen["second-bind-while-listening"] == errno.EADDRINUSE  # a listener is never shared
    assert seen["restart"] == 0  # SO_REUSEADDR on both: TIME-WAIT does not block the restart


def test_ephemeral_ports_only_need_a_unique_4_tuple_and_run_out_with_eaddrnotavail() -> None:
    net = Network(0)
    client = net.add_host("client", ip_local_port_range=(40000, 40007))
    server = net.add_host("server")
    client.add_interface("eth0")
    client.add_address("eth0", "10.0.0.1/24")
    server.add_interface("eth0")
    server.add_address("eth0", "10.0.0.2/24")
    net.connect(client["eth0"], server["eth0"])
    results: dict[int, list[Any]] = {9000: [], 9001: []}

    def opener() -> Any:
        _listener(server, 9000)
        _listener(server, 9001)
        for port in (9000, 9001):
            for _ in range(9):
                sock = client.socket("tcp")
                try:
                    yield sock.connect(("10.0.0.2", port))
                    results[port].append(sock.getsockname()[1])
                except OSError as exc:
                    results[port].append(exc.errno)

    _run(net, opener())
    for port in (9000, 9001):
        ports = results[port][:8]
        assert sorted(ports) == list(range(40000, 40008))  # the whole range, each once
        assert results[port][8] == errno.EADDRNOTAVAIL
    # 16 connections from an 8-port range: every 4-tuple distinct
    tuples = list(client.tcp.connections)
    assert len(tuples) == len(set(tuples)) == 16


def test_consecutive_connections_to_one_server_get_different_ports() -> None:
    net, h1, h2 = two_hosts()
    stats = ServerStats()
    first, second = [], []

    def two() -> Any:
        a = yield net.env.process(tcp_client(h1, ("10.0.0.2", 9000), message=b"1"))
        b = yield net.env.process(tcp_client(h1, ("10.0.0.2", 9000), message=b"2"))
        first.append(a)
        second.append(b)

    _run(net, tcp_echo_server(h2, 9000, stats=stats), two())
    assert first[0].local[1] != second[0].local[1]
    assert stats.peers == [first[0].local, second[0].local]


def test_bind_then_connect_to_a_4_tuple_in_time_wait_fails_with_eaddrnotavail() -> None:
    net, h1, h2 = two_hosts()
    seen: list[Any] = []

    def scenario() -> Any:
        first = yield net.env.process(tcp_client(h1, ("10.0.0.2", 9000), message=b"x", bind=("10.0.0.1", 45000),
                                                 reuse_address=True))
        seen.append(first.error)
        yield net.env.timeout(10 * MS)
        # the client closed first, so its side of (10.0.0.1:45000, 10.0.0.2:9000) is in TIME-WAIT
        seen.append([row.state for row in ss(h1, expression="sport = :45000")])
        again = yield net.env.process(tcp_client(h1, ("10.0.0.2", 9000), message=b"x", bind=("10.0.0.1", 45000),
                                                 reuse_address=True))
        seen.append(again.error)
        other = yield net.env.process(tcp_client(h1, ("10.0.0.2", 9001), message=b"x", bind=("10.0.0.1", 45000),
                                                 reuse_address=True, read_echo=False))
        seen.append(other.error)  # another 4-tuple from the same local port is fine

    _run(net, tcp_echo_server(h2, 9000), tcp_echo_server(h2, 9001), scenario())
    assert seen == [None, ["TIME-WAIT"], "EADDRNOTAVAIL", None]


# --- listen queues and SYN floods ------------------------------------------------------------------


def test_accept_queue_overflow_keeps_backlog_plus_one_and_drops_the_rest() -> None:
    net, h1, h2 = two_hosts()
    results: list[Any] = []

    def server() -> Any:
        listener = h2.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen(2)
        yield net.env.timeout(30 * S)  # never accepts

    def clients() -> Any:
        for _ in range(5):
            sock = h1.socket("tcp")
            sock.settimeout(5 * S)
            event = sock.connect(("10.0.0.2", 9000))
            results.append((sock, event))
            yield net.env.timeout(100 * MS)

    _run(net, server(), clients(), until="4s")
    listen_rows = ss(h2, "listening")
    assert listen_rows[0].recv_q == 3 and listen_rows[0].send_q == 2  # backlog + 1 waiting, as Linux
    states = [sock.state for sock, _event in results]
    assert states[:3] == [TCPState.ESTABLISHED] * 3
    assert states[3:] == [TCPState.SYN_SENT] * 2  # their SYNs are dropped while the queue is full
    drops = h2.tcp.listeners[9000][0].queue.counters
    assert drops["ListenOverflows"] >= 2


def _flood_network(syncookies: int) -> tuple[Network, Any, Any, Any]:
    net = Network(3)
    client, attacker = net.add_host("client"), net.add_host("attacker")
    server = net.add_host("server", tcp=TCPSettings(syncookies=syncookies))
    router = net.add_router("r")
    for index, (host, subnet) in enumerate(((client, "10.0.1"), (attacker, "10.0.2"), (server, "10.0.3"))):
        host.add_interface("eth0")
        host.add_address("eth0", f"{subnet}.10/24")
        host.set_default_gateway(f"{subnet}.1")
        router.add_interface(f"eth{index}")
        router.add_address(f"eth{index}", f"{subnet}.1/24")
        net.connect(host["eth0"], router[f"eth{index}"], rate="100Mbps", delay="1ms")
    return net, client, attacker, server


@pytest.mark.parametrize("syncookies", [0, 1, 2])
def test_syn_flood_fills_the_syn_queue_and_cookies_let_clients_through(syncookies: int) -> None:
    net, client, attacker, server = _flood_network(syncookies)
    stats = ServerStats()
    outcome: dict[str, Any] = {}

    def legit() -> Any:
        yield net.env.timeout(1 * S)
        outcome["syn_recv_during_flood"] = len(ss(server, "syn-recv"))
        sock = client.socket("tcp")
        started = net.env.now
        connect = sock.connect(("10.0.3.10", 80))
        result = yield connect | net.env.timeout(10 * S)
        outcome["connected_after"] = net.env.now - started if connect in result else None
        if connect in result:
            yield sock.sendall(b"GET /")
            outcome["echo"] = yield sock.recv(100)

    _run(net, tcp_echo_server(server, 80, backlog=128, stats=stats),
         syn_flood(attacker, ("10.0.3.10", 80), rate=2000, duration=12 * S), legit(), until="12s")
    counters = server.tcp.listeners[80][0].queue.counters
    if syncookies == 0:
        assert outcome["syn_recv_during_flood"] == 128  # the SYN queue is full of spoofed entries
        assert outcome["connected_after"] is None  # the client's SYNs are dropped: no way in
        assert counters["ListenDrops"] > 1000
    elif syncookies == 1:
        assert outcome["syn_recv_during_flood"] == 128
        assert outcome["connected_after"] is not None and outcome["connected_after"] < 10 * MS
        assert outcome["echo"] == b"GET /"
        assert counters["SyncookiesSent"] > 1000 and counters["SyncookiesRecv"] == 1
    else:
        assert outcome["syn_recv_during_flood"] == 0  # always cookies: no state at all
        assert outcome["connected_after"] is not None and outcome["echo"] == b"GET /"


def test_cookie_connections_keep_window_scaling_and_sack_through_the_timestamp() -> None:
    net, client, _attacker, server = _flood_network(2)
    seen: dict[str, Any] = {}

    def run() -> Any:
        result = yield net.env.process(tcp_client(client, ("10.0.3.10", 80), size=300_000))
        seen["result"] = result
        conn = next(iter(server.tcp.connections.values())).conn
        seen["ws"], seen["sack"] = conn.ws_ok, conn.sack_ok

    _run(net, tcp_echo_server(server, 80, connections=1), run())
    assert seen["result"].echo_ok is True
    assert seen["ws"] and seen["sack"]


# --- bulk transfers checked by tshark's TCP analysis -------------------------------------------------


@pytest.mark.tshark
def test_tshark_finds_nothing_wrong_in_a_lossless_bulk_transfer(tmp_path: Path) -> None:
    net, h1, h2 = two_hosts(rate="100Mbps", delay="2ms")
    pcap = tmp_path / "bulk.pcap"
    capture = Capture([h1["eth0"]], path=str(pcap))
    stats = ServerStats()
    _sink, sent = _run(net, bulk_sink(h2, 5001, stats=stats), bulk_send(h1, ("10.0.0.2", 5001), 5_000_000))
    capture.close()
    assert sent.error is None and stats.bytes_received == 5_000_000
    flagged = tshark_fields(pcap, ["frame.number", "_ws.col.Info"],
                            "tcp.analysis.retransmission || tcp.analysis.duplicate_ack || "
                            "tcp.analysis.lost_segment || tcp.analysis.out_of_order || tcp.analysis.ack_lost_segment")
    assert flagged == []
    assert defects(pcap) == []


@pytest.mark.tshark
def test_tshark_sees_in_a_lossy_transfer_only_what_the_losses_explain(tmp_path: Path) -> None:
    from netsim.sim.records import Impairments

    net, h1, h2 = two_hosts(rate="100Mbps", delay="2ms", impairments=Impairments(loss=0.01))
    pcap_sender = tmp_path / "sender.pcap"
    pcap_receiver = tmp_path / "receiver.pcap"
    at_sender = Capture([h1["eth0"]], path=str(pcap_sender))
    at_receiver = Capture([h2["eth0"]], path=str(pcap_receiver))
    stats = ServerStats()
    _sink, sent = _run(net, bulk_sink(h2, 5001, stats=stats), bulk_send(h1, ("10.0.0.2", 5001), 3_000_000),
                       until="60s")
    at_sender.close()
    at_receiver.close()
    assert sent.error is None and stats.bytes_received == 3_000_000
    channel = net.links[0].forward
    lost = channel.counters.lost
    assert lost > 0
    retransmissions = tshark_fields(pcap_sender, ["tcp.seq"], "tcp.analysis.retransmission || "
                                    "tcp.analysis.fast_retransmission")
    conn_retransmits = sum(s.conn.total_retransmits for s in h1.tcp.connections.values() if s.conn) or None
    # every retransmission tshark sees at the sender is one the engine made, and losses caused them
    assert 0 < len(retransmissions) <= lost * 3
    del conn_retransmits
    # at the receiver, tshark's "previous segment not captured" only where the link lost data
    holes = tshark_fields(pcap_receiver, ["tcp.seq"], "tcp.analysis.lost_segment")
    assert len(holes) <= lost
    assert defects(pcap_sender) == [] and defects(pcap_receiver) == []


@pytest.mark.tshark
def test_tshark_reads_the_d_sacks_of_a_duplicating_link(tmp_path: Path) -> None:
    """RFC 2883 over a link that duplicates frames: tshark finds a D-SACK in exactly the ACKs
    whose first SACK block lies below their ACK number, and its edges are the duplicate's."""
    from netsim.sim.records import Impairments
    from netsim.wire.ethernet import EthernetFrame
    from netsim.wire.tcp import TCPSegment
    from netsim.wire.tcp_options import TCPOptionSACK

    net, h1, h2 = two_hosts(rate="100Mbps", delay="2ms", impairments=Impairments(duplicate=0.02))
    pcap = tmp_path / "receiver.pcap"
    at_receiver = Capture([h2["eth0"]], path=str(pcap))
    stats = ServerStats()
    _sink, sent = _run(net, bulk_sink(h2, 5001, stats=stats), bulk_send(h1, ("10.0.0.2", 5001), 2_000_000))
    at_receiver.close()
    assert sent.error is None and stats.bytes_received == 2_000_000
    ours = []
    for record in net.trace.select("tx", "h2:eth0"):
        segment = getattr(EthernetFrame.parse(record.fields["data"]).payload, "payload", None)
        if not isinstance(segment, TCPSegment):
            continue  # (ARP)
        blocks = [o.blocks for o in segment.options if isinstance(o, TCPOptionSACK)]
        if blocks and 0 < ((segment.ack - blocks[0][0][0]) & 0xFFFFFFFF) < 1 << 31:
            ours.append([str(blocks[0][0][0]), str(blocks[0][0][1])])
    seen = tshark_fields(pcap, ["tcp.options.sack.dsack_le", "tcp.options.sack.dsack_re"],
                         "tcp.options.sack.dsack && ip.src == 10.0.0.2", "-o", "tcp.relative_sequence_numbers:FALSE")
    assert ours and seen == ours, (len(ours), len(seen))
    assert h1.tcp.counters.get("data-segments-sent", 0) > 1000
