"""Router advertisements and SLAAC (RFC 4861 §6, RFC 4862): a router that advertises, a host that
autoconfigures its address and default route from it."""

from __future__ import annotations

import itertools
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

import pytest

from netsim.observe.capture import Capture
from netsim.sim.apps import ping
from netsim.sim.ipv6 import link_local_for
from netsim.sim.network import Network
from netsim.units import MS, S
from netsim.wire.icmpv6 import ICMPv6RouterAdvertisement, ICMPv6RouterSolicitation
from netsim.wire.mac import MACAddress
from tests.oracles.tshark import DEFECTS, tshark_fields


def _lan(*, router_lifetime: int = 1800, autoconf_at: int = 0) -> tuple[Network, Any, Any, Any, list[Any]]:
    """a (autoconfigures) --- r (advertises 2001:db8:1::/64) --- b 2001:db8:2::20 (static)."""
    net = Network(11)
    a, r, b = net.add_host("a"), net.add_router("r"), net.add_host("b")
    a.add_interface("eth0", mac=MACAddress.parse("02:00:00:00:00:05"))
    r.add_interface("eth0")
    r.add_interface("eth1")
    b.add_interface("eth0")
    r.add_address("eth0", "2001:db8:1::1/64")
    r.add_address("eth1", "2001:db8:2::1/64")
    b.add_address("eth0", "2001:db8:2::20/64")
    b.add_route("::/0", via="2001:db8:2::1")
    net.connect(a["eth0"], r["eth0"], delay="1ms")
    net.connect(r["eth1"], b["eth0"], delay="1ms")
    r.advertise("eth0", router_lifetime=router_lifetime)
    seen: list[Any] = []  # (time, where, message kind, source, hop limit) of every RA and RS received
    r.ip6._icmp_input = _spy_on(r, net, seen)
    if autoconf_at:
        def later() -> Any:
            yield net.env.timeout(autoconf_at)
            a.autoconfigure("eth0")
            a.ip6._icmp_input = _spy_on(a, net, seen)
        net.process(later())
    else:
        a.autoconfigure("eth0")
        a.ip6._icmp_input = _spy_on(a, net, seen)
    return net, a, r, b, seen


def _spy_on(host: Any, net: Network, seen: list[Any]) -> Any:
    original = host.ip6._icmp_input

    def spy(packet: Any, message: Any, where: Any) -> None:
        if isinstance(message, ICMPv6RouterAdvertisement | ICMPv6RouterSolicitation):
            seen.append((net.now, where.full_name, type(message).__name__, str(packet.src), packet.hop_limit))
        original(packet, message, where)

    return spy


def test_a_host_takes_its_address_and_default_route_from_the_router_s_advertisement() -> None:
    net, a, r, _b, seen = _lan()
    results: dict[str, Any] = {}

    def run() -> Any:
        yield net.env.timeout(1 * S)
        results["ping"] = yield from ping(a, "2001:db8:2::20", count=2, interval="100ms")

    net.process(run())
    net.run("3s")
    # prefix + modified EUI-64 of 02:00:00:00:00:05 (RFC 4862 §5.5.3, RFC 4291 §2.5.1)
    assert IPv6Address("2001:db8:1::ff:fe00:5") in a.ip6.local
    router = link_local_for(r["eth0"].mac)
    default = a.routes.lookup(IPv6Address("2001:db8:99::1"))
    assert default is not None and default.gateway == router and default.prefix == IPv6Network("::/0")
    assert a.routes.lookup(IPv6Address("2001:db8:1::77")).gateway is None  # the prefix is on-link
    assert results["ping"].received == 2
    # the router's first advertisement came at once, from its link-local address, hop limit 255;
    # with it there the host sent no solicitation
    assert seen[0][1:] == ("a:eth0", "ICMPv6RouterAdvertisement", str(router), 255)
    assert seen[0][0] < 2 * MS and not [s for s in seen if s[2] == "ICMPv6RouterSolicitation"]


def test_a_late_host_solicits_and_the_router_answers_within_half_a_second() -> None:
    net, a, _r, _b, seen = _lan(autoconf_at=30 * S)
    net.run("35s")
    solicitations = [s for s in seen if s[2] == "ICMPv6RouterSolicitation"]
    assert len(solicitations) == 1  # one was enough
    sent_at = solicitations[0][0]
    assert 30 * S <= sent_at <= 31 * S + 2 * MS  # after a random 0-1 s delay (RFC 4861 §6.3.7)
    answer = next(s for s in seen if s[2] == "ICMPv6RouterAdvertisement" and s[1] == "a:eth0" and s[0] > sent_at)
    assert answer[0] - sent_at <= 500 * MS + 2 * MS  # MAX_RA_DELAY_TIME
    assert IPv6Address("2001:db8:1::ff:fe00:5") in a.ip6.local


def test_unsolicited_advertisements_come_at_once_then_within_16_s_three_times_then_rarely() -> None:
    net, _a, _r, _b, seen = _lan()
    net.run("1000s")
    times = [s[0] for s in seen if s[2] == "ICMPv6RouterAdvertisement" and s[1] == "a:eth0"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) >= 4
    assert all(gap <= 16 * S for gap in gaps[:2])  # MAX_INITIAL_RTR_ADVERT_INTERVAL
    assert all(198 * S <= gap <= 600 * S for gap in gaps[2:])  # radvd's Min/MaxRtrAdvInterval


def test_a_router_lifetime_of_zero_gives_an_address_but_no_default_route() -> None:
    net, a, _r, _b, _seen = _lan(router_lifetime=0)
    net.run("2s")
    assert IPv6Address("2001:db8:1::ff:fe00:5") in a.ip6.local
    assert a.routes.lookup(IPv6Address("2001:db8:99::1")) is None


def test_advertisements_that_are_not_valid_are_ignored_and_routers_ignore_them_all() -> None:
    """RFC 4861 §6.1.2: hop limit 255 and a link-local source; a router takes none (accept_ra)."""
    net, a, r, _b, _seen = _lan()
    net.run("1s")
    before = a.routes.routes()
    stack = r.ip6
    forged = ICMPv6RouterAdvertisement(router_lifetime=1800)
    stack.send(IPv6Address("2001:db8:1::1"), IPv6Address("ff02::1"), 58, forged, hop_limit=255)  # global source
    stack.send(link_local_for(r["eth0"].mac), IPv6Address("ff02::1"), 58, forged, hop_limit=64)  # forwarded?
    net.run("2s")
    assert a.routes.routes() == before and a["eth0"].counters.drops["ra-ignored"] == 2
    with pytest.raises(ValueError, match="takes no router advertisements"):
        r.autoconfigure("eth1")
    with pytest.raises(ValueError, match="only a router advertises"):
        a.advertise("eth0")


def test_same_seed_same_addresses_and_times() -> None:
    runs = []
    for _ in range(2):
        net, a, _r, _b, seen = _lan(autoconf_at=10 * S)
        net.run("20s")
        runs.append((sorted(map(str, a.ip6.local)), seen, net.trace.hexdigest()))
    assert runs[0] == runs[1]


@pytest.mark.tshark
def test_tshark_reads_router_solicitations_and_advertisements(tmp_path: Path) -> None:
    net, a, _r, _b, _seen = _lan(autoconf_at=30 * S)
    pcap = tmp_path / "ra.pcap"
    capture = Capture([a["eth0"]], path=str(pcap))
    net.run("32s")
    capture.close()
    assert tshark_fields(pcap, ["frame.number"], DEFECTS) == []
    rows = tshark_fields(pcap, ["icmpv6.type", "ipv6.hlim", "icmpv6.opt.prefix", "icmpv6.nd.ra.router_lifetime"],
                         "icmpv6.type == 133 || icmpv6.type == 134")
    assert ["133", "255", "", ""] in rows
    assert ["134", "255", "2001:db8:1::", "1800"] in rows


# --- what a review found (each once a bug) -------------------------------------------------------


def _host_and_advertiser() -> tuple[Network, Any, Any]:
    net = Network(11)
    a, r = net.add_host("a"), net.add_host("r")
    a.add_interface("eth0")
    r.add_interface("eth0")
    r.add_address("eth0", "2001:db8:1::1/64")
    net.connect(a["eth0"], r["eth0"], delay="1ms")
    a.autoconfigure("eth0")
    return net, a, r


def _send_ra(net: Network, r: Any, options: tuple[Any, ...], **fields: Any) -> None:
    from netsim.sim.ipv6 import ETHERTYPE_IPV6, multicast_mac
    from netsim.wire.ipv6 import IPv6Packet

    group = IPv6Address("ff02::1")
    message = ICMPv6RouterAdvertisement(options=options, **fields)
    data = IPv6Packet(src=link_local_for(r["eth0"].mac), dst=group, next_header=58, payload=message,
                      hop_limit=255).to_bytes()

    def go() -> Any:
        yield net.env.timeout(10)
        r["eth0"].transmit(multicast_mac(group) + r["eth0"].mac.packed + ETHERTYPE_IPV6 + data)

    net.process(go())


@pytest.mark.parametrize(("prefix", "length", "valid"), [
    ("2001:db8:5::", 200, 2592000),  # a prefix length over 128 (the codec keeps it): once a crash
    ("ff05::", 64, 2592000),  # multicast
    ("::1", 128, 2592000),  # loopback
    ("2001:db8:5::", 64, 0),  # valid lifetime 0 (RFC 4861 §6.3.4: no route, no address)
])
def test_prefixes_an_advertisement_must_not_install(prefix: str, length: int, valid: int) -> None:
    from netsim.wire.ndp import NDPPrefixInformation

    net, a, r = _host_and_advertiser()
    option = NDPPrefixInformation(prefix=IPv6Address(prefix), prefix_length=length, valid_lifetime=valid,
                                  preferred_lifetime=min(valid, 604800))
    _send_ra(net, r, (option,))
    net.run("1s")
    assert [str(x.prefix) for x in a.routes.routes() if x.prefix.version == 6] == ["::/0", "fe80::/64"]
    assert len(a.ip6.local) == 1 and a["eth0"].counters.drops["ra-prefix-ignored"] == 1


def test_an_autonomous_prefix_that_is_not_on_link_gives_an_address_but_no_route() -> None:
    from netsim.wire.ndp import NDPPrefixInformation

    net, a, r = _host_and_advertiser()
    _send_ra(net, r, (NDPPrefixInformation(prefix=IPv6Address("2001:db8:5::"), prefix_length=64, on_link=False),))
    net.run("1s")
    address = IPv6Address(b"\x20\x01\x0d\xb8\x00\x05\x00\x00" + link_local_for(a["eth0"].mac).packed[8:])
    assert address in a.ip6.local
    assert a.routes.lookup(IPv6Address("2001:db8:5::77")).prefix == IPv6Network("::/0")  # via the router


def test_datagrams_waiting_for_the_router_s_mac_leave_when_its_advertisement_gives_it() -> None:
    """Linux's ndisc_router_discovery -> ndisc_update sends what the neighbour entry queued."""
    from netsim.wire.ndp import NDPSourceLinkLayerAddress

    net = Network(11)
    a, r = net.add_host("a"), net.add_host("r")
    a.add_interface("eth0")
    r.add_interface("eth0")
    net.connect(a["eth0"], r["eth0"], delay="1ms")
    a.ipv6().enable(a["eth0"])
    r.ipv6().enable(r["eth0"])
    router = link_local_for(r["eth0"].mac)
    sent = []
    received: list[bytes] = []

    def run() -> Any:
        sock = a.socket("udp6")
        sent.append((yield sock.sendto(b"queued", (f"{router}%eth0", 9))))
        listener = r.socket("udp6")
        listener.bind(("::", 9))
        r["eth0"].set_up(False)  # the solicitation goes unanswered for now
        yield net.env.timeout(500 * MS)
        r["eth0"].set_up(True)
        _send_ra(net, r, (NDPSourceLinkLayerAddress(r["eth0"].mac),))
        data, _ = yield listener.recvfrom(100)
        received.append(data)

    net.process(run())
    net.run("2s")
    assert received == [b"queued"]


def test_with_two_routers_the_default_route_stays_with_the_first() -> None:
    """An advertisement refreshes a default router in place (Linux's rt6_add_dflt_router is not
    called again): the other router's periodic advertisements do not move the choice."""
    net = Network(3)
    a, r1, r2 = net.add_host("a"), net.add_router("r1"), net.add_router("r2")
    switch = net.add_switch("s", ports=3)
    for node, address in ((r1, "2001:db8:1::1/64"), (r2, "2001:db8:1::2/64")):
        node.add_interface("eth0")
        node.add_address("eth0", address)
    a.add_interface("eth0")
    for index, node in enumerate((a, r1, r2), start=1):
        net.connect(node["eth0"], switch[f"p{index}"])
    r1.advertise("eth0")
    a.autoconfigure("eth0")

    def later() -> Any:
        yield net.env.timeout(5 * S)
        r2.advertise("eth0")
        r2.advertise("eth0")  # twice: still one advertiser

    net.process(later())
    chosen = []
    for until in ("10s", "300s", "700s", "1500s"):
        net.run(until)
        chosen.append(a.routes.lookup(IPv6Address("2001:db8:99::1")).gateway)
    assert set(chosen) == {link_local_for(r1["eth0"].mac)}
    defaults = [x for x in a.routes.routes() if x.prefix == IPv6Network("::/0")]
    assert len(defaults) == 2
