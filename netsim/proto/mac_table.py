"""The filtering database of a learning bridge (IEEE 802.1D §7.8-7.9, 802.1Q §8.8): which port a
station (VLAN, MAC) was last seen on.

A bridge learns the *source* address of each frame it receives, per VLAN (independent VLAN
learning, 802.1Q §8.8.7: the same MAC may sit behind different ports in different VLANs), and
forwards a frame for a known destination out of that port only; an unknown destination is
flooded.  An entry not refreshed by a frame from that station for ``ageing_time`` ages out
(802.1D §7.9.2's default Ageing Time of 300 s; Linux bridge ``ageing_time``).  Linux counts an
entry as expired once ``updated + ageing_time <= now`` (``has_expired``); so does netsim.

Group (multicast and broadcast) addresses are never learned: they cannot be a frame's source
(802.1D §7.8).  With ``limit`` set, a full table learns nothing new — the frames to unknown
stations are flooded — as Linux's bridge does with ``fdb_max_learned``.

Expiry is lazy: an aged entry is a miss from the moment it ages, whether or not
:meth:`MACTable.expire` has run, so the table needs no timer of its own.
"""

from __future__ import annotations

from typing import Any

import attrs

from netsim.units import S
from netsim.wire.mac import MACAddress

#: IEEE 802.1D-2004 Table 7-5 recommended Ageing Time; Linux bridge ``ageing_time`` (300 s)
DEFAULT_AGEING_TIME = 300 * S


@attrs.frozen
class MACEntry:
    """One learned station, as ``bridge fdb show`` / ``brctl showmacs`` list it."""

    vlan: int
    mac: MACAddress
    port: str
    seen_at: int
    expires_at: int

    def __str__(self) -> str:
        return f"{self.mac} dev {self.port} vlan {self.vlan}"


@attrs.define
class _Station:
    mac: MACAddress
    port: str
    seen_at: int


def _ageing(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative int of ns, got {value!r}")


def _limit(_inst: Any, attribute: Any, value: Any) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise ValueError(f"{attribute.name} must be None or a non-negative int, got {value!r}")


@attrs.define
class MACTable:
    """Learned (VLAN, MAC) -> port entries that age out after ``ageing_time`` without a frame."""

    ageing_time: int = attrs.field(default=DEFAULT_AGEING_TIME, validator=_ageing)
    limit: int | None = attrs.field(default=None, validator=_limit)
    #: source addresses not learned because the table was full
    refused: int = attrs.field(init=False, default=0)
    _stations: dict[tuple[int, bytes], _Station] = attrs.field(init=False, factory=dict)

    def learn(self, vlan: int, mac: MACAddress, port: str, now: int) -> bool:
        """Note that ``mac`` was seen on ``port`` in ``vlan`` at ``now``; True if it is now in
        the table (new, refreshed, or moved to this port), False if it was not learned (a group
        address, or the table is full)."""
        packed = mac.packed
        if packed[0] & 1:
            return False
        key = (vlan, packed)
        station = self._stations.get(key)
        if station is not None and now < station.seen_at + self.ageing_time:
            station.port = port
            station.seen_at = now
            return True
        if self.limit is not None and len(self._stations) >= self.limit:
            self.expire(now)
            if len(self._stations) >= self.limit:
                self.refused += 1
                return False
        self._stations[key] = _Station(mac, port, now)
        return True

    def lookup(self, vlan: int, mac: MACAddress, now: int) -> str | None:
        """The port ``mac`` in ``vlan`` was last seen on, or None (unknown or aged out: flood)."""
        station = self._stations.get((vlan, mac.packed))
        if station is None or now >= station.seen_at + self.ageing_time:
            return None
        return station.port

    def expire(self, now: int) -> int:
        """Remove the entries aged out by ``now``; return how many."""
        ageing = self.ageing_time
        gone = [key for key, station in self._stations.items() if now >= station.seen_at + ageing]
        for key in gone:
            del self._stations[key]
        return len(gone)

    def flush(self, port: str | None = None, vlan: int | None = None) -> int:
        """Forget the entries on ``port`` and/or in ``vlan`` (all when both are None), as a bridge
        does when a port goes down (802.1D §7.9.2, ``bridge fdb flush``); return how many."""
        gone = [
            key for key, station in self._stations.items()
            if (port is None or station.port == port) and (vlan is None or key[0] == vlan)
        ]
        for key in gone:
            del self._stations[key]
        return len(gone)

    def entries(self, now: int) -> list[MACEntry]:
        """The live entries at ``now``, ordered by VLAN then MAC."""
        ageing = self.ageing_time
        return [
            MACEntry(vlan, station.mac, station.port, station.seen_at, station.seen_at + ageing)
            for (vlan, _), station in sorted(self._stations.items(), key=lambda item: item[0])
            if now < station.seen_at + ageing
        ]
