"""A Hypothesis state machine over NatTable alone, for every preset and a few variants.

Random outbound packets (UDP, TCP with random flags, ICMP echo) from two inside hosts to two
remotes, random inbound packets to the outside addresses (some aimed at live mappings), replies
to earlier translations, hairpins, ICMP-error look-ups, time passing, and reboots.  After every
step the table must still be a bijection, every entry must be reachable from both its tuples,
the RFC 4787 mapping rule of the preset must hold over the live entries, and the expiry heap
must agree with the entries.  Every filtering decision is checked against the entries as they
stood just before the packet.
"""

from __future__ import annotations

import random
from collections import defaultdict
from ipaddress import IPv4Address

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from netsim.proto.nat import (
    ICMP,
    PRESETS,
    Direction,
    Drop,
    Filtering,
    FlowTuple,
    Mapping,
    NatBehaviour,
    NatEntry,
    NatTable,
    Pooling,
    PortAssignment,
    flow,
    icmp_echo,
)
from netsim.units import S
from netsim.wire.tcp import TCPFlags

OUTSIDE = (IPv4Address("203.0.113.1"), IPv4Address("203.0.113.2"))
INSIDE = ("192.168.1.10", "192.168.1.11")
REMOTES = ("198.51.100.7", "198.51.100.8")
INSIDE_PORTS = (5000, 5001, 1030, 80)
REMOTE_PORTS = (53, 54)
SYN, ACK, FIN, RST, PSH = (int(f) for f in (TCPFlags.SYN, TCPFlags.ACK, TCPFlags.FIN, TCPFlags.RST, TCPFlags.PSH))
FLAGS = st.sampled_from([SYN, SYN | ACK, ACK, FIN | ACK, RST, RST | ACK, PSH | ACK, 0])
PROTOCOLS = st.sampled_from(["udp", "tcp", "icmp"])
STEPS = st.sampled_from([0, 1, S, 2 * S, 10 * S, 29 * S, 60 * S, 119 * S, 121 * S, 200 * S, 3600 * S])


def _packet(protocol: str, src: str | IPv4Address, sport: int, dst: str | IPv4Address, dport: int) -> FlowTuple:
    return icmp_echo(src, dst, sport) if protocol == "icmp" else flow(protocol, src, sport, dst, dport)


class NatMachine(RuleBasedStateMachine):
    translations = Bundle("translations")

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.drops = 0
        self.table = NatTable(OUTSIDE[0])

    @initialize(
        preset=st.sampled_from(sorted(PRESETS)),
        two_addresses=st.booleans(),
        parity=st.booleans(),
        narrow=st.booleans(),
        small_table=st.booleans(),
        randomize=st.booleans(),
        seed=st.integers(0, 3),
    )
    def configure(self, preset: str, two_addresses: bool, parity: bool, narrow: bool, small_table: bool,
                  randomize: bool, seed: int) -> None:
        behaviour = NatBehaviour.preset(preset)
        changes: dict[str, object] = {"port_parity": parity}
        if narrow:
            changes["port_range"] = (1024, 1031)  # exhaustion is a few flows away
        if small_table:
            changes["max_entries"] = 6
        if randomize and behaviour.port_assignment not in (PortAssignment.PRESERVE, PortAssignment.PRESERVE_RANDOM):
            changes["port_assignment"] = PortAssignment.RANDOM
        if two_addresses and seed % 2:
            changes["pooling"] = Pooling.ARBITRARY
        self.behaviour = attrs.evolve(behaviour, **changes)  # type: ignore[arg-type]
        outside = OUTSIDE if two_addresses else OUTSIDE[:1]
        self.table = NatTable(outside, self.behaviour, rng=random.Random(seed))

    # -- helpers ---------------------------------------------------------------------------

    def _live(self) -> list[NatEntry]:
        self.table.expire(self.now)
        return self.table.entries()

    def _count(self, result: FlowTuple | Drop) -> None:
        if isinstance(result, Drop):
            self.drops += 1

    def _check_outbound(self, sent: FlowTuple, result: FlowTuple | Drop) -> None:
        self._count(result)
        if isinstance(result, Drop):
            assert result.reason in {"table full", "ports exhausted", "invalid"}, result
            return
        entry = self.table.find(sent)
        assert entry is not None and entry.original == sent
        assert entry.translated == result and result.reply() == entry.reply
        assert result.src in self.table.outside_addrs and result.dst == sent.dst
        if sent.protocol != ICMP:
            assert result.dport == sent.dport

    # -- rules -----------------------------------------------------------------------------

    @rule(target=translations, protocol=PROTOCOLS, host=st.sampled_from(INSIDE), sport=st.sampled_from(INSIDE_PORTS),
          remote=st.sampled_from(REMOTES), dport=st.sampled_from(REMOTE_PORTS), flags=FLAGS)
    def send_out(self, protocol: str, host: str, sport: int, remote: str, dport: int, flags: int) -> FlowTuple:
        sent = _packet(protocol, host, sport, remote, dport)
        result = self.table.outbound(sent, self.now, tcp_flags=flags)
        self._check_outbound(sent, result)
        return sent

    @rule(sent=translations, flags=FLAGS)
    def reply_comes_back(self, sent: FlowTuple, flags: int) -> None:
        """The remote answers an earlier packet: while its entry lives, the answer reaches the
        inside host that sent it."""
        self._live()
        entry = self.table.find(sent)
        if entry is None or entry.original != sent:
            return
        answer = entry.reply
        filtered_before = self._admission(answer)
        result = self.table.inbound(answer, self.now, tcp_flags=flags)
        assert result == sent.reply(), (result, sent)
        assert filtered_before == "exact"

    @rule(protocol=PROTOCOLS, remote=st.sampled_from(REMOTES), sport=st.sampled_from(REMOTE_PORTS),
          addr=st.sampled_from(OUTSIDE), port=st.sampled_from((5000, 5001, 1024, 1025, 1026, 1030, 80)),
          flags=FLAGS, aim=st.booleans(), pick=st.integers(0, 100))
    def arrive(self, protocol: str, remote: str, sport: int, addr: IPv4Address, port: int, flags: int, aim: bool,
               pick: int) -> None:
        """An inbound packet from a remote, sometimes aimed at a live mapping's outside endpoint."""
        live = self._live()
        if aim and live:
            target = live[pick % len(live)]
            protocol = {1: "icmp", 6: "tcp", 17: "udp"}[target.protocol]
            addr, port = target.outside
        incoming = _packet(protocol, remote, port if protocol == "icmp" else sport, addr, port)
        admission = self._admission(incoming)
        result = self.table.inbound(incoming, self.now, tcp_flags=flags)
        self._count(result)
        self._check_inbound(incoming, admission, result)

    def _admission(self, incoming: FlowTuple) -> str | None:
        """What RFC 4787 §5 allows for ``incoming`` given the live entries: "exact" (a reply to
        an entry), "filter" (a new entry by the filtering rule), None (must be dropped)."""
        live = self._live()
        if any(e.reply == incoming for e in live):
            return "exact"
        if incoming.dst not in self.table.outside_addrs:
            return None
        same_port = [e for e in live if e.protocol == incoming.protocol and e.outside == (incoming.dst, incoming.dport)]
        if not same_port or self.behaviour.port_overloading:
            return None
        filtering = self.behaviour.filtering
        if filtering is Filtering.ENDPOINT_INDEPENDENT:
            return "filter"
        if filtering is Filtering.ADDRESS_DEPENDENT and any(e.reply.src == incoming.src for e in same_port):
            return "filter"
        return None

    def _check_inbound(self, incoming: FlowTuple, admission: str | None, result: FlowTuple | Drop) -> None:
        if admission is None:
            assert isinstance(result, Drop), (incoming, result)
            assert result.reason in {"no mapping", "filtered"}
            return
        if admission == "exact":
            assert isinstance(result, FlowTuple), (incoming, result)
        if isinstance(result, Drop):
            assert result.reason in {"table full", "invalid", "clash"}, result
            return
        entry = self.table.find(incoming)
        assert entry is not None and entry.reply == incoming
        assert result == entry.original.reply()
        assert result.src == incoming.src
        if incoming.protocol != ICMP:  # an ICMP reply's identifier is translated too
            assert result.sport == incoming.sport

    @rule(host=st.sampled_from(INSIDE), sport=st.sampled_from(INSIDE_PORTS), pick=st.integers(0, 100),
          flags=FLAGS, protocol=st.sampled_from(["udp", "tcp"]))
    def hairpin(self, host: str, sport: int, pick: int, flags: int, protocol: str) -> None:
        live = [e for e in self._live() if e.protocol != ICMP]
        if live:
            addr, port = live[pick % len(live)].outside
            protocol = {6: "tcp", 17: "udp"}[live[pick % len(live)].protocol]
        else:
            addr, port = OUTSIDE[0], 5000
        sent = flow(protocol, host, sport, addr, port)
        result = self.table.outbound(sent, self.now, tcp_flags=flags)
        self._count(result)
        if not self.behaviour.hairpinning:
            assert result == Drop("hairpin disabled")
            return
        if isinstance(result, Drop):
            return
        source = self.table.find(sent)
        assert source is not None and source.original == sent
        assert (result.src, result.sport) == source.outside  # REQ-9a: the sender's outside endpoint
        target = self.table.find(FlowTuple(sent.protocol, result.src, result.sport, addr, port))
        assert target is not None and target.outside == (addr, port)
        assert (result.dst, result.dport) == target.inside

    @rule(pick=st.integers(0, 100))
    def icmp_error_lookups(self, pick: int) -> None:
        live = self._live()
        if not live:
            return
        entry = live[pick % len(live)]
        before = (entry.deadline, entry.packets_in, entry.packets_out, entry.state)
        assert self.table.translate_embedded(entry.translated, Direction.INBOUND, self.now) == entry.original
        assert self.table.translate_embedded(entry.original.reply(), Direction.OUTBOUND, self.now) == entry.reply
        assert before == (entry.deadline, entry.packets_in, entry.packets_out, entry.state)

    @rule(step=STEPS)
    def time_passes(self, step: int) -> None:
        before = {id(e): e for e in self.table.entries()}
        self.now += step
        expired = self.table.expire(self.now)
        assert all(e.deadline <= self.now for e in expired)
        assert all(id(e) in before for e in expired)
        assert len(self.table) == len(before) - len(expired)

    @rule()
    def reboot(self) -> None:
        self.table.flush()
        assert len(self.table) == 0 and self.table.next_deadline() is None

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def entries_are_consistent(self) -> None:
        entries = self.table.entries()
        assert len(entries) <= self.behaviour.max_entries
        assert len({e.original for e in entries}) == len({e.reply for e in entries}) == len(entries)
        for e in entries:
            assert self.table.find(e.original) is e and self.table.find(e.reply) is e
            assert e.reply.dst in self.table.outside_addrs
            assert e.original.protocol == e.reply.protocol
            assert (e.reply.src, e.reply.sport) == ((e.original.dst, e.original.dport) if e.protocol != ICMP
                                                    else (e.original.dst, e.reply.dport))
            assert e.deadline > self.now
            if e.protocol != ICMP:
                low, high = self.behaviour.port_range
                assert low <= e.reply.dport <= high
                if self.behaviour.port_parity:
                    assert e.reply.dport % 2 == e.original.sport % 2
        deadline = self.table.next_deadline()
        assert deadline == (min(e.deadline for e in entries) if entries else None)
        assert sum(self.table.drops.values()) == self.drops

    @invariant()
    def mapping_follows_rfc4787(self) -> None:
        inside_of: dict[tuple[int, IPv4Address, int], set[tuple[IPv4Address, int]]] = defaultdict(set)
        outside_of: dict[tuple[object, ...], set[tuple[IPv4Address, int]]] = defaultdict(set)
        pair: dict[IPv4Address, set[IPv4Address]] = defaultdict(set)
        mapping = self.behaviour.mapping
        for e in self.table.entries():
            inside_of[e.protocol, *e.outside].add(e.inside)
            key: tuple[object, ...] = (e.protocol, *e.inside)
            if mapping is Mapping.ADDRESS_DEPENDENT:
                key += (e.remote[0],)
            elif mapping is Mapping.ADDRESS_AND_PORT_DEPENDENT:
                key += e.remote
            outside_of[key].add(e.outside)
            pair[e.original.src].add(e.outside[0])
        if not self.behaviour.port_overloading:
            # an outside endpoint leads back to exactly one inside endpoint
            assert all(len(v) == 1 for v in inside_of.values()), inside_of
            # and one inside endpoint has one outside endpoint per mapping key (EIM: per endpoint)
            assert all(len(v) == 1 for v in outside_of.values()), outside_of
        if self.behaviour.pooling is Pooling.PAIRED:
            assert all(len(v) == 1 for v in pair.values()), pair


NatMachine.TestCase.settings = settings(NatMachine.TestCase.settings, stateful_step_count=40)
TestNatMachine = NatMachine.TestCase
