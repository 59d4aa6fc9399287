"""Token buckets in integer nanoseconds, and Linux's ICMP error rate limits built from them.

:class:`TokenBucket` is the general tool: ``rate_per_s`` tokens a second, at most ``burst``
saved, one token per :meth:`TokenBucket.allow`.  It starts full.  Its state is an int: credit in
units where one nanosecond earns ``rate_per_s`` units and one token costs 10^9, so refilling
is exact and no float ever enters it.

:class:`ICMPRateLimiter` models Linux's two limits on the ICMP messages a host sends
(``icmp_send`` -> ``icmpv4_global_allow`` and ``icmpv4_xrlim_allow``):

- only the types in ``net.ipv4.icmp_ratemask`` (default 0x1818: destination unreachable,
  source quench, time exceeded, parameter problem) are limited, and never "fragmentation
  needed" (PMTU discovery must not be starved); echo replies are not limited;
- a host-wide bucket: ``icmp_msgs_per_sec`` = 1000 tokens a second, ``icmp_msgs_burst`` = 50;
- a bucket per destination (Linux keeps it in the inet_peer entry): one token every
  ``icmp_ratelimit`` = 1000 ms, at most 6 saved (``XRLIM_BURST_FACTOR``); not applied to
  errors sent out of the loopback interface;
- the host-wide token is spent only when the per-destination bucket allows the message;
- ICMPv6 errors (``icmpv6_xrlim_allow``) share the host-wide bucket; their per-destination
  interval is ``net.ipv6.icmp.ratelimit`` (1000 ms) halved for every 32 bits the route towards
  the destination is shorter than /128 (a /64: 250 ms; the default route: 62.5 ms).

What netsim simplifies: Linux refills the host-wide credit in jiffy steps and only when 20 ms
have passed (``HZ/50``), and since 6.x spends a random 0-2 credits per message (against the
SADDNS side channel); netsim refills continuously and spends exactly one, so the long-run rate
and the burst are Linux's but the fine timing of the refusals differs.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs

from netsim.units import MS, S

#: Linux ``net.ipv4.icmp_msgs_per_sec``
DEFAULT_ICMP_MSGS_PER_SEC = 1000
#: Linux ``net.ipv4.icmp_msgs_burst``
DEFAULT_ICMP_MSGS_BURST = 50
#: Linux ``net.ipv4.icmp_ratelimit`` (1000 ms between messages to one destination)
DEFAULT_ICMP_RATELIMIT = 1000 * MS
#: Linux ``XRLIM_BURST_FACTOR``: messages to one destination that may be saved up
ICMP_PEER_BURST = 6
#: Linux ``net.ipv4.icmp_ratemask``: bit n set = ICMP type n is limited (3, 4, 11, 12)
DEFAULT_ICMP_RATEMASK = 0x1818


@attrs.define(init=False)
class TokenBucket:
    """``rate_per_s`` tokens a second, at most ``burst`` saved; full when created at ``now``.

    ``TokenBucket.every(interval, burst, now)`` makes one that earns a token every ``interval``
    ns, for rates that are not a whole number per second.  ``denied`` counts refusals.
    """

    rate_per_s: int
    burst: int
    denied: int
    _gain: int  # credit earned per ns
    _cost: int  # credit one token costs
    _credit: int
    _updated_at: int

    def __init__(self, rate_per_s: int, burst: int, now: int) -> None:
        self._setup(rate_per_s, S, burst, now)
        self.rate_per_s = rate_per_s

    def _setup(self, gain: int, cost: int, burst: int, now: int) -> None:
        for name, value in (("rate", gain), ("burst", burst), ("now", now)):
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        self.burst = burst
        self.denied = 0
        self._gain = gain
        self._cost = cost
        self._credit = burst * cost
        self._updated_at = now

    @classmethod
    def every(cls, interval: int, burst: int, now: int) -> TokenBucket:
        """A bucket earning one token per ``interval`` ns (0: never limits), at most ``burst``."""
        bucket = cls.__new__(cls)
        if type(interval) is not int or interval < 0:
            raise ValueError(f"interval must be a non-negative int of ns, got {interval!r}")
        bucket._setup(1, interval, burst, now)
        bucket.rate_per_s = S // interval if interval else 0
        return bucket

    def _refill(self, now: int) -> None:
        elapsed = now - self._updated_at
        if elapsed > 0:
            self._credit = min(self.burst * self._cost, self._credit + elapsed * self._gain)
            self._updated_at = now

    def tokens(self, now: int) -> int:
        """Whole tokens available at ``now``."""
        self._refill(now)
        return self._credit // self._cost if self._cost else self.burst

    def available(self, now: int, tokens: int = 1) -> bool:
        """Whether ``tokens`` could be spent at ``now`` (spends nothing)."""
        self._refill(now)
        return self._credit >= tokens * self._cost

    def consume(self, now: int, tokens: int = 1) -> None:
        """Spend ``tokens`` at ``now`` whether or not they are there (credit may go negative,
        as Linux's global ICMP credit can)."""
        self._refill(now)
        self._credit -= tokens * self._cost

    def allow(self, now: int, tokens: int = 1) -> bool:
        """Spend ``tokens`` if they are there at ``now``; count a refusal otherwise."""
        if self.available(now, tokens):
            self._credit -= tokens * self._cost
            return True
        self.denied += 1
        return False

    def is_full(self, now: int) -> bool:
        self._refill(now)
        return self._credit >= self.burst * self._cost


def _non_negative(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative int, got {value!r}")


@attrs.define
class ICMPRateLimiter:
    """Linux's limits on outgoing ICMP errors: the ratemask, the host-wide bucket, and a
    bucket per destination.  Counters mirror ``nstat``'s IcmpOutRateLimitGlobal/Host.

    ICMPv6 errors share the host-wide bucket (Linux's ``icmp_global_allow`` serves both) and
    have their own mask: ``net.ipv6.icmp.ratemask`` limits every error type but Packet Too Big
    ("do not limit pmtu discovery, it would break it", ``icmpv6_xrlim_allow``), never an
    informational message (types 128-255)."""

    msgs_per_sec: int = attrs.field(default=DEFAULT_ICMP_MSGS_PER_SEC, validator=_non_negative)
    msgs_burst: int = attrs.field(default=DEFAULT_ICMP_MSGS_BURST, validator=_non_negative)
    ratelimit: int = attrs.field(default=DEFAULT_ICMP_RATELIMIT, validator=_non_negative)
    ratemask: int = attrs.field(default=DEFAULT_ICMP_RATEMASK, validator=_non_negative)
    max_peers: int = attrs.field(default=4096, validator=_non_negative)
    limited_global: int = attrs.field(init=False, default=0)
    limited_host: int = attrs.field(init=False, default=0)
    _global: TokenBucket | None = attrs.field(init=False, default=None)
    _peers: dict[IPv4Address | IPv6Address, TokenBucket] = attrs.field(init=False, factory=dict)

    def is_limited(self, icmp_type: int, code: int, *, icmpv6: bool = False) -> bool:
        """``icmpv4_mask_allow`` (or ``icmpv6_mask_allow``) inverted: whether this type and code
        are rate limited at all."""
        if icmpv6:
            return icmp_type < 128 and icmp_type != 2
        if icmp_type > 18 or (icmp_type == 3 and code == 4):
            return False
        return bool(self.ratemask >> icmp_type & 1)

    def allow(
        self, dst: IPv4Address | IPv6Address, icmp_type: int, code: int, now: int, *, loopback: bool = False,
        route_prefix_len: int | None = None,
    ) -> bool:
        """Whether an ICMP message of ``icmp_type``/``code`` to ``dst`` may be sent at ``now``
        (an ICMPv6 one when ``dst`` is an IPv6 address).

        For ICMPv6, ``route_prefix_len`` is the prefix length of the route towards ``dst``:
        Linux's ``icmpv6_xrlim_allow`` "gives more bandwidth to wider prefixes", dividing the
        interval by 2 for every 32 bits the prefix is shorter than 128 (a /64: 250 ms)."""
        if not self.is_limited(icmp_type, code, icmpv6=dst.version == 6):
            return True
        # a full bucket stays full, so making it on first use is the same as at boot
        bucket = self._global
        if bucket is None:
            bucket = self._global = TokenBucket(self.msgs_per_sec, self.msgs_burst, now)
        if not bucket.available(now):
            self.limited_global += 1
            return False
        interval = self.ratelimit
        if route_prefix_len is not None and dst.version == 6 and route_prefix_len < 128:
            interval >>= (128 - route_prefix_len) >> 5
        if not loopback and not self._peer(dst, now, interval).allow(now):
            self.limited_host += 1
            return False
        bucket.consume(now)
        return True

    def _peer(self, dst: IPv4Address | IPv6Address, now: int, interval: int) -> TokenBucket:
        peer = self._peers.get(dst)
        if peer is None:
            if len(self._peers) >= self.max_peers:
                # a full bucket is the same as none: forget those (inet_peer GC, deterministic)
                for key in [key for key, bucket in self._peers.items() if bucket.is_full(now)]:
                    del self._peers[key]
            peer = self._peers[dst] = TokenBucket.every(interval, ICMP_PEER_BURST, now)
        return peer
