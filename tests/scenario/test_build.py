"""Building networks from scenario files: they work, and they are the network the same calls in
Python build (same trace hash)."""

from __future__ import annotations

from pathlib import Path

from netsim.scenario import build_network, load_scenario, load_scenario_text
from netsim.scenario.show import show
from netsim.sim.apps import PingResult, ping
from netsim.sim.host import Host, Router
from netsim.sim.network import Network
from netsim.sim.records import GilbertElliott, Impairments
from netsim.sim.switch import Switch
from netsim.wire.pcap import read_pcap

DATA = Path(__file__).parent / "data"

# two hosts, a router and a switch, topology only
TOPOLOGY = """
[network]
seed = 3

[[hosts]]
name = "client"
settings = { ip_local_port_range = "40000-40099" }
[[hosts.interfaces]]
name = "eth0"
addresses = ["192.168.1.10/24"]
[[hosts.routes]]
prefix = "0.0.0.0/0"
via = "192.168.1.1"

[[hosts]]
name = "server"
[[hosts.interfaces]]
name = "eth0"
mtu = 1400
addresses = ["10.0.0.20/24"]
[[hosts.routes]]
prefix = "0.0.0.0/0"
via = "10.0.0.1"

[[routers]]
name = "r1"
[[routers.interfaces]]
name = "eth0"
addresses = ["192.168.1.1/24"]
[[routers.interfaces]]
name = "eth1"
mtu = 1400
addresses = ["10.0.0.1/24"]

[[switches]]
name = "sw1"
ports = 2

[[links]]
a = "client:eth0"
b = "sw1:p1"
rate = "100Mbps"
delay = "1ms"

[[links]]
a = "sw1:p2"
b = "r1:eth0"
delay = "200us"

[[links]]
a = "r1:eth1"
b = "server:eth0"
rate = "10Mbps"
delay = "5ms"
queue_packets = 20
loss = 0.1
burst_loss = { p = 0.05, r = 0.5 }
"""


def python_topology() -> Network:
    """The same network as TOPOLOGY, written with the netsim.sim API."""
    net = Network(3)
    client = net.add_host("client", ip_local_port_range=(40000, 40099))
    client.add_interface("eth0")
    client.add_address("eth0", "192.168.1.10/24")
    client.set_default_gateway("192.168.1.1")
    server = net.add_host("server")
    server.add_interface("eth0", mtu=1400)
    server.add_address("eth0", "10.0.0.20/24")
    server.add_route("0.0.0.0/0", via="10.0.0.1")
    r1 = net.add_router("r1")
    r1.add_interface("eth0")
    r1.add_address("eth0", "192.168.1.1/24")
    r1.add_interface("eth1", mtu=1400)
    r1.add_address("eth1", "10.0.0.1/24")
    sw1 = net.add_switch("sw1", ports=2)
    net.connect(client["eth0"], sw1["p1"], rate="100Mbps", delay="1ms")
    net.connect(sw1["p2"], r1["eth0"], delay="200us")
    net.connect(r1["eth1"], server["eth0"], rate="10Mbps", delay="5ms", queue_packets=20,
                impairments=Impairments(loss=0.1, burst_loss=GilbertElliott(0.05, 0.5)))
    return net


def run_pings(net: Network, client: object) -> PingResult:
    process = net.process(ping(client, "10.0.0.20", count=20, interval="100ms", size=1200))  # type: ignore[arg-type]
    net.run()
    result = process.value
    assert isinstance(result, PingResult)
    return result


def test_ping_through_router_and_switch() -> None:
    net, built = build_network(load_scenario_text(TOPOLOGY))
    assert isinstance(built.nodes["r1"], Router) and isinstance(built.nodes["sw1"], Switch)
    assert built.nodes["server"]["eth0"].mtu == 1400
    assert built.links[2].impairments.burst_loss == GilbertElliott(0.05, 0.5)
    result = run_pings(net, built.nodes["client"])
    assert result.sent == 20 and 0 < result.received < 20  # the lossy last hop loses some
    assert min(result.rtts) > 2 * (1_000_000 + 200_000 + 5_000_000)


def test_same_trace_hash_as_the_python_topology() -> None:
    net, built = build_network(load_scenario_text(TOPOLOGY))
    from_file = run_pings(net, built.nodes["client"])
    reference = python_topology()
    from_python = run_pings(reference, reference.nodes["client"])
    assert from_file == from_python
    assert net.trace_hash() == reference.trace_hash()
    again, built_again = build_network(load_scenario_text(TOPOLOGY))
    run_pings(again, built_again.nodes["client"])
    assert again.trace_hash() == net.trace_hash()


def test_lan_example_runs_its_ping_and_writes_its_capture(tmp_path: Path) -> None:
    scenario = load_scenario(DATA / "lan.toml")
    net, built = build_network(scenario, output_dir=tmp_path)
    result = net.run()
    built.close()
    assert result.reason == "idle"
    [(spec, process)] = built.apps
    assert spec.kind == "ping"
    assert process.value.received == 3
    records = read_pcap(tmp_path / "client.pcap")
    assert len(records) == built.capture("client:eth0").count == 6  # 3 requests, 3 replies


def test_vlans_example(tmp_path: Path) -> None:
    net, built = build_network(load_scenario(DATA / "vlans.toml"), output_dir=tmp_path)
    assert net.time_limit == 10_000_000_000
    sw1 = built.nodes["sw1"]
    assert sw1["p1"].access_vlan == 10 and sw1["uplink"].trunk_vlans == frozenset({10, 20})
    assert built.links[1].queue_bytes == 65536
    net.run()
    built.close()
    values = {spec.kind: process.value for spec, process in built.apps if not process.is_alive}
    assert values["ping"].received == 2
    assert values["traceroute"].reached
    assert [hop.responders[0] for hop in values["traceroute"].hops] == ["10.10.0.1", "10.20.0.21"]
    assert read_pcap(tmp_path / "pcaps" / "trunk.pcapng")
    assert built.capture("trunk").count > 0
    b1 = built.nodes["b1"]
    assert isinstance(b1, Host) and "239.1.1.1" in str(b1.groups["eth0"])


def test_down_links_and_interfaces() -> None:
    text = TOPOLOGY.replace('delay = "200us"', 'delay = "200us"\nup = false')
    net, built = build_network(load_scenario_text(text))
    assert not built.links[1].up
    result = run_pings(net, built.nodes["client"])
    assert result.received == 0
    text = TOPOLOGY.replace('mtu = 1400\naddresses = ["10.0.0.20/24"]', 'mtu = 1400\nup = false\n'
                            'addresses = ["10.0.0.20/24"]')
    net, built = build_network(load_scenario_text(text))
    assert not built.nodes["server"]["eth0"].up


def test_show_lists_nodes_links_and_routes() -> None:
    text = show(load_scenario_text(TOPOLOGY))
    assert "  host client\n    eth0   mtu 1500 " in text
    assert "192.168.1.10/24" in text and "route 0.0.0.0/0 via 192.168.1.1" in text
    assert "  switch sw1 (ageing 300s)\n    p1     access vlan 1\n" in text
    assert ("r1:eth1 <-> server:eth0  10Mbps, delay 5ms, queue 20 frames, loss 0.1, "
            "burst_loss(p=0.05 r=0.5 loss_bad=1 loss_good=0)") in text
    vlans = show(load_scenario(DATA / "vlans.toml"))
    assert "uplink trunk vlans 10,20" in vlans
    assert "ping on a1 at 100ms: destination=10.10.0.12 count=2" in vlans
    assert "sw1:uplink, sw2:uplink out -> pcaps/trunk.pcapng" in vlans
