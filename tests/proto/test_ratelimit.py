"""Token buckets in integer ns, and Linux's ICMP rate limits."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.ratelimit import ICMPRateLimiter, TokenBucket
from netsim.units import MS, S

A = IPv4Address("192.0.2.1")
B = IPv4Address("192.0.2.2")


def test_token_bucket_starts_full_allows_burst_then_refuses() -> None:
    bucket = TokenBucket(1000, 50, 0)
    assert all(bucket.allow(0) for _ in range(50))
    assert not bucket.allow(0)
    assert bucket.denied == 1


def test_token_bucket_refills_at_rate() -> None:
    bucket = TokenBucket(1000, 50, 0)
    for _ in range(50):
        bucket.allow(0)
    assert not bucket.allow(999_999)
    assert bucket.allow(1 * MS)
    assert bucket.tokens(11 * MS) == 10
    assert bucket.tokens(10 * S) == 50  # never more than the burst


def test_token_bucket_every_interval_earns_one_token() -> None:
    bucket = TokenBucket.every(250 * MS, 1, 0)
    assert bucket.allow(0) and not bucket.allow(249 * MS) and bucket.allow(250 * MS)


def test_token_bucket_every_zero_interval_never_limits() -> None:
    bucket = TokenBucket.every(0, 0, 0)
    assert all(bucket.allow(0) for _ in range(1000))


def test_token_bucket_negative_rate_raises() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(-1, 5, 0)


def test_token_bucket_state_is_integer_only() -> None:
    bucket = TokenBucket(3, 2, 0)
    bucket.allow(333_333_333)
    assert all(type(getattr(bucket, name)) is int for name in ("_credit", "_gain", "_cost", "_updated_at"))


@given(st.integers(1, 5000), st.integers(0, 100), st.lists(st.integers(0, 50 * MS), max_size=100))
def test_token_bucket_never_allows_more_than_burst_plus_earned(rate: int, burst: int, gaps: list[int]) -> None:
    bucket = TokenBucket(rate, burst, 0)
    now = allowed = 0
    for gap in gaps:
        now += gap
        allowed += bucket.allow(now)
        assert allowed <= burst + now * rate // S


def test_icmp_rate_limiter_per_destination_burst_of_six_then_one_per_second() -> None:
    limiter = ICMPRateLimiter()
    assert [limiter.allow(A, 3, 3, 0) for _ in range(7)] == [True] * 6 + [False]
    assert limiter.limited_host == 1
    assert limiter.allow(B, 3, 3, 0)  # another destination has its own bucket
    assert not limiter.allow(A, 11, 0, 999 * MS)
    assert limiter.allow(A, 11, 0, 1 * S)


def test_icmp_rate_limiter_global_budget_of_fifty() -> None:
    limiter = ICMPRateLimiter()
    sent = sum(limiter.allow(IPv4Address(f"10.0.{n // 250}.{n % 250 + 1}"), 3, 1, 0) for n in range(60))
    assert sent == 50 and limiter.limited_global == 10


def test_icmp_rate_limiter_echo_reply_and_frag_needed_not_limited() -> None:
    limiter = ICMPRateLimiter()
    assert all(limiter.allow(A, 0, 0, 0) for _ in range(100))
    assert all(limiter.allow(A, 3, 4, 0) for _ in range(100))
    assert limiter.limited_host == limiter.limited_global == 0


def test_icmp_rate_limiter_loopback_skips_per_destination_limit() -> None:
    limiter = ICMPRateLimiter()
    assert all(limiter.allow(A, 3, 3, 0, loopback=True) for _ in range(20))
