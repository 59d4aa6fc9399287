"""Reading a rendered report back: ladders, their arrows, and an independent count from the trace."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from netsim import errors as netsim_errors
from netsim.wire.ethernet import EthernetFrame
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.tcp import TCPSegment
from netsim.wire.udp import UDPDatagram

LADDER = re.compile(r'<details class="ladder-box" id="conn-(\d+)" data-conn="\d+" data-proto="(\w+)" open>'
                    r"<summary>connection \d+: \w+ ([\d.]+):(\d+) \u2192 ([\d.]+):(\d+)<span")
HOP = re.compile(r'<g class="hop ([^"]*)" data-conn="(\d+)" data-from="([^"]*)" data-to="([^"]*)" '
                 r'data-packet="(\d+)" data-label="([^"]*)">')


def ladders(html: str) -> dict[int, tuple[str, str, int, str, int]]:
    """Connection number -> (proto, client ip, client port, server ip, server port) from the headings."""
    return {int(m[1]): (m[2], m[3], int(m[4]), m[5], int(m[6])) for m in LADDER.finditer(html)}


def arrows(html: str) -> list[dict[str, Any]]:
    return [{"classes": m[1].split(), "conn": int(m[2]), "from": m[3], "to": m[4], "packet": int(m[5]),
             "label": m[6]} for m in HOP.finditer(html)]


def canonical(proto: str, a: str, ap: int, b: str, bp: int) -> tuple[Any, ...]:
    return (proto, *sorted([(a, ap), (b, bp)]))


def frames_per_hop(net: Any) -> Counter[tuple[Any, ...]]:
    """(canonical 5-tuple, from node, to node) -> TCP/UDP frames sent, straight from the trace."""
    peer = {}
    for link in net.links:
        peer[link.a.full_name], peer[link.b.full_name] = link.b.node.name, link.a.node.name
    counts: Counter[tuple[Any, ...]] = Counter()
    for record in net.trace.records:
        if record.kind != "tx":
            continue
        try:
            packet = EthernetFrame.parse(record.fields["data"]).payload
        except (ValueError, netsim_errors.WireError):
            continue
        if not isinstance(packet, IPv4Packet) or not isinstance(packet.payload, TCPSegment | UDPDatagram):
            continue
        proto = "TCP" if isinstance(packet.payload, TCPSegment) else "UDP"
        key = canonical(proto, str(packet.src), packet.payload.src_port, str(packet.dst), packet.payload.dst_port)
        counts[(key, record.where.split(":")[0], peer[record.where])] += 1
    return counts
