"""The routing table: longest prefix, then metric, then age; IPv4 and IPv6 apart; ip route text."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.routing import Route, RoutingTable


def _route(prefix: str, interface: str = "eth0", **kwargs: object) -> Route:
    return Route(prefix=ip_network(prefix), interface=interface, **kwargs)  # type: ignore[arg-type]


def test_lookup_longer_prefix_wins_over_default() -> None:
    table = RoutingTable()
    default = _route("0.0.0.0/0", gateway=IPv4Address("10.0.0.1"), kind="default")
    connected = _route("10.0.0.0/24", source=IPv4Address("10.0.0.5"), kind="connected")
    host = _route("10.0.0.7/32", "eth1")
    for route in (default, connected, host):
        table.add(route)
    assert table.lookup(IPv4Address("10.0.0.9")) == connected
    assert table.lookup(IPv4Address("10.0.0.7")) == host
    assert table.lookup(IPv4Address("192.0.2.1")) == default


def test_lookup_equal_prefix_lowest_metric_wins() -> None:
    table = RoutingTable()
    slow = _route("0.0.0.0/0", "eth0", gateway=IPv4Address("10.0.0.1"), metric=200)
    fast = _route("0.0.0.0/0", "eth1", gateway=IPv4Address("10.1.0.1"), metric=100)
    table.add(slow)
    table.add(fast)
    assert table.lookup(IPv4Address("8.8.8.8")) == fast


def test_lookup_equal_prefix_and_metric_earliest_added_wins() -> None:
    table = RoutingTable()
    first = _route("0.0.0.0/0", "eth0", gateway=IPv4Address("10.0.0.1"))
    second = _route("0.0.0.0/0", "eth1", gateway=IPv4Address("10.1.0.1"))
    table.add(first)
    table.add(second)
    assert table.lookup(IPv4Address("8.8.8.8")) == first
    table.remove(ip_network("0.0.0.0/0"), "eth0")
    assert table.lookup(IPv4Address("8.8.8.8")) == second


def test_lookup_no_route_returns_none() -> None:
    table = RoutingTable()
    table.add(_route("10.0.0.0/8"))
    assert table.lookup(IPv4Address("192.0.2.1")) is None


def test_lookup_ipv4_destination_never_matches_ipv6_route() -> None:
    table = RoutingTable()
    table.add(_route("::/0", gateway=IPv6Address("fe80::1")))
    table.add(_route("::ffff:0:0/96"))
    assert table.lookup(IPv4Address("10.0.0.1")) is None
    table.add(_route("0.0.0.0/0", "eth1"))
    assert table.lookup(IPv6Address("::ffff:10.0.0.1")).interface == "eth0"  # type: ignore[union-attr]
    assert table.lookup(IPv4Address("10.0.0.1")).interface == "eth1"  # type: ignore[union-attr]


def test_add_exact_duplicate_raises() -> None:
    table = RoutingTable()
    table.add(_route("10.0.0.0/24"))
    with pytest.raises(ValueError, match="route exists"):
        table.add(_route("10.0.0.0/24"))


def test_route_gateway_of_other_family_raises() -> None:
    with pytest.raises(ValueError, match="same family"):
        _route("10.0.0.0/24", gateway=IPv6Address("fe80::1"))


def test_route_unknown_kind_raises() -> None:
    with pytest.raises(ValueError, match="kind"):
        _route("10.0.0.0/24", kind="bgp")


def test_remove_filters_by_interface_and_gateway_counts_removed() -> None:
    table = RoutingTable()
    table.add(_route("0.0.0.0/0", "eth0", gateway=IPv4Address("10.0.0.1")))
    table.add(_route("0.0.0.0/0", "eth0", gateway=IPv4Address("10.0.0.2")))
    table.add(_route("0.0.0.0/0", "eth1", gateway=IPv4Address("10.1.0.1")))
    assert table.remove(ip_network("0.0.0.0/0"), "eth0", IPv4Address("10.0.0.2")) == 1
    assert table.remove(ip_network("0.0.0.0/0"), "eth0") == 1
    assert table.remove(ip_network("10.0.0.0/8")) == 0
    assert table.remove(ip_network("0.0.0.0/0")) == 1
    assert len(table) == 0
    assert table.lookup(IPv4Address("8.8.8.8")) is None


def test_remove_after_lookup_invalidates_cached_answer() -> None:
    table = RoutingTable()
    table.add(_route("10.0.0.0/8", "eth0"))
    table.add(_route("10.1.0.0/16", "eth1"))
    assert table.lookup(IPv4Address("10.1.2.3")).interface == "eth1"  # type: ignore[union-attr]
    table.remove(ip_network("10.1.0.0/16"))
    assert table.lookup(IPv4Address("10.1.2.3")).interface == "eth0"  # type: ignore[union-attr]


def test_remove_interface_removes_all_its_routes() -> None:
    table = RoutingTable()
    table.add(_route("10.0.0.0/24", "eth0"))
    table.add(_route("10.1.0.0/24", "eth1"))
    table.add(_route("0.0.0.0/0", "eth1", gateway=IPv4Address("10.1.0.1")))
    assert table.remove_interface("eth1") == 2
    assert [r.interface for r in table.routes()] == ["eth0"]


def test_str_renders_like_ip_route() -> None:
    table = RoutingTable()
    table.add(_route("10.0.0.0/24", source=IPv4Address("10.0.0.5"), kind="connected"))
    table.add(_route("0.0.0.0/0", gateway=IPv4Address("10.0.0.1"), metric=100, kind="default"))
    table.add(_route("192.168.0.0/16", "eth1", gateway=IPv4Address("10.0.0.254")))
    table.add(_route("172.16.0.0/12", "eth1"))
    table.add(_route("2001:db8::/64", source=IPv6Address("2001:db8::5"), metric=256, kind="connected"))
    assert str(table).splitlines() == [
        "default via 10.0.0.1 dev eth0 metric 100",
        "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.5",
        "172.16.0.0/12 dev eth1 scope link",
        "192.168.0.0/16 via 10.0.0.254 dev eth1",
        "2001:db8::/64 dev eth0 proto kernel src 2001:db8::5 metric 256",
    ]


def test_str_local_route_renders_like_local_table() -> None:
    route = _route("10.0.0.5/32", "lo", source=IPv4Address("10.0.0.5"), kind="local")
    assert str(route) == "local 10.0.0.5 dev lo proto kernel scope host src 10.0.0.5"


def test_next_hop_gateway_or_destination() -> None:
    on_link = _route("10.0.0.0/24")
    via = _route("0.0.0.0/0", gateway=IPv4Address("10.0.0.1"))
    assert on_link.next_hop(IPv4Address("10.0.0.9")) == IPv4Address("10.0.0.9")
    assert via.next_hop(IPv4Address("8.8.8.8")) == IPv4Address("10.0.0.1")


# --- property: agreement with a brute-force model ----------------------------------------------

_v4_prefixes = st.builds(
    lambda value, length: IPv4Network((value, length), strict=False),
    # few distinct high bits so that prefixes nest and collide often
    st.integers(0, 15).map(lambda n: n << 28 | n << 20), st.integers(0, 32),
)
_v6_prefixes = st.builds(
    lambda value, length: IPv6Network((value, length), strict=False),
    st.integers(0, 15).map(lambda n: n << 124 | n << 100), st.integers(0, 128),
)
_routes = st.builds(
    lambda prefix, interface, metric: Route(prefix=prefix, interface=interface, metric=metric),
    st.one_of(_v4_prefixes, _v6_prefixes), st.sampled_from(["eth0", "eth1", "eth2"]), st.integers(0, 3),
)
_destinations = st.one_of(
    st.integers(0, 15).flatmap(lambda n: st.integers(0, (1 << 20) - 1).map(lambda low: ip_address(n << 28 | low))),
    st.integers(0, 2**32 - 1).map(ip_address),
    st.integers(0, 15).flatmap(
        lambda n: st.integers(0, (1 << 100) - 1).map(lambda low: IPv6Address(n << 124 | n << 100 | low))
    ),
)


def _brute_force(added: list[Route], dst: IPv4Address | IPv6Address) -> Route | None:
    matches = [
        (-route.prefix.prefixlen, route.metric, order, route)
        for order, route in enumerate(added)
        if route.prefix.version == dst.version and dst in route.prefix
    ]
    return min(matches, key=lambda m: m[:3])[3] if matches else None


@given(st.lists(_routes, max_size=25), st.lists(st.integers(0, 30), max_size=5), st.lists(_destinations, max_size=30))
def test_lookup_random_tables_agrees_with_brute_force(
    routes: list[Route], removals: list[int], destinations: list[IPv4Address | IPv6Address]
) -> None:
    table = RoutingTable()
    added: list[Route] = []
    for route in routes:
        if route in added:
            with pytest.raises(ValueError):
                table.add(route)
            continue
        table.add(route)
        added.append(route)
    for dst in destinations:
        assert table.lookup(dst) == _brute_force(added, dst)
    for index in removals:
        if index < len(added):
            victim = added[index]
            removed = table.remove(victim.prefix, victim.interface)
            kept = [r for r in added if not (r.prefix == victim.prefix and r.interface == victim.interface)]
            assert removed == len(added) - len(kept)
            added = kept
    for dst in destinations:
        assert table.lookup(dst) == _brute_force(added, dst)
    assert sorted(map(str, table.routes())) == sorted(map(str, added))
    assert len(table) == len(added)
