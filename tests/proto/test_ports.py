"""Ephemeral port selection: RFC 6056 Algorithm 1 over ip_local_port_range."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.ports import PortRange, choose_ephemeral_port, probe_ports


def test_port_range_default_is_linux_ip_local_port_range() -> None:
    ports = PortRange()
    assert (ports.low, ports.high, len(ports)) == (32768, 60999, 28232)
    assert str(ports) == "32768\t60999"


def test_port_range_high_below_low_raises() -> None:
    with pytest.raises(ValueError, match="low <= high"):
        PortRange(5000, 4000)


def test_port_range_port_zero_raises() -> None:
    with pytest.raises(ValueError, match="port number"):
        PortRange(0, 10)


def test_port_range_contains_excludes_reserved() -> None:
    ports = PortRange(1000, 1002, frozenset({1001}))
    assert 1000 in ports and 1001 not in ports and 999 not in ports


def test_choose_ephemeral_port_same_seed_same_port() -> None:
    ports = PortRange()
    first = choose_ephemeral_port(ports, lambda _p: False, random.Random(42))
    assert first == choose_ephemeral_port(ports, lambda _p: False, random.Random(42))
    assert first is not None and first in ports


def test_choose_ephemeral_port_all_in_use_returns_none() -> None:
    assert choose_ephemeral_port(PortRange(1000, 1010), lambda _p: True, random.Random(1)) is None


def test_choose_ephemeral_port_skips_used_and_reserved_wrapping_around() -> None:
    ports = PortRange(1000, 1004, frozenset({1000}))
    assert probe_ports(ports, lambda p: p in (1003, 1004), 3) == 1001


def test_choose_ephemeral_port_spreads_over_the_range() -> None:
    rng = random.Random(3)
    chosen = {choose_ephemeral_port(PortRange(), lambda _p: False, rng) for _ in range(200)}
    assert len(chosen) > 190


@given(st.integers(1, 65535), st.integers(0, 300), st.sets(st.integers(0, 300)), st.integers(0, 2**32))
def test_choose_ephemeral_port_returns_free_port_iff_one_exists(
    low: int, span: int, used_offsets: set[int], seed: int
) -> None:
    high = min(65535, low + span)
    ports = PortRange(low, high)
    used = {low + o for o in used_offsets}
    port = choose_ephemeral_port(ports, used.__contains__, random.Random(seed))
    free = [p for p in range(low, high + 1) if p not in used]
    if free:
        assert port in free
    else:
        assert port is None
