"""The NAT translation table: a sans-I/O NAPT with conntrack-style entries.

One :class:`NatEntry` per flow, as Linux's conntrack keeps one per 5-tuple: its ``original``
tuple is the flow as the inside host sends it (src = inside endpoint, dst = remote) and its
``reply`` tuple is how the remote's answers arrive (src = remote, dst = the outside endpoint).
Both are indexed, so a packet either way is one dict lookup.

Entries hang off *bindings*, the RFC 4787 §4.1 mappings: inside endpoint (plus, by the
mapping behaviour, the remote address or address and port) -> outside endpoint.  A binding
lives as long as some entry uses it (RFC 4787 §4.3: the mapping timer is refreshed by the
flow's packets); its outside port is free again when the last entry expires.  Without port
overloading an outside endpoint belongs to exactly one binding, so it leads back to exactly one
inside endpoint; with it (Linux) only the whole reply tuple is unique.

Time: every call takes ``now`` (ns, never decreasing) and first expires what is due, so the
table's answers do not depend on how often the caller's timer runs :meth:`NatTable.expire`.
Expiry uses a heap of (deadline, seq, entry) with lazy deletion: a refresh that pushes a
deadline later leaves the heap alone and the stale item is re-filed when it surfaces.

Randomness (only for :attr:`PortAssignment.RANDOM`) comes from the ``rng`` the caller passes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network

import attrs

from netsim.proto.nat.behaviour import Filtering, Mapping, NatBehaviour, Pooling, PortAssignment, Unsolicited
from netsim.proto.nat.conntrack import IGNORE, CtDir, TcpCtState, can_open, tcp_next, tcp_timeouts
from netsim.proto.nat.flow import (
    ICMP,
    PROTOCOL_NAMES,
    TCP,
    UDP,
    Direction,
    Drop,
    FlowTuple,
    PortForward,
    make_flow,
    networks,
)
from netsim.proto.ports import RandomSource
from netsim.units import S
from netsim.wire._fields import fast_ipv4

#: Linux ``udp_packet()``: a UDP entry that sees a reply and is still active this long after it
#: was created becomes a stream (ASSURED, ``nf_conntrack_udp_timeout_stream``)
UDP_STREAM_AFTER = 2 * S
#: ICMP identifiers are translated over the whole 16-bit space (Linux's ``icmp_unique_tuple``)
ICMP_ID_RANGE = (0, 65535)

_ALL_PARITIES = 2  # the `_used` counter class when port parity is off
#: refusals of a packet nobody asked for, which Unsolicited.ANSWER hands to the NAT's own stack
_UNSOLICITED = ("filtered", "hairpin disabled")

Endpoint = tuple[int, IPv4Address, int]  # (protocol, address, port)


class _Pair:
    """Paired pooling (RFC 4787 REQ-2): an inside address's outside address, while it has mappings."""

    __slots__ = ("addr", "bindings")

    def __init__(self, addr: IPv4Address) -> None:
        self.addr = addr
        self.bindings = 0


class _Binding:
    """An RFC 4787 mapping: an inside endpoint's outside endpoint, shared by its entries."""

    __slots__ = ("entries", "inside_addr", "inside_port", "key", "outside_addr", "outside_port", "protocol",
                 "remotes", "static")

    def __init__(self, key: tuple[object, ...], protocol: int, inside_addr: IPv4Address, inside_port: int,
                 outside_addr: IPv4Address, outside_port: int, *, static: bool, track_remotes: bool) -> None:
        self.key = key
        self.protocol = protocol
        self.inside_addr = inside_addr
        self.inside_port = inside_port
        self.outside_addr = outside_addr
        self.outside_port = outside_port
        self.static = static  # a port forward: never released, admits any remote
        self.entries = 0
        #: remote address -> live entries to it (only kept for address-dependent filtering)
        self.remotes: dict[IPv4Address, int] | None = {} if track_remotes else None


@attrs.define(eq=False)
class NatEntry:
    """One tracked flow (a conntrack entry)."""

    #: the flow as the inside host sends it: src = inside endpoint, dst = remote
    original: FlowTuple
    #: the remote's packets as they arrive: src = remote, dst = outside endpoint
    reply: FlowTuple
    #: who sent the first packet: OUTBOUND for SNAT, INBOUND for a port forward or a packet let
    #: in by endpoint-independent/address-dependent filtering
    initiator: Direction
    created: int
    #: the entry is gone at this time (ns) unless a packet refreshes it first
    deadline: int
    #: TCP only: the conntrack state
    state: TcpCtState | None = None
    seen_reply: bool = False
    assured: bool = False
    packets_out: int = 0
    packets_in: int = 0
    _binding: _Binding | None = attrs.field(default=None, repr=False)
    _heap_deadline: int = attrs.field(default=0, repr=False)
    _heap_seq: int = attrs.field(default=0, repr=False)
    _alive: bool = attrs.field(default=True, repr=False)

    @property
    def protocol(self) -> int:
        return self.original.protocol

    @property
    def inside(self) -> tuple[IPv4Address, int]:
        return self.original.src, self.original.sport

    @property
    def outside(self) -> tuple[IPv4Address, int]:
        return self.reply.dst, self.reply.dport

    @property
    def remote(self) -> tuple[IPv4Address, int]:
        return self.reply.src, self.reply.sport

    @property
    def translated(self) -> FlowTuple:
        """The original-direction packet as it leaves the NAT's outside interface."""
        return self.reply.reply()

    def remaining(self, now: int) -> int:
        """Whole seconds left before expiry, as ``conntrack -L`` prints them."""
        return max(0, (self.deadline - now) // S)

    def conntrack_line(self, now: int) -> str:
        """This entry as a ``conntrack -L`` line (tuples in conntrack's own direction)."""
        if self.initiator is Direction.OUTBOUND:
            ct_orig, ct_reply = self.original, self.reply
        else:  # DNAT-like: conntrack's original is the remote's first packet
            ct_orig, ct_reply = self.reply, self.original
        proto = self.protocol
        parts = [f"{PROTOCOL_NAMES.get(proto, 'unknown'):<8} {proto} {self.remaining(now)}"]
        if self.state is not None:
            parts.append(self.state.value)
        parts.append(_tuple_text(ct_orig, 8))
        if not self.seen_reply:
            parts.append("[UNREPLIED]")
        parts.append(_tuple_text(ct_reply, 0))
        if self.assured:
            parts.append("[ASSURED]")
        parts.append("mark=0 use=1")
        return " ".join(parts)


def _tuple_text(t: FlowTuple, icmp_type: int) -> str:
    if t.protocol == ICMP:
        return f"src={t.src} dst={t.dst} type={icmp_type} code=0 id={t.sport}"
    return f"src={t.src} dst={t.dst} sport={t.sport} dport={t.dport}"


class NatTable:
    """A NAPT: SNAT of the inside to ``outside`` addresses, port forwards, exempt prefixes.

    ``outbound``/``inbound`` return the translated tuple or a :class:`Drop` (counted in
    :attr:`drops` by reason: ``"table full"``, ``"ports exhausted"``, ``"no mapping"``,
    ``"filtered"``, ``"hairpin disabled"``, ``"invalid"`` (a TCP segment that cannot open a
    conntrack entry), ``"clash"`` (a port forward whose inside tuple is already in use)).
    """

    def __init__(
        self,
        outside: Sequence[IPv4Address | str] | IPv4Address | str,
        behaviour: NatBehaviour | str | None = None,
        *,
        forwards: Iterable[PortForward] = (),
        exempt: Iterable[IPv4Network | str] = (),
        rng: RandomSource | None = None,
    ) -> None:
        addrs = [outside] if isinstance(outside, IPv4Address | str) else list(outside)
        self.outside_addrs: tuple[IPv4Address, ...] = tuple(fast_ipv4(a) for a in addrs)
        if not self.outside_addrs or len(set(self.outside_addrs)) != len(self.outside_addrs):
            raise ValueError(f"a NAT needs one or more distinct outside addresses, got {addrs!r}")
        if behaviour is None:
            behaviour = NatBehaviour()
        self.behaviour = NatBehaviour.preset(behaviour) if isinstance(behaviour, str) else behaviour
        if self.behaviour.port_assignment in (PortAssignment.RANDOM, PortAssignment.PRESERVE_RANDOM) and rng is None:
            raise ValueError("random port assignment needs an rng (a random.Random stream)")
        self.rng = rng
        self.forwards: tuple[PortForward, ...] = tuple(forwards)
        self.exempt: tuple[IPv4Network, ...] = networks(exempt)
        self._outside_set = frozenset(self.outside_addrs)
        #: keyed by the state's value: an Enum hashes in Python, its value string in C
        self._tcp_timeouts = {state._value_: t for state, t in tcp_timeouts(self.behaviour.timeouts).items()}
        self._overloading = self.behaviour.port_overloading
        #: overloading without paired pooling or address-dependent filtering: a dynamic entry
        #: is its own mapping (only the reply tuple must be unique), and nothing is kept per
        #: mapping beside it (Linux's masquerade: conntrack entries are all there is)
        self._bare = (self._overloading and self.behaviour.pooling is not Pooling.PAIRED
                      and self.behaviour.filtering is not Filtering.ADDRESS_DEPENDENT)
        #: drops by reason since the table was made (a flush keeps them)
        self.drops: dict[str, int] = {}
        self._drop_values: dict[str, Drop] = {}
        self._now = 0
        self._seq = 0
        self._statics: dict[Endpoint, PortForward] = {}
        self._reset()
        for forward in self.forwards:
            if forward.outside_addr is not None and forward.outside_addr not in self._outside_set:
                raise ValueError(f"port forward {forward} is for {forward.outside_addr}, not an outside address")
            for addr in (forward.outside_addr,) if forward.outside_addr else self.outside_addrs:
                if (forward.protocol, addr, forward.outside_port) in self._statics:
                    raise ValueError(f"two port forwards for {addr}:{forward.outside_port}")
                self._statics[forward.protocol, addr, forward.outside_port] = forward
        self._install_statics()

    # -- state ------------------------------------------------------------------------------

    def _reset(self) -> None:
        self._by_orig: dict[FlowTuple, NatEntry] = {}
        self._by_reply: dict[FlowTuple, NatEntry] = {}
        self._mappings: dict[tuple[object, ...], _Binding] = {}
        #: outside endpoint -> its binding (port forwards always; dynamic ones unless overloading)
        self._owner: dict[Endpoint, _Binding] = {}
        #: overloading only: outside endpoint -> live entries using it
        self._out_refs: dict[Endpoint, int] = {}
        #: (protocol, outside address, parity class) -> in-range ports owned
        self._used: dict[tuple[int, IPv4Address, int], int] = {}
        self._cursor: dict[tuple[int, IPv4Address], int] = {}
        self._paired: dict[IPv4Address, _Pair] = {}
        self._pool_next = 0
        self._heap: list[tuple[int, int, NatEntry]] = []

    def _install_statics(self) -> None:
        for (proto, addr, port), forward in self._statics.items():
            binding = _Binding(("forward", proto, addr, port), proto, forward.inside_addr, forward.inside_port,
                               addr, port, static=True, track_remotes=False)
            self._owner[proto, addr, port] = binding
            self._count_port(proto, addr, port, +1)

    def _advance(self, now: int) -> None:
        if now < self._now:
            raise ValueError(f"time went backwards: {now} < {self._now}")
        self._now = now
        heap = self._heap
        if heap and heap[0][0] <= now:
            self.expire(now)

    def _drop(self, reason: str) -> Drop:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        value = self._drop_values.get(reason)
        if value is None:
            to_host = reason == "no mapping" or (
                reason in _UNSOLICITED and self.behaviour.unsolicited is Unsolicited.ANSWER)
            value = self._drop_values[reason] = Drop(reason, to_host)
        return value

    def _is_exempt(self, addr: IPv4Address) -> bool:
        return any(addr in net for net in self.exempt)

    # -- the packet path --------------------------------------------------------------------

    def outbound(self, flow: FlowTuple, now: int, *, tcp_flags: int = 0) -> FlowTuple | Drop:
        """A packet from the inside: its tuple with the source made the outside endpoint.

        Creates the entry (and the mapping) for a new flow.  A destination that is one of our
        outside addresses is hairpinned (RFC 4787 REQ-9, RFC 5382 REQ-8): source and destination
        are both translated, the source to our outside endpoint (REQ-9a).
        """
        found = self.outbound_entry(flow, now, tcp_flags=tcp_flags)
        return found.translated if isinstance(found, NatEntry) else found

    def outbound_entry(self, flow: FlowTuple, now: int, *, tcp_flags: int = 0) -> NatEntry | FlowTuple | Drop:
        """:meth:`outbound`, answering with the flow's entry itself when the packet belongs to
        one (its ``translated`` tuple is the answer), so a caller can rewrite from the entry's
        fields without a tuple built per packet.  A FlowTuple answer (an exempt flow, a
        hairpin) is the translated tuple; a Drop is a refusal."""
        self._advance(now)
        if self.exempt and (self._is_exempt(flow.src) or self._is_exempt(flow.dst)):
            return flow
        if flow.dst in self._outside_set:
            return self._hairpin(flow, now, tcp_flags)
        entry = self._by_orig.get(flow)
        if entry is None:
            return self._new_outbound(flow, now, tcp_flags)
        self._packet(entry, Direction.OUTBOUND, tcp_flags, now)
        return entry

    def inbound(self, flow: FlowTuple, now: int, *, tcp_flags: int = 0) -> FlowTuple | Drop:
        """A packet arriving at an outside address: its tuple with the destination made the
        inside endpoint, or a Drop when no entry, port forward or filtering rule lets it in."""
        found = self.inbound_entry(flow, now, tcp_flags=tcp_flags)
        return found.original.reply() if isinstance(found, NatEntry) else found

    def inbound_entry(self, flow: FlowTuple, now: int, *, tcp_flags: int = 0) -> NatEntry | FlowTuple | Drop:
        """:meth:`inbound`, answering with the entry (``original.reply()`` is the translated
        tuple), an untranslated FlowTuple (an exempt source) or a Drop."""
        self._advance(now)
        if self.exempt and self._is_exempt(flow.src):
            return flow
        entry = self._by_reply.get(flow)
        if entry is None:
            if flow.dst not in self._outside_set:
                return self._drop("no mapping")
            return self._new_inbound(flow, now, tcp_flags)
        self._packet(entry, Direction.INBOUND, tcp_flags, now)
        return entry

    def _hairpin(self, flow: FlowTuple, now: int, tcp_flags: int) -> FlowTuple | Drop:
        if not self.behaviour.hairpinning:
            return self._drop("hairpin disabled")
        if flow.protocol == ICMP:  # no port names an inside host: the NAT itself was pinged
            return self._drop("no mapping")
        source = self._by_orig.get(flow)
        fresh = source is None
        if source is None:
            created = self._new_outbound(flow, now, tcp_flags)
            if isinstance(created, Drop):
                return created
            source = created
        else:
            self._packet(source, Direction.OUTBOUND, tcp_flags, now)
        inner = source.reply.reply()  # (our outside endpoint for the sender) -> (the target)
        target = self._by_reply.get(inner)
        if target is None:
            created = self._new_inbound(inner, now, tcp_flags)
            if isinstance(created, Drop):
                if fresh:
                    self._remove(source)
                return created
            target = created
        else:
            self._packet(target, Direction.INBOUND, tcp_flags, now)
        return FlowTuple(flow.protocol, inner.src, inner.sport, target.original.src, target.original.sport)

    # -- new entries ------------------------------------------------------------------------

    def _mapping_key(self, flow: FlowTuple) -> tuple[object, ...]:
        mapping = self.behaviour.mapping
        if mapping is Mapping.ENDPOINT_INDEPENDENT:
            return (flow.protocol, flow.src, flow.sport)
        if mapping is Mapping.ADDRESS_DEPENDENT:
            return (flow.protocol, flow.src, flow.sport, flow.dst)
        return (flow.protocol, flow.src, flow.sport, flow.dst, flow.dport)

    def _new_outbound(self, flow: FlowTuple, now: int, tcp_flags: int) -> NatEntry | Drop:
        if flow.protocol == TCP and not can_open(tcp_flags):
            return self._drop("invalid")
        if len(self._by_orig) >= self.behaviour.max_entries:
            return self._drop("table full")
        key = () if self._overloading else self._mapping_key(flow)  # overloading keeps no mapping index
        binding = None if self._overloading else self._mappings.get(key)
        if binding is None:
            endpoint = self._new_endpoint(flow)
            if endpoint is None:
                return self._drop("ports exhausted")
            addr, port = endpoint
            binding = None if self._bare else self._bind(flow, key, addr, port)
        else:
            addr, port = binding.outside_addr, binding.outside_port
        # unique: _allocate checked it (overloading), or the outside endpoint is this binding's own
        reply = _reply_tuple(flow, addr, port)
        entry = NatEntry(flow, reply, Direction.OUTBOUND, now, now)
        self._packet(entry, Direction.OUTBOUND, tcp_flags, now)  # sets the deadline _insert files
        self._insert(entry, binding)
        return entry

    def _new_inbound(self, flow: FlowTuple, now: int, tcp_flags: int) -> NatEntry | Drop:
        endpoint = (flow.protocol, flow.dst, flow.dport)
        binding = self._owner.get(endpoint)
        if binding is None:
            return self._drop("filtered" if self._out_refs.get(endpoint) else "no mapping")
        if not binding.static and not self._admits(binding, flow):
            return self._drop("filtered")
        if flow.protocol == TCP and not can_open(tcp_flags):
            return self._drop("invalid")
        if len(self._by_orig) >= self.behaviour.max_entries:
            return self._drop("table full")
        if flow.protocol == ICMP:
            original = FlowTuple(ICMP, binding.inside_addr, binding.inside_port, flow.src, binding.inside_port)
        else:
            original = FlowTuple(flow.protocol, binding.inside_addr, binding.inside_port, flow.src, flow.sport)
        if original in self._by_orig:  # the inside endpoint talks to that remote through another port
            return self._drop("clash")
        entry = NatEntry(original, flow, Direction.INBOUND, now, now)
        self._packet(entry, Direction.INBOUND, tcp_flags, now)  # sets the deadline _insert files
        self._insert(entry, binding)
        return entry

    def _admits(self, binding: _Binding, flow: FlowTuple) -> bool:
        """RFC 4787 §5: may a packet from a remote no entry knows reach this binding?"""
        filtering = self.behaviour.filtering
        if filtering is Filtering.ENDPOINT_INDEPENDENT:
            return True
        if filtering is Filtering.ADDRESS_DEPENDENT:
            return bool(binding.remotes and binding.remotes.get(flow.src))
        return False  # the exact remote address and port would have matched an entry

    def _new_endpoint(self, flow: FlowTuple) -> tuple[IPv4Address, int] | None:
        """The outside address and port (ICMP: identifier) for a new mapping of ``flow``'s
        source, or None when every candidate is taken."""
        addrs = self.outside_addrs
        paired = self._paired.get(flow.src) if self.behaviour.pooling is Pooling.PAIRED else None
        candidates: Iterable[IPv4Address]
        if paired is not None:
            candidates = (paired.addr,)
        elif len(addrs) == 1:
            candidates = addrs
        else:
            start = self._pool_next
            candidates = (addrs[(start + i) % len(addrs)] for i in range(len(addrs)))
        for addr in candidates:
            port = self._allocate(flow, addr)
            if port is not None:
                break
        else:
            return None
        if paired is None and len(addrs) > 1:
            self._pool_next = (addrs.index(addr) + 1) % len(addrs)
        return addr, port

    def _bind(self, flow: FlowTuple, key: tuple[object, ...], addr: IPv4Address, port: int) -> _Binding:
        """Record the mapping of ``flow``'s source to ``addr``:``port``."""
        binding = _Binding(key, flow.protocol, flow.src, flow.sport, addr, port, static=False,
                           track_remotes=self.behaviour.filtering is Filtering.ADDRESS_DEPENDENT)
        if not self._overloading:
            self._mappings[key] = binding
            self._owner[flow.protocol, addr, port] = binding
            self._count_port(flow.protocol, addr, port, +1)
        if self.behaviour.pooling is Pooling.PAIRED:
            paired = self._paired.get(flow.src)
            if paired is None:
                paired = self._paired[flow.src] = _Pair(addr)
            paired.bindings += 1
        return binding

    # -- port allocation --------------------------------------------------------------------

    def _range(self, protocol: int) -> tuple[int, int]:
        return ICMP_ID_RANGE if protocol == ICMP else self.behaviour.port_range

    def _parity_class(self, protocol: int, port: int) -> int:
        return port % 2 if self.behaviour.port_parity and protocol != ICMP else _ALL_PARITIES

    def _count_port(self, protocol: int, addr: IPv4Address, port: int, delta: int) -> None:
        low, high = self._range(protocol)
        if low <= port <= high:
            key = (protocol, addr, self._parity_class(protocol, port))
            self._used[key] = self._used.get(key, 0) + delta

    def _allocate(self, flow: FlowTuple, addr: IPv4Address) -> int | None:
        """An outside port (ICMP: identifier) on ``addr`` for a new mapping of ``flow``'s source,
        or None when every candidate is taken.  Never scans the range unless it is nearly full:
        the common case is the first candidate."""
        protocol, want = flow.protocol, flow.sport
        low, high = self._range(protocol)
        assignment = self.behaviour.port_assignment
        if (assignment is PortAssignment.PRESERVE_RANDOM or assignment is PortAssignment.PRESERVE) and (
                low <= want <= high and (protocol, addr, want) not in self._owner
                and not (self._overloading and _reply_tuple(flow, addr, want) in self._by_reply)):
            return want  # the common case, decided without the general search's set-up
        parity = self._parity_class(protocol, want)
        step = 1 if parity == _ALL_PARITIES else 2
        first = low if step == 1 or low % 2 == parity else low + 1
        if first > high:
            return None
        count = (high - first) // step + 1
        if self._overloading:
            owner, replies = self._owner, self._by_reply

            def taken(port: int) -> bool:
                return (protocol, addr, port) in owner or _reply_tuple(flow, addr, port) in replies
        else:
            if self._used.get((protocol, addr, parity), 0) >= count:
                return None
            owner = self._owner

            def taken(port: int) -> bool:
                return (protocol, addr, port) in owner

        # the inside port could not be kept: PRESERVE_RANDOM falls back to a random port,
        # PRESERVE to the next one in order
        if assignment is PortAssignment.PRESERVE_RANDOM:
            assignment = PortAssignment.RANDOM
        if assignment is PortAssignment.RANDOM:
            assert self.rng is not None
            start = self.rng.randrange(count)
        else:
            cursor = self._cursor.get((protocol, addr), first)
            start = max(0, -(-(cursor - first) // step)) % count
        for i in range(count):
            port = first + ((start + i) % count) * step
            if not taken(port):
                if assignment is not PortAssignment.RANDOM:
                    self._cursor[protocol, addr] = port + step
                return port
        return None

    # -- bookkeeping ------------------------------------------------------------------------

    def _insert(self, entry: NatEntry, binding: _Binding | None) -> None:
        entry._binding = binding
        if binding is not None:
            binding.entries += 1
            if binding.remotes is not None:
                remote = entry.original.dst
                binding.remotes[remote] = binding.remotes.get(remote, 0) + 1
        if self._overloading:
            endpoint = (entry.protocol, entry.reply.dst, entry.reply.dport)
            self._out_refs[endpoint] = self._out_refs.get(endpoint, 0) + 1
        self._by_orig[entry.original] = entry
        self._by_reply[entry.reply] = entry
        self._push(entry, entry.deadline)

    def _remove(self, entry: NatEntry) -> None:
        entry._alive = False
        del self._by_orig[entry.original]
        del self._by_reply[entry.reply]
        if self._overloading:
            endpoint = (entry.protocol, entry.reply.dst, entry.reply.dport)
            left = self._out_refs[endpoint] - 1
            if left:
                self._out_refs[endpoint] = left
            else:
                del self._out_refs[endpoint]
        binding = entry._binding
        if binding is None:
            return  # an overloading entry that needed no mapping record (see _bare)
        binding.entries -= 1
        if binding.remotes is not None:
            remote = entry.original.dst
            left = binding.remotes[remote] - 1
            if left:
                binding.remotes[remote] = left
            else:
                del binding.remotes[remote]
        if binding.entries == 0 and not binding.static:
            self._release(binding)

    def _release(self, binding: _Binding) -> None:
        if not self._overloading:
            del self._mappings[binding.key]
            del self._owner[binding.protocol, binding.outside_addr, binding.outside_port]
            self._count_port(binding.protocol, binding.outside_addr, binding.outside_port, -1)
        paired = self._paired.get(binding.inside_addr)
        if paired is not None:
            paired.bindings -= 1
            if not paired.bindings:
                del self._paired[binding.inside_addr]

    def _push(self, entry: NatEntry, deadline: int) -> None:
        self._seq += 1
        entry._heap_deadline = deadline
        entry._heap_seq = self._seq
        heapq.heappush(self._heap, (deadline, self._seq, entry))

    def _packet(self, entry: NatEntry, direction: Direction, tcp_flags: int, now: int) -> None:
        """Account a packet of ``entry`` and refresh its timeout (both directions, as Linux)."""
        ctdir = CtDir.ORIGINAL if direction is entry.initiator else CtDir.REPLY
        if direction is Direction.OUTBOUND:
            entry.packets_out += 1
        else:
            entry.packets_in += 1
        protocol = entry.original[0]
        if protocol == TCP:
            old = entry.state or TcpCtState.NONE
            new = tcp_next(old, ctdir, tcp_flags)
            if not isinstance(new, TcpCtState):
                if new is IGNORE and ctdir is CtDir.REPLY:
                    entry.seen_reply = True
                return  # IGNORE / INVALID: no state change, no refresh
            if ctdir is CtDir.REPLY:
                entry.seen_reply = True
            entry.state = new
            if (not entry.assured and entry.seen_reply and new is TcpCtState.ESTABLISHED
                    and old in (TcpCtState.SYN_RECV, TcpCtState.ESTABLISHED)):
                entry.assured = True
            timeout = self._tcp_timeouts[new._value_]
        elif protocol == UDP:
            timeouts = self.behaviour.timeouts
            if ctdir is CtDir.REPLY:
                entry.seen_reply = True
            if entry.seen_reply and now - entry.created >= UDP_STREAM_AFTER:
                entry.assured = True
                timeout = timeouts.udp_stream
            else:
                timeout = timeouts.udp
        else:
            if ctdir is CtDir.REPLY:
                entry.seen_reply = True
            timeout = self.behaviour.timeouts.icmp
        deadline = now + timeout
        entry.deadline = deadline
        if deadline < entry._heap_deadline:
            self._push(entry, deadline)

    # -- time -------------------------------------------------------------------------------

    def expire(self, now: int) -> list[NatEntry]:
        """Remove the entries whose deadline is ``now`` or earlier; return them, oldest first.
        A mapping goes with its last entry, and its outside port is free again."""
        self._now = max(self._now, now)
        expired = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _deadline, seq, entry = heapq.heappop(heap)
            if not entry._alive or seq != entry._heap_seq:
                continue
            if entry.deadline > now:
                self._push(entry, entry.deadline)
                continue
            self._remove(entry)
            expired.append(entry)
        return expired

    def next_deadline(self) -> int | None:
        """When the next entry expires (ns), for the caller's timer; None when the table is empty."""
        heap = self._heap
        while heap:
            deadline, seq, entry = heap[0]
            if not entry._alive or seq != entry._heap_seq:
                heapq.heappop(heap)
            elif entry.deadline != deadline:
                heapq.heappop(heap)
                self._push(entry, entry.deadline)
            else:
                return deadline
        return None

    def flush(self) -> None:
        """A NAT reboot: every entry and mapping is forgotten and port allocation starts over.
        Port forwards (configuration) stay; so do the drop counters."""
        for entry in self._by_orig.values():
            entry._alive = False
        self._reset()
        self._install_statics()

    # -- looking ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_orig)

    def entries(self) -> list[NatEntry]:
        """Every live entry, sorted by original tuple (protocol, addresses and ports as ints)."""
        return sorted(self._by_orig.values(), key=lambda e: e.original.sort_key())

    def conntrack_lines(self, now: int) -> list[str]:
        """The table as ``conntrack -L`` prints it, one line per entry, seconds left from ``now``."""
        self._advance(now)
        return [entry.conntrack_line(now) for entry in self.entries()]

    def find(self, flow: FlowTuple) -> NatEntry | None:
        """The entry a tuple belongs to, whichever observer saw it: the inside host (original
        tuple, or its reverse), or the remote (reply tuple, or its reverse: the translated
        packet as it left).  Read-only."""
        for table, t in ((self._by_orig, flow), (self._by_reply, flow)):
            entry = table.get(t)
            if entry is not None:
                return entry
        back = flow.reply()
        return self._by_orig.get(back) or self._by_reply.get(back)

    def lookup_mapping(
        self, protocol: int, inside_addr: IPv4Address, inside_port: int
    ) -> list[tuple[IPv4Address, int]]:
        """The outside endpoints the inside endpoint is mapped to now (sorted; one under
        endpoint-independent mapping, one per remote otherwise).  Scans the table."""
        found = {
            (e.reply.dst, e.reply.dport) for e in self._by_orig.values()
            if e.original.protocol == protocol and e.original.src == inside_addr and e.original.sport == inside_port
        }
        return sorted(found, key=lambda ep: (int(ep[0]), ep[1]))

    def translate_embedded(self, inner: FlowTuple, direction: Direction, now: int) -> FlowTuple | None:
        """RFC 5508 §4.2 (and RFC 5382 REQ-9): the tuple to rewrite the datagram quoted in an ICMP
        error to, or None when no entry matches (the error is then dropped).  No state changes.

        INBOUND: an error arriving on the outside quotes a packet we sent out (src = our outside
        endpoint); the answer is the flow as the inside host sent it, so its ``src`` is the
        inside host to deliver to.  OUTBOUND: an inside host's error quotes a packet it received
        (dst = itself); the answer is that packet as it arrived outside, so its ``dst`` is the
        outside address to put as the error's source.
        """
        self._advance(now)
        if direction is Direction.INBOUND:
            entry = self._by_reply.get(inner.reply())
            return None if entry is None else entry.original
        entry = self._by_orig.get(inner.reply())
        return None if entry is None else entry.reply


def _reply_tuple(flow: FlowTuple, addr: IPv4Address, port: int) -> FlowTuple:
    """How the remote's replies to ``flow`` arrive once its source is ``addr``:``port``."""
    if flow[0] == ICMP:
        return make_flow(ICMP, flow[3], port, addr, port)
    return make_flow(flow[0], flow[3], flow[4], addr, port)
