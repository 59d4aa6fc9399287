"""The neighbour cache: resolution, queueing, retries and failure, the merge rule, ageing."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv6Address

import pytest

from netsim.proto.arp_cache import (
    FailedResolution,
    NeighborCache,
    NeighborState,
    random_reachable_time,
)
from netsim.units import MS, S
from netsim.wire.mac import MACAddress

IP = IPv4Address("10.0.0.1")
MAC = MACAddress.parse("02:00:00:00:00:01")
OTHER_MAC = MACAddress.parse("02:00:00:00:00:02")


def _cache() -> NeighborCache[bytes]:
    return NeighborCache()


def test_resolve_unknown_address_queues_and_asks_for_request() -> None:
    cache = _cache()
    result = cache.resolve(IP, b"p1", 0)
    assert result.mac is None and result.request and result.queued and result.dropped is None
    again = cache.resolve(IP, b"p2", 10)
    assert again.mac is None and not again.request and again.queued
    assert cache.state(IP, 10) is NeighborState.INCOMPLETE
    assert cache.next_deadline() == 1 * S


def test_resolve_full_queue_drops_oldest_as_linux() -> None:
    cache = _cache()
    for n in range(3):
        cache.resolve(IP, b"p%d" % n, 0)
    result = cache.resolve(IP, b"p3", 0)
    assert result.queued and result.dropped == b"p0"
    assert cache.unresolved_discards == 1
    assert cache.fill(IP, MAC, 5) == [b"p1", b"p2", b"p3"]


def test_resolve_zero_queue_len_drops_packet_itself() -> None:
    cache: NeighborCache[bytes] = NeighborCache(queue_len=0)
    result = cache.resolve(IP, b"p", 0)
    assert result.request and not result.queued and result.dropped == b"p"


def test_fill_pending_releases_queue_in_order_then_resolves_to_mac() -> None:
    cache = _cache()
    cache.resolve(IP, b"a", 0)
    cache.resolve(IP, b"b", 1)
    assert cache.fill(IP, MAC, 2) == [b"a", b"b"]
    assert cache.resolve(IP, b"c", 3).mac == MAC
    assert cache.state(IP, 3) is NeighborState.REACHABLE
    assert cache.next_deadline() is None


def test_on_timer_retransmits_then_fails_with_queued_packets() -> None:
    cache = _cache()
    cache.resolve(IP, b"a", 0)  # request 1 at t=0
    assert cache.on_timer(999 * MS).retransmit == ()
    first = cache.on_timer(1 * S)  # request 2
    assert first.retransmit == (IP,) and first.failed == ()
    assert cache.next_deadline() == 2 * S
    second = cache.on_timer(2 * S)  # request 3 (mcast_solicit)
    assert second.retransmit == (IP,)
    cache.resolve(IP, b"b", 2500 * MS)
    third = cache.on_timer(3 * S)
    assert third.retransmit == ()
    assert third.failed == (FailedResolution(IP, (b"a", b"b")),)
    address, packets = third.failed[0]  # unpacks like a tuple
    assert address == IP and packets == (b"a", b"b")
    assert cache.resolution_failures == 1
    assert IP not in cache and cache.next_deadline() is None


def test_resolve_after_failure_starts_a_new_resolution() -> None:
    cache = _cache()
    cache.resolve(IP, b"a", 0)
    for t in (1, 2, 3):
        cache.on_timer(t * S)
    assert cache.resolve(IP, b"b", 4 * S).request


def test_state_reachable_then_stale_then_gone_after_gc_stale_time() -> None:
    cache = _cache()
    cache.fill(IP, MAC, 0)
    assert cache.state(IP, 30 * S - 1) is NeighborState.REACHABLE
    assert cache.state(IP, 30 * S) is NeighborState.STALE
    assert cache.lookup(IP, 59 * S) == MAC  # STALE is still used
    assert cache.lookup(IP, 60 * S) is None
    assert cache.state(IP, 60 * S) is None
    assert cache.entries(60 * S) == []


def test_resolve_stale_entry_in_use_is_kept() -> None:
    cache = _cache()
    cache.fill(IP, MAC, 0)
    for t in range(10, 200, 10):
        assert cache.resolve(IP, b"x", t * S).mac == MAC
    assert cache.state(IP, 200 * S) is NeighborState.STALE
    assert cache.expire(200 * S) == []
    assert cache.expire(250 * S) == [IP]


def test_use_is_resolve_for_a_known_neighbour_and_counts_as_use() -> None:
    cache = _cache()
    assert cache.use(IP, 0) is None  # unknown: resolve() must start a resolution
    assert IP not in cache  # ... and use() started none
    cache.fill(IP, MAC, 0)
    for t in range(10, 200, 10):
        assert cache.use(IP, t * S) == MAC
    assert cache.expire(200 * S) == []  # kept by the use, as with resolve()
    assert cache.use(IP, 260 * S) is None  # collected 60 s after the last use


def test_confirm_makes_stale_entry_reachable_again() -> None:
    cache = _cache()
    cache.fill(IP, MAC, 0)
    assert cache.confirm(IP, 40 * S)
    assert cache.state(IP, 40 * S) is NeighborState.REACHABLE
    assert not cache.confirm(IPv4Address("10.0.0.99"), 40 * S)


def test_fill_create_false_unknown_address_ignored() -> None:
    cache = _cache()
    assert cache.fill(IP, MAC, 0, create=False) == []
    assert cache.lookup(IP, 0) is None


def test_fill_create_false_updates_existing_and_pending_entries() -> None:
    cache = _cache()
    cache.resolve(IP, b"a", 0)
    assert cache.fill(IP, MAC, 1, create=False, confirmed=False) == [b"a"]
    assert cache.state(IP, 1) is NeighborState.STALE


def test_fill_unconfirmed_new_entry_is_stale() -> None:
    cache = _cache()
    cache.fill(IP, MAC, 0, confirmed=False)
    assert cache.state(IP, 0) is NeighborState.STALE


def test_fill_unconfirmed_same_mac_keeps_reachable() -> None:
    cache = _cache()
    cache.fill(IP, MAC, 0)
    cache.fill(IP, MAC, 10 * S, confirmed=False)
    assert cache.state(IP, 10 * S) is NeighborState.REACHABLE
    assert cache.state(IP, 30 * S) is NeighborState.STALE  # and its confirmation was not refreshed


def test_fill_different_mac_within_locktime_first_answer_wins() -> None:
    cache = _cache()
    cache.resolve(IP, b"a", 0)
    cache.fill(IP, MAC, 10 * MS)
    cache.fill(IP, OTHER_MAC, 20 * MS)
    assert cache.lookup(IP, 20 * MS) == MAC
    cache.fill(IP, OTHER_MAC, 20 * MS, override=True)
    assert cache.lookup(IP, 20 * MS) == OTHER_MAC


def test_fill_different_mac_after_locktime_replaces() -> None:
    cache = _cache()
    cache.fill(IP, MAC, 0)
    cache.fill(IP, OTHER_MAC, 2 * S, confirmed=False)
    assert cache.lookup(IP, 2 * S) == OTHER_MAC
    assert cache.state(IP, 2 * S) is NeighborState.STALE


def test_set_permanent_never_expires_nor_overridden() -> None:
    cache = _cache()
    cache.resolve(IP, b"a", 0)
    assert cache.set_permanent(IP, MAC) == [b"a"]
    cache.fill(IP, OTHER_MAC, 10 * S, override=True)
    assert cache.lookup(IP, 10**6 * S) == MAC
    assert cache.state(IP, 10**6 * S) is NeighborState.PERMANENT
    assert cache.next_deadline() is None


def test_remove_returns_waiting_packets() -> None:
    cache = _cache()
    cache.resolve(IP, b"a", 0)
    assert cache.remove(IP) == [b"a"]
    assert cache.next_deadline() is None and cache.remove(IP) == []


def test_entries_lists_like_ip_neigh_in_address_order() -> None:
    cache = _cache()
    cache.fill(IPv4Address("10.0.0.9"), OTHER_MAC, 0)
    cache.fill(IP, MAC, 0, confirmed=False)
    cache.resolve(IPv4Address("10.0.0.5"), b"a", 0)
    cache.fill(IPv6Address("fe80::1"), MAC, 0)
    assert [str(e) for e in cache.entries(1 * S)] == [
        "10.0.0.1 lladdr 02:00:00:00:00:01 STALE",
        "10.0.0.5 INCOMPLETE",
        "10.0.0.9 lladdr 02:00:00:00:00:02 REACHABLE",
        "fe80::1 lladdr 02:00:00:00:00:01 REACHABLE",
    ]


def test_resolve_ipv6_address_works_like_ipv4() -> None:
    cache = _cache()
    target = IPv6Address("2001:db8::1")
    assert cache.resolve(target, b"a", 0).request
    assert cache.fill(target, MAC, 1) == [b"a"]
    assert cache.lookup(IPv4Address("10.0.0.1"), 1) is None
    assert cache.lookup(target, 1) == MAC


def test_lookup_is_pure_and_does_not_count_as_use() -> None:
    cache = _cache()
    cache.fill(IP, MAC, 0)
    assert cache.lookup(IP, 59 * S) == MAC
    assert cache.lookup(IP, 60 * S) is None


def test_config_negative_value_raises() -> None:
    with pytest.raises(ValueError, match="retrans_time"):
        NeighborCache(retrans_time=0)
    with pytest.raises(ValueError, match="queue_len"):
        NeighborCache(queue_len=-1)


def test_random_reachable_time_within_half_to_three_halves() -> None:
    rng = random.Random(7)
    base = 30 * S
    draws = [random_reachable_time(base, rng) for _ in range(200)]
    assert all(base // 2 <= d < 3 * base // 2 for d in draws)
    assert len(set(draws)) > 100
