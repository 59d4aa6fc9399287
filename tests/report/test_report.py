"""The HTML run report: ladders that match the trace hop by hop, tables, escaping, determinism."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

import pytest

from netsim.observe.ss import snapshot
from netsim.report import group_connections, render_report
from netsim.report.ladder import FIRST_PACKETS, LAST_PACKETS
from netsim.sim.records import Impairments
from netsim.wire.ethernet import EthernetFrame
from netsim.wire.ipv4 import IPv4Packet
from tests.report.helpers import arrows, canonical, frames_per_hop, ladders
from tests.report.network import nat_network, small_network


@pytest.fixture(scope="module")
def run() -> tuple[Any, dict[str, Any], str]:
    net, results, _capture = small_network()
    html = render_report(net, title="small network", app_results=results)
    return net, results, html


def test_one_ladder_per_connection(run: tuple[Any, dict[str, Any], str]) -> None:
    net, _results, html = run
    expected = {key for key, _a, _b in frames_per_hop(net)}
    found = ladders(html)
    assert sorted(canonical(*t) for t in found.values()) == sorted(expected)
    assert sorted(proto for proto, *_ in found.values()) == ["TCP", "UDP"]


def test_arrows_match_the_frames_of_each_hop(run: tuple[Any, dict[str, Any], str]) -> None:
    net, _results, html = run
    key_of = {number: canonical(*t) for number, t in ladders(html).items()}
    drawn = Counter((key_of[a["conn"]], a["from"], a["to"]) for a in arrows(html))
    assert drawn == frames_per_hop(net)
    # every hop of the path is there, both ways: h1 - sw1 - r1 - h2
    for a, b in (("h1", "sw1"), ("sw1", "r1"), ("r1", "h2")):
        for key in key_of.values():
            assert drawn[(key, a, b)] > 0 and drawn[(key, b, a)] > 0


def test_tcp_labels_show_the_handshake_data_and_close(run: tuple[Any, dict[str, Any], str]) -> None:
    _net, results, html = run
    tcp = next(n for n, t in ladders(html).items() if t[0] == "TCP")
    labels = [a["label"] for a in arrows(html) if a["conn"] == tcp and a["from"] == "h1"]
    flags = [label.split()[0] for label in labels]
    assert flags[0] == "S" and labels[0] == "S seq 0 len 0"
    assert "." in flags and "F." in flags and "P." in flags
    server = [a["label"] for a in arrows(html) if a["conn"] == tcp and a["from"] == "h2"]
    assert server[0] == "S. seq 0 ack 1 len 0"
    # the client's 1000 bytes go out as seq 1, and the FIN comes after them
    assert any(label.startswith("P. seq 1 ack 1 len 1000") for label in labels)
    fin = next(label for label in labels if label.startswith("F."))
    assert fin.startswith("F. seq 1001 ")
    # each arrow names that hop's addresses
    local = results["tcp"].local
    assert f"{local[0]}:{local[1]} \u2192 10.0.2.20:7" in html


def test_udp_ladder(run: tuple[Any, dict[str, Any], str]) -> None:
    _net, _results, html = run
    udp = next(n for n, t in ladders(html).items() if t[0] == "UDP")
    hops = [a for a in arrows(html) if a["conn"] == udp]
    assert [a["label"] for a in hops] == ["UDP len 9"] * 6
    assert [(a["from"], a["to"]) for a in hops] == [
        ("h1", "sw1"), ("sw1", "r1"), ("r1", "h2"), ("h2", "r1"), ("r1", "sw1"), ("sw1", "h1")]
    assert [a["packet"] for a in hops] == [1, 1, 1, 2, 2, 2]
    assert [("fwd" in a["classes"]) for a in hops] == [True] * 3 + [False] * 3


def test_same_run_same_bytes() -> None:
    first, results1, _ = small_network(seed=11)
    second, results2, _ = small_network(seed=11)
    kwargs: dict[str, Any] = {"title": "again", "series": {"x": [(0, 1), (5, 2)]}}
    one = render_report(first, app_results=results1, **kwargs)
    assert one == render_report(second, app_results=results2, **kwargs)
    assert one == render_report(first, app_results=results1, **kwargs)
    other, results3, _ = small_network(seed=12)
    assert one != render_report(other, app_results=results3, **kwargs)


def test_user_strings_are_escaped() -> None:
    net, _results, _capture = small_network(h1_name="<script>")
    html = render_report(
        net, title="<b>title</b>", scenario_text='name = "</pre><script>alert(1)</script>"',
        app_results={"<img src=x onerror=alert(1)>": {"error": "<i>boom</i>"}},
        expectations=[{"name": "<u>x</u>", "passed": False, "expected": "<a>", "seen": "'\"", "message": "<p>"}],
        snapshots=[{"time": 0, "host": "<script>", "text": "<table id=evil>"}],
        views=[{"connection": "<c>", "observations": [("<script> socket", "1.2.3.4", 1, "5.6.7.8", 2, "tcp")]}],
        series={"<svg onload=alert(1)>": [(0, 1)]},
    )
    assert html.count("<script") == 1  # the report's own script
    assert "&lt;script&gt;" in html
    assert 'data-node="&lt;script&gt;"' in html
    for raw in ("<b>title", "<img", "<i>boom", "<u>x", "<a>", "<table id=evil", "<c>", "<svg onload", "</pre><"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_nat_rewrite_is_one_connection_with_both_tuples() -> None:
    net = nat_network()
    connections = group_connections(net)
    assert len(connections) == 1
    connection = connections[0]
    assert connection.nodes == ["h1", "nat1", "h2"]
    inside, outside = connection.tuples
    assert inside[1] == "192.168.1.10" and outside[1] == "203.0.113.1"
    assert inside[3:] == outside[3:] == ("203.0.113.10", 7)
    html = render_report(net, title="nat")
    drawn = arrows(html)
    inside_side = [a for a in drawn if {a["from"], a["to"]} == {"h1", "nat1"}]
    outside_side = [a for a in drawn if {a["from"], a["to"]} == {"nat1", "h2"}]
    assert len(inside_side) == len(outside_side) > 0
    # the same packet (same number, same label) on both sides of the NAT, with different addresses
    assert [(a["packet"], a["label"]) for a in inside_side] == [(a["packet"], a["label"]) for a in outside_side]
    assert f"192.168.1.10:{inside[2]} \u2192 203.0.113.10:7" in html
    assert f"203.0.113.1:{outside[2]} \u2192 203.0.113.10:7" in html
    assert "rewritten" in html and "nat1: 192.168.1.10:" in html


def test_a_long_connection_is_cut_in_the_middle() -> None:
    net, _results, _capture = small_network(size=300_000)
    tcp = next(c for c in group_connections(net) if c.proto == "TCP")
    assert tcp.packets > FIRST_PACKETS + LAST_PACKETS
    html = render_report(net, title="bulk")
    number = next(n for n, t in ladders(html).items() if t[0] == "TCP")
    drawn = [a for a in arrows(html) if a["conn"] == number]
    packets = sorted({a["packet"] for a in drawn})
    assert packets == [*range(1, FIRST_PACKETS + 1), *range(tcp.packets - LAST_PACKETS + 1, tcp.packets + 1)]
    hidden = tcp.packets - FIRST_PACKETS - LAST_PACKETS
    hidden_hops = len(tcp.hops) - len(drawn)
    assert f"{hidden} packets ({hidden_hops} hops) not shown" in html


def test_lost_frames_are_drawn_as_lost() -> None:
    net, _results, _capture = small_network(seed=5, size=20_000, impairments=Impairments(loss=0.2))
    html = render_report(net, title="lossy")
    lost = [a for a in arrows(html) if "lost" in a["classes"]]
    sent = sum(n for (_key, a, b), n in frames_per_hop(net).items() if {a, b} == {"r1", "h2"})
    arrived = 0
    for record in net.trace.records:
        if record.kind == "rx" and record.where in ("h2:eth0", "r1:eth1"):
            packet = EthernetFrame.parse(record.fields["data"]).payload
            arrived += isinstance(packet, IPv4Packet)
    assert len(lost) == sent - arrived > 0
    assert all({a["from"], a["to"]} == {"r1", "h2"} for a in lost)


def test_topology_picture(run: tuple[Any, dict[str, Any], str]) -> None:
    _net, _results, html = run
    topology = html[html.index('<svg xmlns="http://www.w3.org/2000/svg"'):]
    topology = topology[:topology.index("</svg>")]
    assert re.findall(r'data-node="([^"]+)" data-kind="([^"]+)"', topology) == [
        ("h1", "host"), ("h2", "host"), ("r1", "router"), ("sw1", "switch")]
    assert 'class="n-host"' in topology and 'class="n-router"' in topology and 'class="n-switch"' in topology
    assert "100 Mbit/s \u00b7 1ms" in topology and "10 Mbit/s \u00b7 5ms" in topology
    for text in ("10.0.1.10/24", "10.0.2.20/24", "10.0.1.1/24", "10.0.2.1/24", ">eth0<", ">eth1<", ">p1<"):
        assert text in topology
    assert "127.0.0.1" not in topology  # loopbacks are not links


def test_tables() -> None:
    net, results, _capture = small_network()
    html = render_report(
        net, title="tables", app_results=results,
        expectations=[{"name": "echo", "passed": True, "expected": True, "seen": True},
                      {"description": "peer", "ok": False, "expected": "198.51.100.77", "actual": "10.0.1.10",
                       "message": "the server saw the client's own address"}],
        snapshots=[{"time": net.now, "host": "h2", "text": snapshot(net.nodes["h2"])}, (0, "h1", "State ...")],
        views=[{"connection": 1, "observations": [("client socket", "192.168.1.10", 40000, "203.0.113.10", 7, "tcp"),
                                                  ("server socket", "198.51.100.77", 40000, "203.0.113.10", 7,
                                                   "tcp")]}],
        series={"SYN-RECV on h2": [(0, 0), (1_000_000, 3), (2_000_000, 1)]},
    )
    assert "<b>1 of 2</b> expectations hold." in html
    assert html.count('<tr class="pass"><td class="num">1</td>') == 1
    assert html.count('<tr class="fail"><td class="num">2</td>') == 1
    assert "the server saw the client&#x27;s own address" in html
    assert '<td class="changed">198.51.100.77</td>' in html and '<td class="changed">40000</td>' not in html
    assert "ss on h2 at t=5.000000000 s" in html and "State ..." in html
    assert "echo_ok" in html and "10.0.1.10:" in html
    assert 'aria-label="chart of SYN-RECV on h2"' in html
    assert "drops by reason" in html


def test_drops_by_reason() -> None:
    net, _results, _capture = small_network()
    net.nodes["h2"]["eth0"].drop("bad-checksum", 60)
    net.nodes["h2"]["eth0"].drop("bad-checksum", 60)
    net.nodes["h2"]["eth0"].drop("queue-full", 60)
    html = render_report(net, title="drops")
    assert "bad-checksum: 2, queue-full: 1" in html


def test_an_empty_network_still_renders() -> None:
    from netsim.sim.network import Network

    html = render_report(Network(0), title="empty")
    assert "No TCP or UDP traffic" in html and html.endswith("</html>\n")
    assert "keep_trace=False" in render_report(Network(0, keep_trace=False), title="untraced")


def test_topology_layout_keeps_nodes_apart() -> None:
    from netsim.report.topology import layout
    from netsim.sim.network import Network

    net = Network(0)
    sw1, sw2, r1 = net.add_switch("sw1"), net.add_switch("sw2"), net.add_router("r1")
    for index, name in enumerate(["c1", "c2", "c3", "c4"]):
        host = net.add_host(name)
        host.add_interface("eth0")
        port = sw1.add_interface(f"p{index}")
        net.connect(host["eth0"], port)
    r1.add_interface("eth0")
    r1.add_interface("eth1")
    sw1.add_interface("up")
    sw2.add_interface("up")
    net.connect(sw1["up"], r1["eth0"])
    net.connect(r1["eth1"], sw2["up"])
    for index, name in enumerate(["s1", "s2"]):
        host = net.add_host(name)
        host.add_interface("eth0")
        net.connect(host["eth0"], sw2.add_interface(f"p{index}"))
    positions = layout(net)
    assert sorted(positions) == sorted(net.nodes)
    for (x1, y1), (x2, y2) in itertools.combinations(sorted(positions.values()), 2):
        assert abs(x1 - x2) >= 150 or abs(y1 - y2) >= 100
    # the chain c1 - sw1 - r1 - sw2 - s1 runs left to right on one row; the other hosts hang below
    row = [name for name, (_x, y) in sorted(positions.items(), key=lambda kv: kv[1]) if y == positions["c1"][1]]
    assert row == ["c1", "sw1", "r1", "sw2", "s1"]
    assert all(positions[name][1] > positions["c1"][1] for name in ("c2", "c3", "c4", "s2"))
    assert layout(net) == positions
