"""``ss -tan`` of a simulated host: lab 2.5.2's table, state and port filters."""

from __future__ import annotations

from typing import Any

import pytest

from netsim.observe.ss import SsFilterError, compile_ss_filter, format_ss, ss
from netsim.units import MS, S
from tests.sim.topologies import two_hosts


def _setup() -> tuple[Any, Any, Any, dict[str, Any]]:
    net, h1, h2 = two_hosts()
    held: dict[str, Any] = {}

    def server() -> Any:
        listener = h2.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen(128)
        held["listener"] = listener
        conns = []
        for _ in range(2):
            conn, _peer = yield listener.accept()
            conns.append(conn)
        held["server_conns"] = conns
        yield conns[0].sendall(b"x" * 3000)  # the client does not read: Recv-Q on its side

    def clients() -> Any:
        socks = []
        for _ in range(2):
            sock = h1.socket("tcp")
            yield sock.connect(("10.0.0.2", 9000))
            socks.append(sock)
        held["clients"] = socks
        yield socks[1].sendall(b"y" * 500)  # the server does not read this one

    net.process(server())
    net.process(clients())
    net.run("1s")
    return net, h1, h2, held


def test_the_table_shows_listeners_and_connections_with_their_queues() -> None:
    _net, h1, h2, held = _setup()
    rows = ss(h2)
    assert next((r.state, r.local, r.recv_q, r.send_q) for r in rows) == ("LISTEN", "0.0.0.0:9000", 0, 128)
    established = [r for r in rows if r.state == "ESTAB"]
    assert len(established) == 2 and all(r.local == "10.0.0.2:9000" for r in established)
    assert sorted(r.recv_q for r in established) == [0, 500]
    client_rows = ss(h1, "established")
    assert sorted(r.recv_q for r in client_rows) == [0, 3000]
    assert {r.peer for r in client_rows} == {"10.0.0.2:9000"}
    text = format_ss(rows)
    assert text.splitlines()[0].split() == ["State", "Recv-Q", "Send-Q", "Local", "Address:Port", "Peer",
                                            "Address:Port"]
    assert "LISTEN" in text and "0.0.0.0:*" in text
    del held


def test_filters_by_state_and_port_as_ss_does() -> None:
    _net, h1, h2, _held = _setup()
    assert [r.state for r in ss(h2, "listening")] == ["LISTEN"]
    assert len(ss(h2, expression="( sport = :9000 )")) == 3
    assert len(ss(h2, "established", "( sport = :9000 )")) == 2
    client_port = ss(h1)[0].local_port
    assert [r.local_port for r in ss(h1, expression=f"sport = :{client_port}")] == [client_port]
    assert len(ss(h1, expression="dport = :9000 and not sport = :1")) == 2
    assert len(ss(h1, expression="dst 10.0.0.2:9000")) == 2
    assert ss(h1, expression="dst 10.0.0.3") == []
    assert len(ss(h2, expression="( dport = :9000 or sport = :9000 )")) == 3
    assert len(ss(h2, expression="sport > :1024")) == 3
    assert ss(h2, "time-wait") == []


def test_time_wait_rows_show_their_timer() -> None:
    net, h1, h2, held = _setup()

    def drain_and_close() -> Any:
        yield held["clients"][0].recv(10_000)
        yield held["server_conns"][1].recv(10_000)
        for sock in held["clients"]:
            sock.close()  # the client closes first: its side waits in TIME-WAIT
        yield net.env.timeout(10 * MS)
        for conn in held["server_conns"]:
            conn.close()

    net.process(drain_and_close())
    net.run(net.now + 100 * MS)
    assert ss(h2, "time-wait") == []
    rows = ss(h1, "time-wait")
    assert len(rows) == 2 and all(r.timer.startswith("timer:(timewait,59sec") for r in rows)
    net.run(net.now + 61 * S)
    assert ss(h1, "time-wait") == []


@pytest.mark.parametrize("bad", ["sport = 9000x", "sport", "( sport = :1", "frobnicate 3", "src 10.0.0.999"])
def test_malformed_filters_are_refused_with_a_message(bad: str) -> None:
    with pytest.raises(SsFilterError):
        compile_ss_filter(bad)


def test_unknown_state_names_are_refused() -> None:
    _net, _h1, h2, _held = _setup()
    with pytest.raises(SsFilterError, match="wrong state name"):
        ss(h2, "establishd")
