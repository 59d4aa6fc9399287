"""ARP resolution and expiry, switch learning and flooding, VLAN isolation."""

from __future__ import annotations

from netsim.observe.capture import Capture
from netsim.sim.apps import ping
from netsim.sim.network import Network
from netsim.units import S
from netsim.wire import EthernetFrame
from tests.sim.topologies import two_hosts


def _arp_lines(capture: Capture) -> list[str]:
    return [line.split(" ", 1)[1] for line in capture.lines() if "ARP" in line]


def test_arp_resolves_once_then_the_cache_answers() -> None:
    net, h1, h2 = two_hosts()
    capture = Capture(h1["eth0"], "arp")
    process = net.process(ping(h1, "10.0.0.2", count=3, interval="100ms"))
    net.run()
    assert process.value.received == 3
    assert _arp_lines(capture) == [
        "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28",
        "ARP, Reply 10.0.0.2 is-at " + str(h2["eth0"].mac) + ", length 28",
    ]
    # h2 learned h1 from the request (RFC 826: it was the target), so it never asked
    assert h2.neighbors["eth0"].lookup(h1_ip(h1), net.now) == h1["eth0"].mac


def h1_ip(host):  # type: ignore[no-untyped-def]
    return host["eth0"].ipv4[0].ip


def test_arp_entry_expires_and_is_resolved_again() -> None:
    net, h1, _h2 = two_hosts()
    capture = Capture(h1["eth0"], "arp")
    net.process(ping(h1, "10.0.0.2", count=1))
    net.run()

    def later():  # type: ignore[no-untyped-def]
        yield net.env.timeout(600 * S)
        result = yield net.process(ping(h1, "10.0.0.2", count=1))
        return result

    process = net.process(later())
    net.run()
    assert process.value.received == 1
    assert sum("Request" in line for line in _arp_lines(capture)) == 2


def test_arp_for_an_absent_host_fails_and_reports_host_unreachable() -> None:
    net, h1, _h2 = two_hosts()
    process = net.process(ping(h1, "10.0.0.99", count=1, timeout="5s"))
    capture = Capture(h1["eth0"], "arp")
    net.run()
    assert process.value.received == 0
    requests = [line for line in _arp_lines(capture) if "who-has 10.0.0.99" in line]
    assert len(requests) == 3  # mcast_solicit tries, a second apart
    assert h1["eth0"].counters.drops["arp-failed"] == 1


def test_gratuitous_arp_updates_a_neighbours_entry() -> None:
    net, h1, h2 = two_hosts()
    net.process(ping(h1, "10.0.0.2", count=1))
    net.run()
    h2.announce("eth0")
    net.run()
    assert h1.neighbors["eth0"].lookup(h2["eth0"].ipv4[0].ip, net.now) == h2["eth0"].mac


def _switched(vlans: bool = False) -> tuple[Network, list, object]:  # type: ignore[type-arg]
    net = Network(0)
    switch = net.add_switch("s1", ports=4)
    hosts = []
    for index in range(4):
        host = net.add_host(f"h{index + 1}")
        host.add_interface("eth0")
        host.add_address("eth0", f"10.0.0.{index + 1}/24")
        net.connect(host["eth0"], switch[f"p{index + 1}"], delay="10us")
        hosts.append(host)
    if vlans:
        for port, vlan in (("p1", 10), ("p2", 10), ("p3", 20), ("p4", 20)):
            switch.set_access(port, vlan)
    return net, hosts, switch


def test_switch_floods_unknown_then_forwards_learned_unicast() -> None:
    net, hosts, switch = _switched()
    captures = [Capture(h["eth0"], "icmp", direction="in") for h in hosts]
    process = net.process(ping(hosts[0], "10.0.0.2", count=2, interval="10ms"))
    net.run()
    assert process.value.received == 2
    # the ARP request was flooded to every port; the pings went only to h2
    assert [c.count for c in captures] == [2, 2, 0, 0]
    assert hosts[2]["eth0"].counters.drops["arp-not-for-us"] == 1
    table = {(e.vlan, str(e.mac)): e.port for e in switch.mac_entries()}
    assert table[(1, str(hosts[0]["eth0"].mac))] == "p1" and table[(1, str(hosts[1]["eth0"].mac))] == "p2"


def test_vlans_isolate_access_ports() -> None:
    net, hosts, _switch = _switched(vlans=True)
    same = net.process(ping(hosts[0], "10.0.0.2", count=1))
    other = net.process(ping(hosts[0], "10.0.0.3", count=1, timeout="4s"))
    captures = [Capture(h["eth0"], "", direction="in") for h in hosts]
    net.run()
    assert same.value.received == 1
    assert other.value.received == 0
    assert captures[2].count == 0 and captures[3].count == 0  # nothing leaked into VLAN 20


def test_trunk_carries_tagged_frames_between_switches() -> None:
    net = Network(0)
    s1, s2 = net.add_switch("s1", ports=3), net.add_switch("s2", ports=3)
    s1.set_trunk("p3", vlans=[10, 20])
    s2.set_trunk("p3", vlans=[10, 20])
    net.connect(s1["p3"], s2["p3"])
    hosts = {}
    plan = ((s1, "p1", "a10", "10.0.0.1/24", 10), (s2, "p1", "b10", "10.0.0.2/24", 10),
            (s1, "p2", "a20", "10.0.0.3/24", 20), (s2, "p2", "b20", "10.0.0.4/24", 20))
    for switch, port, name, address, vlan in plan:
        host = net.add_host(name)
        host.add_interface("eth0")
        host.add_address("eth0", address)
        switch.set_access(port, vlan)
        net.connect(host["eth0"], switch[port])
        hosts[name] = host
    trunk = Capture(s1["p3"], "vlan 10 and icmp")
    ok = net.process(ping(hosts["a10"], "10.0.0.2", count=1))
    blocked = net.process(ping(hosts["a10"], "10.0.0.4", count=1, timeout="4s"))
    net.run()
    assert ok.value.received == 1 and blocked.value.received == 0
    assert trunk.count == 2  # request and reply crossed the trunk tagged with VID 10
    assert all(line.split(" ", 1)[1].startswith("vlan 10, IP") for line in trunk.lines())


def test_hosts_accept_only_the_multicast_groups_they_joined() -> None:
    net, hosts, _switch = _switched()
    sender, member, other = hosts[0], hosts[1], hosts[2]
    sender.add_route("224.0.0.0/4", dev="eth0")
    member.join_multicast("eth0", "239.1.2.3")
    listeners = []
    for host in (member, other):
        sock = host.socket("udp")
        sock.bind(("0.0.0.0", 5000))
        sock.settimeout("1s")
        listeners.append(sock)
    wire = Capture(sender["eth0"], "ether multicast and udp")

    def send():  # type: ignore[no-untyped-def]
        yield sender.socket("udp").sendto(b"to the group", ("239.1.2.3", 5000))

    def listen(sock):  # type: ignore[no-untyped-def]
        try:
            return (yield sock.recv(100))
        except TimeoutError:
            return None

    net.process(send())
    results = [net.process(listen(sock)) for sock in listeners]
    net.run()
    assert [r.value for r in results] == [b"to the group", None]
    frame = EthernetFrame.parse(wire.records[0].data)
    assert str(frame.dst) == "01:00:5e:01:02:03"  # RFC 1112: 01:00:5e + low 23 bits of 239.1.2.3
    assert other["eth0"].counters.drops["other-host"] == 1
