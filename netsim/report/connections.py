"""Connections and UDP flows, rebuilt from the trace's frame records, hop by hop.

Every ``tx`` record of a TCP or UDP frame is paired with the ``rx`` record of the same bytes at
the other end of its link (first in, first out; a duplicate the link made is a second ``rx`` of
one ``tx``; a ``tx`` that never arrives was lost).  Each such pair is a *hop*: one arrow of a
ladder diagram.

Hops are then chained into *packets*: a frame leaving a forwarding node (router, NAT router,
switch) is the continuation of one that arrived there earlier with the same transport content
(TCP seq, ack, flags, window and payload; UDP payload) — first come, first matched, and never a
reply to it.  A chain whose addresses or ports change at a node is one packet rewritten there (a
NAT), so the 5-tuples on both sides of the node belong to one connection: the tuples are merged
with a union-find, in both directions at once.  Nothing here knows what a NAT is; the matching
works for any node that rewrites headers but not the transport content.

A TCP connection whose 5-tuple is reused later (after a FIN or RST, a SYN with a new initial
sequence number) starts a new connection, as Wireshark's ``tcp.stream`` does.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable
from ipaddress import ip_address
from typing import Any

import attrs

from netsim.errors import WireError
from netsim.wire.ethernet import EthernetFrame
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.summary import summarize_bytes
from netsim.wire.tcp import TCPSegment, flags_text
from netsim.wire.udp import UDPDatagram

SYN, FIN, RST, ACK = 0x002, 0x001, 0x004, 0x010
_IP_ETHERTYPES = (b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x88\xa8")

# (proto, src, sport, dst, dport), addresses as text
Tuple5 = tuple[str, str, int, str, int]


def _reverse(t: Tuple5) -> Tuple5:
    return (t[0], t[3], t[4], t[1], t[2])


@functools.lru_cache(maxsize=1 << 16)
def _address_key(text: str) -> int:
    address = ip_address(text)
    return address.version * (1 << 129) + int(address)


def _sort_key(t: Tuple5) -> tuple[str, int, int, int, int]:
    """Addresses in numeric order (``10.0.0.9`` before ``10.0.0.10``), IPv4 before IPv6."""
    return (t[0], _address_key(t[1]), t[2], _address_key(t[3]), t[4])


@attrs.frozen
class Decoded:
    """What the ladder needs of one TCP or UDP frame."""

    proto: str  # "TCP" | "UDP"
    src: str
    sport: int
    dst: str
    dport: int
    seq: int = 0
    ack: int = 0
    flags: int = 0
    window: int = 0
    length: int = 0
    signature: tuple[Any, ...] = ()
    frame: bytes = attrs.field(default=b"", repr=False, eq=False)

    @property
    def summary(self) -> str:
        """The frame as ``tcpdump -nn`` prints it (made only for the hops that are drawn)."""
        return summarize_bytes(self.frame)

    @property
    def tuple5(self) -> Tuple5:
        return (self.proto, self.src, self.sport, self.dst, self.dport)


def decode_frame(data: bytes) -> Decoded | None:
    """The TCP/UDP view of a frame, or ``None`` for anything else (ARP, ICMP, fragments, junk)."""
    if data[12:14] not in _IP_ETHERTYPES:
        return None
    try:
        frame = EthernetFrame.parse(data)
    except (WireError, ValueError):
        return None
    packet = frame.payload
    if isinstance(packet, IPv4Packet):
        if packet.is_fragment:
            return None
    elif not isinstance(packet, IPv6Packet):
        return None
    segment = packet.payload
    src, dst = str(packet.src), str(packet.dst)
    if isinstance(segment, TCPSegment):
        return Decoded("TCP", src, segment.src_port, dst, segment.dst_port, segment.seq, segment.ack, segment.flags,
                       segment.window, len(segment.payload),
                       ("TCP", segment.seq, segment.ack, segment.flags, segment.window, segment.payload), data)
    if isinstance(segment, UDPDatagram):
        return Decoded("UDP", src, segment.src_port, dst, segment.dst_port, length=len(segment.payload),
                       signature=("UDP", segment.payload), frame=data)
    return None


@attrs.define(eq=False)
class Hop:
    """One frame crossing one link: the ``tx`` at one interface and its ``rx`` at the other."""

    index: int  # trace index of the tx record (of the rx record for an rx with no tx)
    src_iface: str  # "node:iface"
    dst_iface: str
    t_tx: int
    t_rx: int | None  # None: lost on the link
    decoded: Decoded
    prev: Hop | None = None  # the hop this frame continues (it was forwarded)
    packet: int = 0  # number of the packet (chain of hops) within its connection, from 1
    forward: bool = True  # client-to-server direction
    duplicate: bool = False  # a second arrival of one transmission
    unmatched: bool = False  # arrived with no transmission that had these bytes (corrupted)
    origin: Hop | None = None  # the first hop of its packet
    roots: tuple[Tuple5, Tuple5] = (("", "", 0, "", 0), ("", "", 0, "", 0))  # its direction's and the reverse's group

    @property
    def src_node(self) -> str:
        return self.src_iface.split(":", 1)[0]

    @property
    def dst_node(self) -> str:
        return self.dst_iface.split(":", 1)[0]

    @property
    def lost(self) -> bool:
        return self.t_rx is None

    def label(self, isn: dict[bool, int]) -> str:
        """``S. seq 0 ack 1 len 0`` with sequence numbers relative to each side's ISN."""
        d = self.decoded
        if d.proto == "UDP":
            return f"UDP len {d.length}"
        mine, theirs = isn.get(self.forward), isn.get(not self.forward)
        seq = d.seq if mine is None else (d.seq - mine) % (1 << 32)
        text = f"{flags_text(d.flags)} seq {seq}"
        if d.flags & ACK:
            ack = d.ack if theirs is None else (d.ack - theirs) % (1 << 32)
            text += f" ack {ack}"
        return text + f" len {d.length}"

    def addresses(self) -> str:
        d = self.decoded
        return f"{_endpoint(d.src, d.sport)} \u2192 {_endpoint(d.dst, d.dport)}"


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@attrs.define(eq=False)
class Connection:
    """One TCP connection or UDP flow, as every hop of it went."""

    number: int
    proto: str
    hops: list[Hop]
    nodes: list[str]  # lifelines, in path order from the client
    tuples: list[Tuple5]  # every client-to-server 5-tuple seen on some hop, in first-seen order
    packets: int
    isn: dict[bool, int]

    @property
    def client(self) -> tuple[str, int]:
        return self.tuples[0][1], self.tuples[0][2]

    @property
    def server(self) -> tuple[str, int]:
        last = self.tuples[-1]
        return last[3], last[4]

    @property
    def title(self) -> str:
        first = self.tuples[0]
        return f"{self.proto} {_endpoint(first[1], first[2])} \u2192 {_endpoint(first[3], first[4])}"

    @property
    def rewritten(self) -> bool:
        return len(self.tuples) > 1

    @property
    def first_time(self) -> int:
        return self.hops[0].t_tx

    @property
    def last_time(self) -> int:
        return max(h.t_rx if h.t_rx is not None else h.t_tx for h in self.hops)

    def hops_between(self, a: str, b: str) -> list[Hop]:
        return [h for h in self.hops if {h.src_node, h.dst_node} == {a, b}]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Tuple5, Tuple5] = {}

    def find(self, item: Tuple5) -> Tuple5:
        parent = self.parent.setdefault(item, item)
        if parent == item:
            return item
        root = self.find(parent)
        self.parent[item] = root
        return root

    def union(self, a: Tuple5, b: Tuple5) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller tuple becomes the root, so the result does not depend on union order
            low, high = sorted((ra, rb), key=_sort_key)
            self.parent[high] = low


def _peers(network: Any) -> dict[str, str]:
    peers: dict[str, str] = {}
    for link in getattr(network, "links", []):
        peers[link.a.full_name] = link.b.full_name
        peers[link.b.full_name] = link.a.full_name
    return peers


def _forwards(network: Any, node: str) -> bool:
    """Hosts never forward; routers, NAT routers and switches do."""
    found = getattr(network, "nodes", {}).get(node)
    return bool(getattr(found, "forwarding", True))


def find_hops(network: Any, records: Iterable[Any] | None = None) -> list[Hop]:
    """Every TCP/UDP hop of the trace, in the order the frames were sent, chained into packets."""
    peers = _peers(network)
    records = network.trace.records if records is None else records
    hops: list[Hop] = []
    in_flight: dict[tuple[str, bytes], deque[Hop]] = {}
    last_sent: dict[tuple[str, bytes], Hop] = {}
    arrived: dict[tuple[str, tuple[Any, ...]], deque[Hop]] = {}  # (node, signature) -> hops received there
    cache: dict[bytes, Decoded | None] = {}
    uf = _UnionFind()
    for index, record in enumerate(records):
        kind = record.kind
        if kind not in ("tx", "rx"):
            continue
        data = record.fields.get("data")
        if not isinstance(data, bytes):
            continue
        if data in cache:
            decoded = cache[data]
        else:
            decoded = cache[data] = decode_frame(data)
        if decoded is None:
            continue
        where = record.where
        node = where.split(":", 1)[0]
        if kind == "tx":
            hop = Hop(index, where, peers.get(where, where), record.time, None, decoded)
            waiting = arrived.get((node, decoded.signature))
            if waiting:
                for candidate in waiting:
                    seen = candidate.decoded
                    if (decoded.src, decoded.sport, decoded.dst, decoded.dport) != (seen.dst, seen.dport, seen.src,
                                                                                   seen.sport):
                        waiting.remove(candidate)
                        hop.prev = candidate
                        uf.union(seen.tuple5, decoded.tuple5)
                        uf.union(_reverse(seen.tuple5), _reverse(decoded.tuple5))
                        break
            uf.find(decoded.tuple5)
            hops.append(hop)
            key = (hop.dst_iface, data)
            in_flight.setdefault(key, deque()).append(hop)
            last_sent[key] = hop
        else:
            key = (where, data)
            queue = in_flight.get(key)
            if queue:
                hop = queue.popleft()
                hop.t_rx = record.time
            elif key in last_sent:
                sent = last_sent[key]
                hop = Hop(sent.index, sent.src_iface, where, sent.t_tx, record.time, decoded, prev=sent.prev,
                          duplicate=True)
                hops.append(hop)
            else:
                source = next((a for a, b in sorted(peers.items()) if b == where), where)
                hop = Hop(index, source, where, record.time, record.time, decoded, unmatched=True)
                uf.find(decoded.tuple5)
                hops.append(hop)
            if _forwards(network, node):
                arrived.setdefault((node, decoded.signature), deque()).append(hop)
    hops.sort(key=lambda h: (h.t_tx, h.index, h.duplicate))
    for hop in hops:
        hop.origin = hop.prev.origin if hop.prev is not None and hop.prev.origin is not None else hop
        t = hop.decoded.tuple5
        hop.roots = (uf.find(t), uf.find(_reverse(t)))
    return hops


def group_connections(network: Any, records: Iterable[Any] | None = None) -> list[Connection]:
    """The connections and flows of the trace, numbered in the order their first frame was sent."""
    hops = find_hops(network, records)
    groups: dict[tuple[Tuple5, Tuple5], list[Hop]] = {}
    for hop in hops:
        here, back = hop.roots
        key = (here, back) if _sort_key(here) <= _sort_key(back) else (back, here)
        groups.setdefault(key, []).append(hop)
    connections: list[list[Hop]] = []
    for members in groups.values():
        connections.extend(_split_reuse(members))
    connections.sort(key=lambda members: (members[0].t_tx, members[0].index))
    return [_connection(number, members) for number, members in enumerate(connections, 1)]


def _split_reuse(members: list[Hop]) -> list[list[Hop]]:
    """Split one 5-tuple's hops where a new TCP connection reuses it (a fresh SYN after FIN/RST)."""
    if members[0].decoded.proto != "TCP":
        return [members]
    parts: list[list[Hop]] = []
    epoch_of: dict[Hop, int] = {}
    syns: set[int] = set()
    closing = False
    for hop in members:
        origin = hop.origin or hop
        d = hop.decoded
        if origin is hop or origin not in epoch_of:
            starts = d.flags & (SYN | ACK) == SYN and d.seq not in syns
            if not parts or (starts and closing):
                parts.append([])
                syns, closing = set(), False
            if d.flags & (SYN | ACK) == SYN:
                syns.add(d.seq)
            epoch_of[origin] = len(parts) - 1
        if d.flags & (FIN | RST):
            closing = True
        parts[epoch_of[origin]].append(hop)
    return [part for part in parts if part]


def _connection(number: int, hops: list[Hop]) -> Connection:
    first = hops[0]
    forward_root = first.roots[0]
    tuples: list[Tuple5] = []
    isn: dict[bool, int] = {}
    origins: dict[Hop, int] = {}
    for hop in hops:
        hop.forward = hop.roots[0] == forward_root
        t = hop.decoded.tuple5 if hop.forward else _reverse(hop.decoded.tuple5)
        if t not in tuples:
            tuples.append(t)
        origin = hop.origin or hop
        if origin not in origins:
            origins[origin] = len(origins) + 1
        hop.packet = origins[origin]
    for direction in (True, False):
        side = [h.decoded for h in hops if h.forward is direction and h.decoded.proto == "TCP"]
        syn = next((d for d in side if d.flags & SYN), None)
        if syn is not None:
            isn[direction] = syn.seq
        elif side:
            isn[direction] = min(side, key=lambda d: d.seq).seq
    return Connection(number, first.decoded.proto, hops, _lifelines(hops), tuples, len(origins), isn)


def _lifelines(hops: list[Hop]) -> list[str]:
    """Nodes in path order: a walk from the first sender along the hops, nearest first."""
    neighbours: dict[str, list[str]] = {}
    for hop in hops:
        a, b = hop.src_node, hop.dst_node
        if a == b:
            continue
        for x, y in ((a, b), (b, a)):
            if y not in neighbours.setdefault(x, []):
                neighbours[x].append(y)
    start = hops[0].src_node
    order = [start]
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for other in neighbours.get(node, []):
            if other not in order:
                order.append(other)
                queue.append(other)
    for hop in hops:
        for node in (hop.src_node, hop.dst_node):
            if node not in order:
                order.append(node)
    return order


__all__ = ["Connection", "Decoded", "Hop", "decode_frame", "find_hops", "group_connections"]
