"""The routing table: longest-prefix match over IPv4 and IPv6 routes (RFC 1812 §5.2.4.3).

Linux chooses among the routes of its main table by, in order: the longest matching prefix,
then the lowest metric (``ip route ... metric N``, the kernel's "priority"); among routes equal
on both it takes the first one in its list, which here is the one added first.  (Linux would
refuse a second route with the same prefix and metric unless added with ``ip route append``;
netsim accepts it and keeps it behind the first, which is what ``append`` gives.)  An exact
duplicate of a route already present is refused, like ``RTNETLINK answers: File exists``.

IPv4 and IPv6 are two tables that never meet, as in the kernel: an IPv4 destination never
matches an IPv6 route (not even ``::ffff:0:0/96``), and the other way round.

What is simplified: one table (no ``ip rule`` policy routing, no ``local``/``broadcast`` table
— the host answers for its own addresses before it asks this table), no ECMP multipath, no
route types other than unicast, and no ``scope`` beyond what ``ip route`` prints.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

import attrs

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

#: Route kinds and what ``ip route`` prints for them: a "connected" route is the prefix route
#: the kernel adds with an address (``proto kernel scope link``); "static" and "default" are
#: added by the administrator (``proto boot``, which ``ip route`` does not print); "local" is
#: an entry of the local table (our own address), which the host may build on the fly;
#: "blackhole" discards silently (``ip route add blackhole PREFIX``).
ROUTE_KINDS = ("connected", "static", "default", "local", "blackhole")

# the lookup cache is cleared when it reaches this many destinations
_CACHE_LIMIT = 4096


def _check_prefix(_inst: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, IPv4Network | IPv6Network):
        raise ValueError(f"prefix must be an IPv4Network or IPv6Network, got {value!r}")


def _check_interface(_inst: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"interface must be a non-empty name, got {value!r}")


def _check_same_family(inst: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, IPv4Address | IPv6Address):
        raise ValueError(f"{attribute.name} must be an IP address or None, got {value!r}")
    if value.version != inst.prefix.version:
        raise ValueError(f"{attribute.name} {value} is not of the same family as the prefix {inst.prefix}")


def _check_metric(_inst: Any, _attribute: Any, value: Any) -> None:
    # the kernel's route priority is a u32
    if type(value) is not int or not 0 <= value <= 0xFFFF_FFFF:
        raise ValueError(f"metric must be an int in 0..4294967295, got {value!r}")


def _check_kind(_inst: Any, _attribute: Any, value: Any) -> None:
    if value not in ROUTE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(ROUTE_KINDS)}, got {value!r}")


@attrs.frozen
class Route:
    """One route: ``ip route add PREFIX [via GATEWAY] dev INTERFACE [metric N] [src SOURCE]``.

    ``gateway`` None means the destination is on the link (a connected route): the next hop is
    the destination itself.  ``source`` is the preferred source address for datagrams we
    originate along this route (RFC 1122 §3.3.4.3; Linux's ``src``/``prefsrc``).
    """

    prefix: IPv4Network | IPv6Network = attrs.field(validator=_check_prefix)
    interface: str = attrs.field(validator=_check_interface)
    gateway: IPv4Address | IPv6Address | None = attrs.field(default=None, validator=_check_same_family)
    metric: int = attrs.field(default=0, validator=_check_metric)
    source: IPv4Address | IPv6Address | None = attrs.field(default=None, validator=_check_same_family)
    kind: str = attrs.field(default="static", validator=_check_kind)

    @property
    def version(self) -> int:
        return self.prefix.version

    def next_hop(self, dst: IPv4Address | IPv6Address) -> IPv4Address | IPv6Address:
        """Where a datagram for ``dst`` goes on the link: the gateway, or ``dst`` itself."""
        return dst if self.gateway is None else self.gateway

    def __str__(self) -> str:
        """The line ``ip route`` (or ``ip -6 route``) prints for this route.

        iproute2's order is: destination, ``via``, ``dev``, ``proto``, ``scope``, ``src``,
        ``metric``.  ``proto boot`` (routes added by hand) is not printed; IPv4 prints a metric
        only when it is not zero, IPv6 always prints it; IPv6 routes have no ``scope``.
        """
        prefix = self.prefix
        words: list[str] = []
        if self.kind == "local":
            words += ["local", str(prefix.network_address) if prefix.prefixlen == prefix.max_prefixlen else str(prefix)]
        elif self.kind == "blackhole":
            return f"blackhole {prefix}" + (f" metric {self.metric}" if self.metric or prefix.version == 6 else "")
        else:
            words.append("default" if prefix.prefixlen == 0 else str(prefix))
        if self.gateway is not None:
            words += ["via", str(self.gateway)]
        words += ["dev", self.interface]
        if self.kind in ("connected", "local"):
            words += ["proto", "kernel"]
        if prefix.version == 4:
            if self.kind == "local":
                words += ["scope", "host"]
            elif self.gateway is None:
                words += ["scope", "link"]
        if self.source is not None:
            words += ["src", str(self.source)]
        if self.metric or prefix.version == 6:
            words += ["metric", str(self.metric)]
        return " ".join(words)


@attrs.define
class _Family:
    """The routes of one address family, indexed for lookup.

    ``by_length[L]`` maps the integer value of a length-``L`` network address to the routes for
    that prefix, best first (lowest metric, then earliest added).  ``lengths`` lists the prefix
    lengths present, longest first, so a lookup probes at most one dict per distinct length.
    """

    bits: int
    by_length: dict[int, dict[int, list[tuple[int, int, Route]]]] = attrs.Factory(dict)
    lengths: list[tuple[int, int]] = attrs.Factory(list)  # (length, netmask as an int), longest first

    def reindex_lengths(self) -> None:
        ones = (1 << self.bits) - 1
        self.lengths = [
            (length, (ones << (self.bits - length)) & ones) for length in sorted(self.by_length, reverse=True)
        ]


@attrs.define
class RoutingTable:
    """Routes for IPv4 and IPv6, looked up by longest prefix, then metric, then age.

    Lookups are memoised per destination until the table next changes, so a router forwarding
    a flow pays for one dict probe per datagram.
    """

    _families: dict[int, _Family] = attrs.field(
        init=False, factory=lambda: {4: _Family(32), 6: _Family(128)}
    )
    _order: int = attrs.field(init=False, default=0)
    _cache: dict[IPv4Address | IPv6Address, Route | None] = attrs.field(init=False, factory=dict)

    def add(self, route: Route) -> None:
        """Add ``route``; raise ``ValueError`` if exactly this route is already in the table."""
        if not isinstance(route, Route):
            raise TypeError(f"expected a Route, got {route!r}")
        family = self._families[route.prefix.version]
        length = route.prefix.prefixlen
        bucket = family.by_length.get(length)
        if bucket is None:
            bucket = family.by_length[length] = {}
            family.reindex_lengths()
        key = int(route.prefix.network_address)
        entries = bucket.setdefault(key, [])
        if any(existing == route for _, _, existing in entries):
            raise ValueError(f"route exists: {route}")
        self._order += 1
        entries.append((route.metric, self._order, route))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        self._cache.clear()

    def remove(
        self,
        prefix: IPv4Network | IPv6Network,
        interface: str | None = None,
        gateway: IPv4Address | IPv6Address | None = None,
        *,
        metric: int | None = None,
    ) -> int:
        """Remove the routes for exactly ``prefix`` (and, when given, ``interface``, ``gateway``
        and ``metric``, like ``ip route del PREFIX [via GW] [dev IF] [metric N]``); return how
        many were removed."""
        family = self._families[prefix.version]
        bucket = family.by_length.get(prefix.prefixlen)
        key = int(prefix.network_address)
        if bucket is None or key not in bucket:
            return 0
        kept = [
            entry for entry in bucket[key]
            if (interface is not None and entry[2].interface != interface)
            or (gateway is not None and entry[2].gateway != gateway)
            or (metric is not None and entry[2].metric != metric)
        ]
        removed = len(bucket[key]) - len(kept)
        if kept:
            bucket[key] = kept
        else:
            del bucket[key]
            if not bucket:
                del family.by_length[prefix.prefixlen]
                family.reindex_lengths()
        if removed:
            self._cache.clear()
        return removed

    def remove_interface(self, interface: str) -> int:
        """Remove every route out of ``interface`` (what the kernel does when a link goes away)."""
        count = 0
        for route in self.routes():
            if route.interface == interface:
                count += self.remove(route.prefix, route.interface, route.gateway, metric=route.metric)
        return count

    def lookup(self, dst: IPv4Address | IPv6Address) -> Route | None:
        """The route for ``dst``: longest prefix, then lowest metric, then earliest added."""
        cache = self._cache
        if dst in cache:
            return cache[dst]
        family = self._families[dst.version]
        value = int(dst)
        found: Route | None = None
        by_length = family.by_length
        for length, mask in family.lengths:
            entries = by_length[length].get(value & mask)
            if entries is not None:
                found = entries[0][2]
                break
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[dst] = found
        return found

    def routes(self) -> list[Route]:
        """Every route, in the order ``ip route`` lists them: IPv4 before IPv6, then by network
        address, then by prefix length (so ``default`` comes first), then best first."""
        listed: list[tuple[int, int, int, int, int, Route]] = []
        for version, family in self._families.items():
            for length, bucket in family.by_length.items():
                for key, entries in bucket.items():
                    listed += [(version, key, length, metric, order, route) for metric, order, route in entries]
        listed.sort(key=lambda item: item[:5])
        return [item[5] for item in listed]

    def __len__(self) -> int:
        return sum(
            len(entries) for family in self._families.values()
            for bucket in family.by_length.values() for entries in bucket.values()
        )

    def __str__(self) -> str:
        """The table as ``ip route`` followed by ``ip -6 route`` print it, one route a line."""
        return "\n".join(str(route) for route in self.routes())
