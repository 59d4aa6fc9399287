"""One-pass encode and decode of the commonest frame: Ethernet II / IPv4 without options / TCP.

Almost every frame of a simulated TCP transfer has this shape, and the layered codecs spend
more on three calls, three headers' worth of checks and intermediate copies than on the
bytes.  These functions do the same work in one body: the IPv4 and TCP checksums from header
words and one remainder over the payload (RFC 1071 §2), one ``struct`` call for the header
bytes.  They return ``None`` for any frame not of that exact shape, or whose checksums are not
the correct ones, and :class:`~netsim.wire.ethernet.EthernetFrame` then takes its general path,
so every error is still raised there, with the same message.  A property test holds them to
giving exactly what the general path gives.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from netsim.wire._fields import _PAIR_CACHE as _ADDRESS_PAIRS
from netsim.wire._fields import ipv4_pair_from_packed
from netsim.wire.checksum import sum16, sum16_from
from netsim.wire.ipv4 import IPv4Packet, _make_packet
from netsim.wire.mac import _PAIR_CACHE as _MAC_PAIRS
from netsim.wire.mac import mac_pair_from_packed
from netsim.wire.tcp import TCPSegment, _make_segment
from netsim.wire.tcp_options import options_to_bytes, parse_options

if TYPE_CHECKING:
    from netsim.wire.ethernet import EthernetFrame

_DECODE = struct.Struct("!12xHBBHHHBBH8xHHIIHHHH")
_DATAGRAM = struct.Struct("!BBHHHBBHIIHHIIHHHH")  # the IPv4 and TCP headers without options
# bound once: ``int.from_bytes`` looks the classmethod up and binds it on every call
_from_bytes = int.from_bytes


def decode_ipv4_tcp(data: bytes, make_frame: object) -> EthernetFrame | None:
    """The frame, if ``data`` is untagged Ethernet / option-less IPv4 / TCP with correct checksums
    and no trailer; else None."""
    packet = decode_ipv4_tcp_packet(data)
    if packet is None:
        return None
    macs = data[:12]
    mac_pair = _MAC_PAIRS.get(macs)
    dst_mac, src_mac = mac_pair if mac_pair is not None else mac_pair_from_packed(macs)
    return make_frame(dst_mac, src_mac, 0x0800, packet, None, b"")  # type: ignore[operator,no-any-return]


def decode_ipv4_tcp_packet(data: bytes) -> IPv4Packet | None:
    """The IPv4 packet (its TCP segment decoded and both checksums verified) of a frame of that
    exact shape; None otherwise.  What a host's receive path uses for segments addressed to it."""
    size = len(data)
    if size < 54:
        return None
    (ethertype, vihl, tos, total, ident, frag, ttl, proto, ip_checksum,
     sport, dport, seq, ack, offset_flags, window, tcp_checksum, urgent) = _DECODE.unpack_from(data)
    if ethertype != 0x0800 or vihl != 0x45 or proto != 6 or frag & 0x3FFF or total + 14 != size:
        return None
    tcp_header = (offset_flags >> 12) * 4
    if tcp_header < 20 or 34 + tcp_header > size:
        return None
    addresses = data[26:34]
    pair = _ADDRESS_PAIRS.get(addresses)
    src, dst, address_sum = pair if pair is not None else ipv4_pair_from_packed(addresses)
    # the header's words from the unpacked fields (the addresses' share is cached with them);
    # never all zeros, since the version is 4
    ip_sum = 0x4500 + tos + total + ident + frag + (ttl << 8) + 6 + address_sum
    if ~((ip_sum % 0xFFFF) or 0xFFFF) & 0xFFFF != ip_checksum:
        return None
    length = size - 34
    residue = sum16_from(data, 34)  # the segment's words, read in place
    if ~(((residue + address_sum + 6 + length - tcp_checksum) % 0xFFFF) or 0xFFFF) & 0xFFFF != tcp_checksum:
        return None
    options = parse_options(data[54 : 34 + tcp_header]) if tcp_header > 20 else ()
    tcp = _make_segment(sport, dport, seq, ack, offset_flags & 0x1FF, window, urgent, options,
                        data[34 + tcp_header :], None, (offset_flags >> 9) & 7)
    return _make_packet(src, dst, 6, tcp, ttl, ident, frag >> 13, 0, tos >> 2, tos & 3, b"", None)


def encode_ipv4_tcp(frame: EthernetFrame) -> bytes | None:
    """The bytes of ``frame`` if it is untagged Ethernet / option-less IPv4 / TCP with computed
    checksums and no trailer; else None."""
    packet = frame.payload
    if type(packet) is not IPv4Packet or frame.vlan is not None or frame.trailer:
        return None
    segment = packet.payload
    if type(segment) is not TCPSegment or packet.options or packet.checksum is not None or segment.checksum is not None:
        return None
    options = options_to_bytes(segment.options) if segment.options else b""
    if 40 + len(options) + len(segment.payload) > 0xFFFF:
        return None
    # ``_ip`` is the int ``ipaddress`` keeps; ``int()`` goes through a Python-level __int__
    datagram = encode_tcp_datagram(packet.src._ip, packet.dst._ip, packet.ttl, packet.identification,  # type: ignore[attr-defined]
                                   packet.flags, segment, options, (packet.dscp << 2) | packet.ecn,
                                   packet.fragment_offset)
    return b"".join((frame.dst.packed, frame.src.packed, b"\x08\x00", datagram))


def encode_tcp_datagram(src: int, dst: int, ttl: int, identification: int, flags: int, segment: TCPSegment,
                        options: bytes, tos: int = 0, fragment_offset: int = 0) -> bytes:
    """An IPv4 datagram without options carrying ``segment``, both checksums computed: what a
    host sends for every TCP segment it originates (DSCP, ECN and fragment offset 0 then).
    ``src``/``dst`` are the addresses as ints, ``options`` the segment's encoded options; the
    segment's checksum must be None and the datagram at most 65535 bytes (the caller checks
    both).  One body for the two headers, packed by one ``struct`` call."""
    payload = segment.payload
    tcp_header = 20 + len(options)
    length = tcp_header + len(payload)
    total = 20 + length
    fragment = (flags << 13) | fragment_offset
    addresses = src % 0xFFFF + dst % 0xFFFF
    ip_sum = (0x4500 | tos) + total + identification + fragment + ((ttl << 8) | 6) + addresses
    seq, ack = segment.seq, segment.ack
    offset_flags = (tcp_header << 10) | (segment.reserved << 9) | segment.flags
    src_port, dst_port, window, urgent = segment.src_port, segment.dst_port, segment.window, segment.urgent
    tcp_sum = (
        src_port + dst_port + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF)
        + offset_flags + window + urgent + (_from_bytes(options, "big") if options else 0)
        + addresses + 6 + length
    )
    if payload:
        tcp_sum += sum16(payload)
    header = _DATAGRAM.pack(0x45, tos, total, identification, fragment, ttl, 6, ~((ip_sum % 0xFFFF) or 0xFFFF) & 0xFFFF,
                            src, dst, src_port, dst_port, seq, ack, offset_flags, window,
                            ~((tcp_sum % 0xFFFF) or 0xFFFF) & 0xFFFF, urgent)
    return b"".join((header, options, payload))
