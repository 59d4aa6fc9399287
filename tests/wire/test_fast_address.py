"""The hash-once IPv4 address is indistinguishable from ipaddress.IPv4Address."""

from __future__ import annotations

import copy
import pickle
from ipaddress import IPv4Address

from hypothesis import given
from hypothesis import strategies as st

from netsim.wire._fields import fast_ipv4, ipv4_from_packed


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_it_equals_hashes_orders_and_prints_as_the_standard_class(a: int, b: int) -> None:
    fast, plain = fast_ipv4(a), IPv4Address(a)
    assert fast == plain and plain == fast and hash(fast) == hash(plain)
    assert repr(fast) == repr(plain) and str(fast) == str(plain) and fast.packed == plain.packed
    assert {plain: 1}[fast] == 1 and {fast: 1}[plain] == 1 and len({fast, plain}) == 1
    assert (fast < fast_ipv4(b)) == (plain < IPv4Address(b))
    assert (fast, 5) == (plain, 5) and hash((fast, 5)) == hash((plain, 5))
    assert pickle.loads(pickle.dumps(fast)) == plain and copy.deepcopy(fast) == plain
    assert isinstance(fast, IPv4Address) and fast.is_private == plain.is_private


def test_instances_are_shared() -> None:
    assert fast_ipv4("10.0.0.1") is fast_ipv4(IPv4Address("10.0.0.1")) is ipv4_from_packed(bytes([10, 0, 0, 1]))
