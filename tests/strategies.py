"""Hypothesis strategies for every wire value, written out field by field.

``st.builds`` cannot infer ranges from netsim's validators, so each strategy says its ranges.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

from hypothesis import strategies as st

from netsim.wire.arp import ARPPacket
from netsim.wire.ethernet import EthernetFrame, VLANTag
from netsim.wire.icmpv4 import ICMPv4DestUnreachable, ICMPv4Echo, ICMPv4Other, ICMPv4TimeExceeded, quote_datagram
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.mac import MACAddress
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp_options import (
    TCPOptionEOL,
    TCPOptionMSS,
    TCPOptionNOP,
    TCPOptionSACK,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionUnknown,
    TCPOptionWindowScale,
    options_to_bytes,
)
from netsim.wire.udp import UDPDatagram

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
checksums = st.one_of(st.none(), u16)
payloads = st.binary(max_size=200)

macs = st.binary(min_size=6, max_size=6).map(MACAddress)
ipv4s = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6s = st.integers(0, 2**128 - 1).map(IPv6Address)

arp_packets = st.builds(ARPPacket, u16, macs, ipv4s, macs, ipv4s)
vlan_tags = st.builds(VLANTag, vid=st.integers(0, 4095), pcp=st.integers(0, 7), dei=st.integers(0, 1))

_option = st.one_of(
    st.just(TCPOptionNOP()),
    st.builds(TCPOptionMSS, u16),
    st.builds(TCPOptionWindowScale, u8),
    st.just(TCPOptionSACKPermitted()),
    st.builds(TCPOptionSACK, st.lists(st.tuples(u32, u32), min_size=1, max_size=4).map(tuple)),
    st.builds(TCPOptionTimestamps, u32, u32),
    st.builds(
        TCPOptionUnknown,
        st.integers(6, 255).filter(lambda kind: kind != 8),
        st.binary(max_size=12),
    ),
)


@st.composite
def tcp_options(draw: st.DrawFn) -> tuple[object, ...]:
    """A legal option area: at most 40 bytes, a multiple of 4, possibly ending in EOL + padding."""
    options: list[object] = []
    length = 0
    for option in draw(st.lists(_option, max_size=6)):
        size = len(option.to_bytes())
        if length + size > 40:
            break
        options.append(option)
        length += size
    if draw(st.booleans()) and length < 40:
        # EOL with the rest of the area (zeros, or junk a sender left there)
        room = 40 - length - 1
        pad = -(length + 1) % 4
        extra = draw(st.sampled_from([pad, pad + 4])) if pad + 4 <= room else pad
        padding = draw(st.one_of(st.just(bytes(extra)), st.binary(min_size=extra, max_size=extra)))
        options.append(TCPOptionEOL(padding))
    else:
        while length % 4:
            options.append(TCPOptionNOP())
            length += 1
    assert len(options_to_bytes(tuple(options))) % 4 == 0  # type: ignore[arg-type]
    return tuple(options)


tcp_segments = st.builds(
    TCPSegment,
    src_port=u16, dst_port=u16, seq=u32, ack=u32, flags=st.integers(0, 0x1FF), window=u16, urgent=u16,
    options=tcp_options(), payload=payloads, checksum=checksums, reserved=st.integers(0, 7),
)
udp_datagrams = st.builds(UDPDatagram, src_port=u16, dst_port=u16, payload=payloads, checksum=checksums)

icmpv4_messages = st.one_of(
    st.builds(ICMPv4Echo, st.sampled_from([0, 8]), u16, u16, payloads, u8, checksums),
    st.builds(ICMPv4DestUnreachable, u8, payloads, u16, u16, checksums),
    st.builds(ICMPv4TimeExceeded, u8, payloads, u32, checksums),
    st.builds(ICMPv4Other, u8.filter(lambda t: t not in (0, 3, 8, 11)), u8, u32, payloads, checksums),
)


@st.composite
def ipv4_packets(draw: st.DrawFn, decoded: bool = True) -> IPv4Packet:
    """An IPv4 datagram; with ``decoded`` a whole one carries a TCP/UDP/ICMP value as payload."""
    fragment = draw(st.integers(0, 3)) == 0
    flags = draw(st.integers(0, 7))
    offset = draw(st.integers(0, 0x1FFF)) if fragment else 0
    if not fragment:
        flags &= 0b110
    elif not offset:
        flags |= 1
    kind = draw(st.sampled_from(["tcp", "udp", "icmp", "raw"])) if decoded and not fragment else "raw"
    payload: object
    if kind == "tcp":
        protocol, payload = 6, draw(tcp_segments)
    elif kind == "udp":
        protocol, payload = 17, draw(udp_datagrams)
    elif kind == "icmp":
        protocol, payload = 1, draw(icmpv4_messages)
    else:
        protocol = draw(u8.filter(lambda p: fragment or p not in (1, 6, 17)))
        payload = draw(payloads)
    return IPv4Packet(
        src=draw(ipv4s), dst=draw(ipv4s), protocol=protocol, payload=payload, ttl=draw(u8),  # type: ignore[arg-type]
        identification=draw(u16), flags=flags, fragment_offset=offset, dscp=draw(st.integers(0, 63)),
        ecn=draw(st.integers(0, 3)), options=draw(st.binary(max_size=10).map(lambda b: b + bytes(-len(b) % 4))),
        checksum=draw(checksums),
    )


@st.composite
def ethernet_frames(
    draw: st.DrawFn, extra_payloads: st.SearchStrategy[tuple[int, object]] | None = None
) -> EthernetFrame:
    choices = [
        st.tuples(st.just(0x0800), ipv4_packets()),
        st.tuples(st.just(0x0806), arp_packets),
        st.tuples(u16.filter(lambda t: t not in (0x0800, 0x0806, 0x86DD, 0x8100)), payloads),
    ]
    if extra_payloads is not None:
        choices.append(extra_payloads)
    ethertype, payload = draw(st.one_of(*choices))
    trailer = draw(st.binary(max_size=20)) if type(payload) is not bytes else b""
    return EthernetFrame(
        dst=draw(macs), src=draw(macs), ethertype=ethertype, payload=payload,
        vlan=draw(st.one_of(st.none(), vlan_tags)), trailer=trailer,
    )


# --- frames a dissector must accept without complaint (the tshark oracle) --------------------
# Everything a real stack would send: correct checksums, unicast source MACs, zero padding,
# valid IP options, ports outside the well-known range (so no application dissector parses
# random payloads), ICMP errors quoting a real datagram.

unicast_macs = st.binary(min_size=6, max_size=6).map(lambda b: MACAddress(bytes([b[0] & 0xFE]) + b[1:]))
high_ports = st.integers(49152, 65535)
# no options; NOPs and EOL; NOPs; Router Alert (RFC 2113)
_ip_options = st.sampled_from([b"", b"\x01\x01\x01\x00", b"\x01\x01\x01\x01", b"\x94\x04\x00\x00"])


def _clean_tcp_option() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(TCPOptionNOP()),
        st.builds(TCPOptionMSS, st.integers(536, 9000)),
        st.builds(TCPOptionWindowScale, st.integers(0, 14)),
        st.just(TCPOptionSACKPermitted()),
        st.builds(TCPOptionTimestamps, u32, u32),
    )


@st.composite
def clean_tcp_segments(draw: st.DrawFn) -> TCPSegment:
    options: list[Any] = []
    length = 0
    for option in draw(st.lists(_clean_tcp_option(), max_size=5, unique_by=lambda o: type(o).__name__)):
        size = len(option.to_bytes())
        if length + size <= 36:
            options.append(option)
            length += size
    while length % 4:
        options.append(TCPOptionNOP())
        length += 1
    flags = draw(st.sampled_from([0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x19]))
    return TCPSegment(
        src_port=draw(high_ports), dst_port=draw(high_ports), seq=draw(u32),
        ack=draw(u32) if flags & 0x10 else 0, flags=flags, window=draw(u16), options=tuple(options),
        payload=b"" if flags & 0x04 else draw(payloads),
    )


clean_udp_datagrams = st.builds(UDPDatagram, src_port=high_ports, dst_port=high_ports, payload=payloads)


@st.composite
def clean_ipv4_packets(draw: st.DrawFn, allow_icmp_errors: bool = True) -> IPv4Packet:
    kinds = ["tcp", "udp", "echo"] + (["unreach", "ttl"] if allow_icmp_errors else [])
    kind = draw(st.sampled_from(kinds))
    src, dst = draw(ipv4s.filter(lambda a: not a.is_multicast)), draw(ipv4s.filter(lambda a: not a.is_multicast))
    payload: Any
    if kind == "tcp":
        protocol, payload = 6, draw(clean_tcp_segments())
    elif kind == "udp":
        protocol, payload = 17, draw(clean_udp_datagrams)
    elif kind == "echo":
        protocol, payload = 1, ICMPv4Echo(draw(st.sampled_from([0, 8])), draw(u16), draw(u16), draw(payloads))
    else:
        inner = draw(clean_ipv4_packets(allow_icmp_errors=False)).to_bytes()
        # RFC 792 routers quote the header and 8 bytes; Linux quotes up to 548 (RFC 1812)
        quoted = inner[:28] if draw(st.booleans()) else quote_datagram(inner)
        if kind == "unreach":
            code = draw(st.integers(0, 15))
            payload = ICMPv4DestUnreachable(code, quoted, next_hop_mtu=draw(st.integers(68, 1500)) if code == 4 else 0)
        else:
            payload = ICMPv4TimeExceeded(draw(st.integers(0, 1)), quoted)
        protocol = 1
    return IPv4Packet(
        src=src, dst=dst, protocol=protocol, payload=payload, ttl=draw(st.integers(2, 255)),
        identification=draw(u16), flags=draw(st.sampled_from([0, 2])), dscp=draw(st.integers(0, 63)),
        ecn=draw(st.integers(0, 3)), options=draw(_ip_options),
    )


@st.composite
def clean_ethernet_frames(draw: st.DrawFn, extra: st.SearchStrategy[tuple[int, Any]] | None = None) -> EthernetFrame:
    choices: list[st.SearchStrategy[tuple[int, Any]]] = [
        st.tuples(st.just(0x0800), clean_ipv4_packets()),
        st.tuples(st.just(0x0806), st.builds(ARPPacket, st.sampled_from([1, 2]), unicast_macs, ipv4s, macs, ipv4s)),
    ]
    if extra is not None:
        choices.append(extra)
    ethertype, payload = draw(st.one_of(*choices))
    size = len(payload.to_bytes())
    return EthernetFrame(
        dst=draw(macs), src=draw(unicast_macs), ethertype=ethertype, payload=payload,
        vlan=draw(st.one_of(st.none(), st.builds(VLANTag, vid=st.integers(1, 4094), pcp=st.integers(0, 7)))),
        trailer=bytes(max(0, 46 - size)) if draw(st.booleans()) else b"",
    )


def sample_frame_template() -> EthernetFrame:
    """An Ethernet frame between two fixed unicast MACs, to put a packet in."""
    return EthernetFrame(
        dst=MACAddress.parse("02:42:ac:11:00:03"), src=MACAddress.parse("02:42:ac:11:00:02"), ethertype=0x0800,
        payload=IPv4Packet(src=IPv4Address("10.0.0.5"), dst=IPv4Address("10.0.0.6"), protocol=253),
    )


# IPv6 strategies live in strategies_ipv6, which imports the names above; bring them in last.
from tests.strategies_ipv6 import clean_ipv6_packets, ipv6_packets  # noqa: E402

any_ethernet_frames = ethernet_frames(extra_payloads=st.tuples(st.just(0x86DD), ipv6_packets()))
any_clean_ethernet_frames = clean_ethernet_frames(extra=st.tuples(st.just(0x86DD), clean_ipv6_packets()))
