"""The path MTU cache: only lowered, clamped to the minimum, expiring after mtu_expires."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from netsim.proto.pmtu import PMTUCache
from netsim.units import S

DST = IPv4Address("203.0.113.10")
DST6 = IPv6Address("2001:db8::10")


def test_lookup_unknown_destination_returns_none() -> None:
    assert PMTUCache().lookup(DST, 0) is None


def test_update_lowers_and_lookup_returns_it() -> None:
    cache = PMTUCache()
    assert cache.update(DST, 1400, 0) == 1400
    assert cache.lookup(DST, 1 * S) == 1400
    assert cache.update(DST, 1300, 2 * S) == 1300
    assert cache.lookup(DST, 2 * S) == 1300


def test_update_higher_value_ignored() -> None:
    cache = PMTUCache()
    cache.update(DST, 1300, 0)
    assert cache.update(DST, 1400, 1 * S) == 1300
    assert cache.lookup(DST, 1 * S) == 1300


def test_update_below_min_pmtu_clamped_and_locked() -> None:
    cache = PMTUCache()
    assert cache.update(DST, 296, 0) == 552
    entry = cache.entry(DST, 0)
    assert entry is not None and entry.mtu == 552 and entry.locked


def test_update_ipv6_below_1280_clamped_not_locked() -> None:
    cache = PMTUCache()
    assert cache.update(DST6, 1000, 0) == 1280
    entry = cache.entry(DST6, 0)
    assert entry is not None and not entry.locked
    assert cache.lookup(IPv4Address("203.0.113.10"), 0) is None


def test_lookup_after_expires_returns_none() -> None:
    cache = PMTUCache()
    cache.update(DST, 1400, 0)
    assert cache.lookup(DST, 600 * S - 1) == 1400
    assert cache.lookup(DST, 600 * S) is None
    assert cache.update(DST, 1450, 600 * S) == 1450  # a fresh start may be higher


def test_update_same_value_refreshes_only_after_half_the_lifetime() -> None:
    cache = PMTUCache()
    cache.update(DST, 1400, 0)
    cache.update(DST, 1400, 100 * S)
    assert cache.next_deadline() == 600 * S
    cache.update(DST, 1400, 300 * S)
    assert cache.next_deadline() == 900 * S


def test_expire_removes_expired_and_next_deadline_moves_on() -> None:
    cache = PMTUCache()
    cache.update(DST, 1400, 0)
    cache.update(DST6, 1300, 10 * S)
    assert cache.next_deadline() == 600 * S
    assert cache.on_timer(600 * S) == [DST]
    assert cache.next_deadline() == 610 * S
    assert cache.entries(600 * S) == [(DST6, cache.entry(DST6, 600 * S))]


def test_update_non_positive_mtu_raises() -> None:
    with pytest.raises(ValueError, match="positive"):
        PMTUCache().update(DST, 0, 0)


def test_forget_drops_entry() -> None:
    cache = PMTUCache()
    cache.update(DST, 1400, 0)
    assert cache.forget(DST) and not cache.forget(DST)
    assert cache.lookup(DST, 0) is None
