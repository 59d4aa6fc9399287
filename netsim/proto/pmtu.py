"""The path MTU cache: what ICMP "fragmentation needed" (RFC 1191) and ICMPv6 "packet too big"
(RFC 8201) taught us about each destination.

As RFC 1191 and Linux's ``__ip_rt_update_pmtu``/``__ip6_rt_update_pmtu`` do:

- a report only ever lowers the estimate for a destination: a value at or above the current
  one changes nothing ("a host MUST NOT increase its estimate of the Path MTU in response to
  the contents of a Datagram Too Big message", RFC 1191 §3 and RFC 8201 §4);
- an IPv4 value below ``min_pmtu`` (Linux ``net.ipv4.route.min_pmtu``, 552) is raised to it and
  the entry is *locked*: Linux then stops setting DF towards that destination
  (``ip_mtu_locked``), so larger datagrams are fragmented on the path rather than lost;
- an IPv6 value below 1280 (the IPv6 minimum link MTU, RFC 8200 §5) is raised to 1280;
- an entry is forgotten ``expires`` after it was set (Linux ``net.ipv4.route.mtu_expires``,
  600 s; RFC 1191 §6.3 suggests 10 minutes), so a path that widened again is used again.  A
  report repeating the current value refreshes the entry only once half of that time is gone,
  as Linux does.

Expiry is lazy: an entry past its time is absent from that moment on, whether or not
:meth:`PMTUCache.expire` has run.  A caller that arms a timer for :meth:`PMTUCache.next_deadline`
must call :meth:`PMTUCache.expire` (or :meth:`PMTUCache.on_timer`) when it fires, or the same
deadline comes back.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs

from netsim.units import S

#: Linux ``net.ipv4.route.min_pmtu`` (512 + 20 + 20)
MIN_PMTU_V4 = 552
#: RFC 8200 §5: the IPv6 minimum link MTU
MIN_PMTU_V6 = 1280
#: Linux ``net.ipv4.route.mtu_expires`` / ``net.ipv6.route.mtu_expires``; RFC 1191 §6.3
DEFAULT_EXPIRES = 600 * S


@attrs.frozen
class PMTUEntry:
    """The path MTU learned for one destination, like ``ip route get`` shows it
    (``cache expires 598sec mtu 1400``; ``mtu lock 552`` when locked)."""

    mtu: int
    expires_at: int
    locked: bool = False


def _positive(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive int, got {value!r}")


@attrs.define
class PMTUCache:
    """Per-destination path MTUs for IPv4 and IPv6, each expiring ``expires`` after it was set."""

    expires: int = attrs.field(default=DEFAULT_EXPIRES, validator=_positive)
    min_pmtu: int = attrs.field(default=MIN_PMTU_V4, validator=_positive)
    _entries: dict[IPv4Address | IPv6Address, PMTUEntry] = attrs.field(init=False, factory=dict)

    def update(self, dst: IPv4Address | IPv6Address, mtu: int, now: int) -> int:
        """Take a reported next-hop MTU for ``dst``; return the path MTU now in force for it.

        Raises:
            ValueError: ``mtu`` is not a positive int (an ICMP next-hop MTU of 0 means the
                router did not say; the caller decides what to do, RFC 1191 §5).
        """
        if type(mtu) is not int or mtu <= 0:
            raise ValueError(f"a path MTU is a positive int, got {mtu!r}")
        locked = False
        if dst.version == 4:
            if mtu < self.min_pmtu:
                mtu, locked = self.min_pmtu, True
        elif mtu < MIN_PMTU_V6:
            mtu = MIN_PMTU_V6
        current = self.entry(dst, now)
        if current is not None:
            if mtu > current.mtu:
                return current.mtu
            if mtu == current.mtu and not locked and now < current.expires_at - self.expires // 2:
                return current.mtu
        self._entries[dst] = PMTUEntry(mtu, now + self.expires, locked)
        return mtu

    def entry(self, dst: IPv4Address | IPv6Address, now: int) -> PMTUEntry | None:
        """The entry for ``dst`` at ``now``, or None when there is none or it has expired."""
        entry = self._entries.get(dst)
        if entry is None or now >= entry.expires_at:
            return None
        return entry

    def lookup(self, dst: IPv4Address | IPv6Address, now: int) -> int | None:
        """The path MTU learned for ``dst``, or None (use the interface MTU)."""
        entry = self.entry(dst, now)
        return None if entry is None else entry.mtu

    def forget(self, dst: IPv4Address | IPv6Address) -> bool:
        """Drop what was learned about ``dst`` (``ip route flush cache``, one destination)."""
        return self._entries.pop(dst, None) is not None

    def entries(self, now: int) -> list[tuple[IPv4Address | IPv6Address, PMTUEntry]]:
        """The live entries at ``now``, ordered by destination (IPv4 first)."""
        return sorted(
            ((dst, entry) for dst, entry in self._entries.items() if now < entry.expires_at),
            key=lambda item: (item[0].version, int(item[0])),
        )

    def expire(self, now: int) -> list[IPv4Address | IPv6Address]:
        """Remove the entries expired by ``now``; return their destinations."""
        gone = [dst for dst, entry in self._entries.items() if now >= entry.expires_at]
        for dst in gone:
            del self._entries[dst]
        return gone

    def on_timer(self, now: int) -> list[IPv4Address | IPv6Address]:
        """The timer of :meth:`next_deadline` fired: the same as :meth:`expire`."""
        return self.expire(now)

    def next_deadline(self) -> int | None:
        """When the earliest entry expires (None when there are none)."""
        return min((entry.expires_at for entry in self._entries.values()), default=None)
