"""The neighbour cache: IP -> MAC for ARP (RFC 826) and, given IPv6 addresses, NDP (RFC 4861).

Modelled on Linux's neighbour table (``net/core/neighbour.c``), simplified where the difference
is small and said here:

States (``ip neigh`` prints them):

- INCOMPLETE: a resolution is under way.  Packets for the address wait in a queue of at most
  ``queue_len`` (Linux's ``unres_qlen`` of old: 3 packets; Linux now counts bytes instead); when
  it is full the *oldest* waiting packet is dropped to make room, as ``__neigh_event_send``
  does.  A request is broadcast at once and again every ``retrans_time`` (``retrans_time_ms``,
  1 s; RFC 4861 RETRANS_TIMER) until ``mcast_solicit`` (3; RFC 4861 MAX_MULTICAST_SOLICIT)
  have gone unanswered; ``retrans_time`` after the last one the resolution fails and its queued
  packets are handed back, so the host can drop them and send ICMP host unreachable (RFC 1122
  §2.3.2.2).
- REACHABLE: confirmed (a unicast reply, or :meth:`NeighborCache.confirm` from an upper layer,
  RFC 4861 §7.3.1) less than ``reachable_time`` ago (``base_reachable_time_ms``, 30 s).
- STALE: known but not recently confirmed.  Still used to send, as Linux does.  Linux would
  then go DELAY -> PROBE and unicast-probe the neighbour (RFC 4861 §7.3.3); netsim does not
  probe, it keeps using the entry.  An entry neither used nor heard from for ``gc_stale_time``
  (60 s) is forgotten, and the next packet resolves it again.  (Linux's garbage collector only
  runs above ``gc_thresh1`` = 128 entries, so a small Linux table keeps STALE entries longer;
  netsim always forgets them, which keeps ``ip neigh`` listings of long runs short.)
- PERMANENT: added by hand (``ip neigh add ... nud permanent``); never expires, never
  overridden by ARP.

Updates follow RFC 826's merge rule and Linux's ``arp_process``: an ARP packet from an address
we have an entry for updates it; one that creates an entry is accepted only when we are its
target (the caller says which with ``create``).  A unicast reply confirms reachability
(REACHABLE); a request or a broadcast reply only says the neighbour exists (STALE, or no change
if the entry is already valid with that MAC).  Within ``locktime`` (1 s) of the MAC being set, a
different MAC is ignored ("the first reply wins", against duelling proxy ARP answers) unless the
caller says ``override`` (a gratuitous ARP; for NDP, an advertisement with the O flag).

Expiry is lazy: an entry past ``gc_stale_time`` is absent from the moment it expires whether or
not :meth:`NeighborCache.expire` has run, so :meth:`NeighborCache.next_deadline` wakes the
caller only for resolutions in progress.  Linux randomises ``reachable_time`` in
[base/2, 3*base/2); pass ``reachable_time=random_reachable_time(base, rng)`` to do the same.

Packets are opaque here (a type parameter): the cache never looks inside them.
"""

from __future__ import annotations

import enum
from collections import deque
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import attrs

from netsim.units import MS, S
from netsim.wire.mac import MACAddress

P = TypeVar("P")
IPAddress = IPv4Address | IPv6Address

#: Linux ``net.ipv4.neigh.default.base_reachable_time_ms`` (RFC 4861 REACHABLE_TIME)
DEFAULT_REACHABLE_TIME = 30 * S
#: Linux ``net.ipv4.neigh.default.gc_stale_time``
DEFAULT_GC_STALE_TIME = 60 * S
#: Linux ``net.ipv4.neigh.default.retrans_time_ms`` (RFC 4861 RETRANS_TIMER)
DEFAULT_RETRANS_TIME = 1000 * MS
#: Linux ``net.ipv4.neigh.default.mcast_solicit`` (RFC 4861 MAX_MULTICAST_SOLICIT)
DEFAULT_MCAST_SOLICIT = 3
#: Linux ``unres_qlen`` before it counted bytes: packets held per unresolved address
DEFAULT_QUEUE_LEN = 3
#: Linux ``net.ipv4.neigh.default.locktime`` (100 jiffies); NDP uses 0 and the Override flag
DEFAULT_LOCKTIME = 1000 * MS


class NeighborState(enum.StrEnum):
    """The NUD states netsim models, named as ``ip neigh`` prints them."""

    INCOMPLETE = "INCOMPLETE"
    REACHABLE = "REACHABLE"
    STALE = "STALE"
    PERMANENT = "PERMANENT"


class RandomSource(Protocol):
    """The part of :class:`random.Random` used here (the caller passes its own stream)."""

    def randrange(self, stop: int, /) -> int: ...


def random_reachable_time(base: int, rng: RandomSource) -> int:
    """Linux's ``neigh_rand_reach_time``: uniform in [base/2, 3*base/2) (RFC 4861 §6.3.2)."""
    return base // 2 + rng.randrange(base) if base > 0 else 0


@attrs.frozen
class Resolution(Generic[P]):
    """What to do with a packet handed to :meth:`NeighborCache.resolve`.

    ``mac`` set: send the packet to it now.  Otherwise the packet waits (``queued``) until the
    address resolves; ``request`` says a request must be sent now (the first one of a new
    resolution); ``dropped`` is a packet that could not wait — the oldest one pushed out of a
    full queue, or this one when ``queue_len`` is 0 — for the caller to count as dropped.
    """

    mac: MACAddress | None
    request: bool = False
    queued: bool = False
    dropped: P | None = None


class FailedResolution(NamedTuple, Generic[P]):
    """A resolution that got no answer: the address and the packets that waited for it."""

    address: IPv4Address | IPv6Address
    packets: tuple[P, ...]


@attrs.frozen
class TimerActions(Generic[P]):
    """What :meth:`NeighborCache.on_timer` asks of the caller: broadcast a request again for
    each address in ``retransmit``; drop the packets of each resolution in ``failed`` (and
    answer ICMP host unreachable, RFC 1122 §2.3.2.2)."""

    retransmit: tuple[IPv4Address | IPv6Address, ...] = ()
    failed: tuple[FailedResolution[P], ...] = ()


@attrs.frozen
class NeighborEntry:
    """One line of ``ip neigh``: ``10.0.0.1 lladdr 02:00:00:00:00:01 REACHABLE``."""

    ip: IPv4Address | IPv6Address
    mac: MACAddress | None
    state: NeighborState
    confirmed_at: int | None
    used_at: int

    def __str__(self) -> str:
        if self.mac is None:
            return f"{self.ip} {self.state}"
        return f"{self.ip} lladdr {self.mac} {self.state}"


@attrs.define
class _Entry(Generic[P]):
    mac: MACAddress | None
    confirmed_at: int | None  # last confirmation of reachability; None: never confirmed
    heard_at: int  # last ARP/NDP packet from the neighbour (or creation)
    used_at: int  # last packet sent to it
    mac_set_at: int  # when the MAC was last set or changed (for locktime)
    permanent: bool = False
    queue: deque[P] = attrs.Factory(deque)
    requests: int = 0
    next_request_at: int = 0


def _non_negative(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative int, got {value!r}")


def _positive(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive int, got {value!r}")


@attrs.define
class NeighborCache(Generic[P]):
    """The neighbour table of one interface (one per interface, as in Linux)."""

    reachable_time: int = attrs.field(default=DEFAULT_REACHABLE_TIME, validator=_non_negative)
    gc_stale_time: int = attrs.field(default=DEFAULT_GC_STALE_TIME, validator=_non_negative)
    retrans_time: int = attrs.field(default=DEFAULT_RETRANS_TIME, validator=_positive)
    mcast_solicit: int = attrs.field(default=DEFAULT_MCAST_SOLICIT, validator=_positive)
    queue_len: int = attrs.field(default=DEFAULT_QUEUE_LEN, validator=_non_negative)
    locktime: int = attrs.field(default=DEFAULT_LOCKTIME, validator=_non_negative)
    #: packets dropped from full queues (Linux's ``unres_discards``)
    unresolved_discards: int = attrs.field(init=False, default=0)
    #: resolutions that failed (Linux's ``res_failed``)
    resolution_failures: int = attrs.field(init=False, default=0)
    _entries: dict[IPv4Address | IPv6Address, _Entry[P]] = attrs.field(init=False, factory=dict)
    _pending: dict[IPv4Address | IPv6Address, _Entry[P]] = attrs.field(init=False, factory=dict)

    # --- queries --------------------------------------------------------------------------

    def _valid(self, ip: IPv4Address | IPv6Address, now: int) -> _Entry[P] | None:
        """The entry for ``ip`` if it has a MAC and has not been collected (lazily) by ``now``."""
        entry = self._entries.get(ip)
        if entry is None or entry.mac is None:
            return None
        if entry.permanent or now < self._gc_at(entry):
            return entry
        return None

    def _gc_at(self, entry: _Entry[P]) -> int:
        idle_until = max(entry.used_at, entry.heard_at) + self.gc_stale_time
        if entry.confirmed_at is not None:
            return max(idle_until, entry.confirmed_at + self.reachable_time)
        return idle_until

    def _state(self, entry: _Entry[P], now: int) -> NeighborState:
        if entry.mac is None:
            return NeighborState.INCOMPLETE
        if entry.permanent:
            return NeighborState.PERMANENT
        if entry.confirmed_at is not None and now < entry.confirmed_at + self.reachable_time:
            return NeighborState.REACHABLE
        return NeighborState.STALE

    def lookup(self, ip: IPv4Address | IPv6Address, now: int) -> MACAddress | None:
        """The MAC ``ip`` resolves to at ``now`` (REACHABLE, STALE or PERMANENT), else None.

        A pure query: it neither counts as use nor changes any state.
        """
        entry = self._valid(ip, now)
        return None if entry is None else entry.mac

    def state(self, ip: IPv4Address | IPv6Address, now: int) -> NeighborState | None:
        """The state of the entry for ``ip`` at ``now``, or None when there is none."""
        entry = self._entries.get(ip)
        if entry is None:
            return None
        if entry.mac is not None and self._valid(ip, now) is None:
            return None
        return self._state(entry, now)

    def __contains__(self, ip: object) -> bool:
        """Whether there is any entry for ``ip``, INCOMPLETE ones included, ignoring expiry."""
        return ip in self._entries

    def entries(self, now: int) -> list[NeighborEntry]:
        """An ``ip neigh``-like listing at ``now``, ordered by address (IPv4 first)."""
        listed = []
        for ip in sorted(self._entries, key=lambda a: (a.version, int(a))):
            entry = self._entries[ip]
            if entry.mac is not None and self._valid(ip, now) is None:
                continue
            listed.append(NeighborEntry(ip, entry.mac, self._state(entry, now), entry.confirmed_at, entry.used_at))
        return listed

    # --- sending ----------------------------------------------------------------------------

    def use(self, ip: IPv4Address | IPv6Address, now: int) -> MACAddress | None:
        """The MAC a packet for next hop ``ip`` goes to now, counted as use, when it is known;
        None when :meth:`resolve` must decide.  The per-packet path: no Resolution is built."""
        # (_valid and _gc_at written out: this runs for every frame a host sends)
        entry = self._entries.get(ip)
        if entry is None or entry.mac is None:
            return None
        if not entry.permanent:
            used, heard = entry.used_at, entry.heard_at
            idle_until = (used if used > heard else heard) + self.gc_stale_time
            confirmed = entry.confirmed_at
            if confirmed is not None and confirmed + self.reachable_time > idle_until:
                idle_until = confirmed + self.reachable_time
            if now >= idle_until:
                return None
        entry.used_at = now
        return entry.mac

    def resolve(self, ip: IPv4Address | IPv6Address, packet: P, now: int) -> Resolution[P]:
        """Where to send ``packet`` for next hop ``ip``: a MAC now, or wait for resolution."""
        entry = self._valid(ip, now)
        if entry is not None:
            entry.used_at = now
            return Resolution(entry.mac)
        entry = self._pending.get(ip)
        if entry is not None:
            return self._enqueue(entry, packet, request=False)
        # no entry, or one collected by now: start resolving (RFC 826; RFC 4861 §7.2.2)
        entry = _Entry(mac=None, confirmed_at=None, heard_at=now, used_at=now, mac_set_at=now,
                       requests=1, next_request_at=now + self.retrans_time)
        self._entries[ip] = entry
        self._pending[ip] = entry
        return self._enqueue(entry, packet, request=True)

    def _enqueue(self, entry: _Entry[P], packet: P, *, request: bool) -> Resolution[P]:
        if self.queue_len == 0:
            self.unresolved_discards += 1
            return Resolution(None, request=request, dropped=packet)
        dropped: P | None = None
        if len(entry.queue) >= self.queue_len:
            dropped = entry.queue.popleft()
            self.unresolved_discards += 1
        entry.queue.append(packet)
        return Resolution(None, request=request, queued=True, dropped=dropped)

    # --- receiving ----------------------------------------------------------------------------

    def fill(
        self,
        ip: IPv4Address | IPv6Address,
        mac: MACAddress,
        now: int,
        *,
        confirmed: bool = True,
        create: bool = True,
        override: bool = False,
    ) -> list[P]:
        """Record that ``ip`` is at ``mac``, from an ARP (or NDP) packet heard at ``now``.

        Returns the packets that were waiting for ``ip`` (in the order they were queued), for
        the caller to send to ``mac`` now.

        Args:
            confirmed: the packet confirms reachability (a unicast ARP reply; a solicited
                neighbour advertisement): REACHABLE.  False for a request or a broadcast
                reply: STALE, or no change if the entry already holds ``mac``.
            create: make a new entry if there is none (RFC 826: only when we are the target).
                An existing entry, INCOMPLETE ones included, is updated either way.
            override: replace a different MAC even within ``locktime`` (gratuitous ARP).
        """
        entry = self._entries.get(ip)
        if entry is not None and entry.mac is not None and self._valid(ip, now) is None:
            del self._entries[ip]  # collected: as if it were not there
            entry = None
        if entry is None:
            if create:
                self._entries[ip] = _Entry(mac=mac, confirmed_at=now if confirmed else None, heard_at=now,
                                           used_at=now, mac_set_at=now)
            return []
        if entry.permanent:
            return []
        entry.heard_at = now
        if entry.mac is None:  # INCOMPLETE: resolved
            entry.mac, entry.mac_set_at = mac, now
            entry.confirmed_at = now if confirmed else None
            del self._pending[ip]
            released = list(entry.queue)
            entry.queue.clear()
            entry.requests = 0
            return released
        if entry.mac == mac:
            if confirmed:
                entry.confirmed_at = now
            return []
        if not override and now < entry.mac_set_at + self.locktime:
            return []  # Linux arp_process: within locktime the first answer wins
        entry.mac, entry.mac_set_at = mac, now
        entry.confirmed_at = now if confirmed else None
        return []

    def confirm(self, ip: IPv4Address | IPv6Address, now: int) -> bool:
        """Upper-layer confirmation that ``ip`` is reachable (RFC 4861 §7.3.1; Linux's
        ``neigh_confirm`` from TCP progress): a valid entry becomes REACHABLE again."""
        entry = self._valid(ip, now)
        if entry is None or entry.permanent:
            return False
        entry.confirmed_at = now
        return True

    # --- administration -----------------------------------------------------------------------

    def set_permanent(self, ip: IPv4Address | IPv6Address, mac: MACAddress) -> list[P]:
        """``ip neigh replace IP lladdr MAC nud permanent``; returns packets that were waiting."""
        released = self.remove(ip)
        self._entries[ip] = _Entry(mac=mac, confirmed_at=None, heard_at=0, used_at=0, mac_set_at=0, permanent=True)
        return released

    def remove(self, ip: IPv4Address | IPv6Address) -> list[P]:
        """``ip neigh del IP``; returns the packets that were waiting for it (to drop)."""
        entry = self._entries.pop(ip, None)
        self._pending.pop(ip, None)
        return [] if entry is None else list(entry.queue)

    # --- timers -----------------------------------------------------------------------------

    def on_timer(self, now: int) -> TimerActions[P]:
        """Run the resolution timers due by ``now`` (Linux's ``neigh_timer_handler``).

        Each due resolution either needs another request (``retransmit``) or, after
        ``mcast_solicit`` unanswered requests and one more ``retrans_time``, has failed
        (``failed``, with its packets).  Also forgets entries past ``gc_stale_time``.
        """
        retransmit: list[IPv4Address | IPv6Address] = []
        failed: list[FailedResolution[P]] = []
        for ip, entry in list(self._pending.items()):
            if entry.next_request_at > now:
                continue
            if entry.requests < self.mcast_solicit:
                entry.requests += 1
                entry.next_request_at = now + self.retrans_time
                retransmit.append(ip)
            else:
                del self._pending[ip]
                del self._entries[ip]
                self.resolution_failures += 1
                failed.append(FailedResolution(ip, tuple(entry.queue)))
        self.expire(now)
        return TimerActions(tuple(retransmit), tuple(failed))

    def expire(self, now: int) -> list[IPv4Address | IPv6Address]:
        """Forget the entries that have been idle for ``gc_stale_time`` by ``now``."""
        gone = [
            ip for ip, entry in self._entries.items()
            if entry.mac is not None and not entry.permanent and now >= self._gc_at(entry)
        ]
        for ip in gone:
            del self._entries[ip]
        return gone

    def next_deadline(self) -> int | None:
        """When :meth:`on_timer` next has something to do: the earliest pending request."""
        return min((entry.next_request_at for entry in self._pending.values()), default=None)
