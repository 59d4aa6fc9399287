"""IPv4 datagrams (RFC 791).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version|  IHL  |    DSCP   |ECN|          Total Length         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Identification        |Flags|      Fragment Offset    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Time to Live |    Protocol   |         Header Checksum       |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       Source Address                          |
    |                    Destination Address                        |
    |                    Options (kept as bytes)                    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

IHL and Total Length are derived from ``options`` and ``payload``.  ``checksum`` is ``None``
when it is the correct one (computed on encode; what ``parse`` reports for a header whose
checksum is exactly the computed value); any other value is kept and re-emitted as is, so a
corrupted header survives a round trip and can be written to a capture.

The payload is decoded (TCP, UDP, ICMP) only for a datagram that is not a fragment; a fragment's
payload is bytes until reassembly.
"""

from __future__ import annotations

import enum
import struct
from ipaddress import IPv4Address
from typing import Any, ClassVar

import attrs

from netsim.errors import ChecksumError, TruncatedError, WireError
from netsim.wire._fields import (
    _PAIR_CACHE as _ADDRESS_PAIRS,
)
from netsim.wire._fields import (
    ipv4_pair_from_packed,
    is_ipv4,
    optional_u16,
    trusted_constructor,
    u2,
    u3,
    u6,
    u8,
    u13,
    u16,
)
from netsim.wire.icmpv4 import ICMPV4_TYPES, ICMPv4Message
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp import _decode as decode_tcp
from netsim.wire.udp import UDPDatagram
from netsim.wire.udp import _decode as decode_udp

_FIXED = struct.Struct("!BBHHHBBH4s4s")
_FIXED_NO_ADDRESSES = struct.Struct("!BBHHHBBH")
_FIXED_INTS = struct.Struct("!BBHHHBBHII")


class IPv4Flags(enum.IntFlag):
    MF = 1  # more fragments
    DF = 2  # don't fragment
    RESERVED = 4  # must be zero (RFC 791); the "evil bit" of RFC 3514


IPv4Payload = TCPSegment | UDPDatagram | ICMPv4Message | bytes


def _check_options(_inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not bytes or len(value) % 4 or len(value) > 40:
        raise ValueError(f"options must be bytes, a multiple of 4 long and at most 40, got {value!r}")


def _check_payload(inst: Any, _attribute: Any, value: Any) -> None:
    kind = type(value)
    if kind is bytes:
        return
    if inst.flags & 1 or inst.fragment_offset:
        raise ValueError("a fragment's payload is bytes")
    if kind is TCPSegment:
        want = 6
    elif kind is UDPDatagram:
        want = 17
    elif kind in ICMPV4_TYPES:
        want = 1
    else:
        raise ValueError(f"payload must be a TCP, UDP or ICMPv4 value or bytes, got {kind.__name__}")
    if inst.protocol != want:
        raise ValueError(f"a {kind.__name__} payload needs protocol {want}, not {inst.protocol}")


@attrs.frozen
class IPv4Packet:
    src: IPv4Address = attrs.field(validator=is_ipv4)
    dst: IPv4Address = attrs.field(validator=is_ipv4)
    protocol: int = attrs.field(validator=u8)
    payload: IPv4Payload = attrs.field(default=b"", validator=_check_payload)
    ttl: int = attrs.field(default=64, validator=u8)
    identification: int = attrs.field(default=0, validator=u16)
    flags: int = attrs.field(default=0, validator=u3)
    fragment_offset: int = attrs.field(default=0, validator=u13)
    dscp: int = attrs.field(default=0, validator=u6)
    ecn: int = attrs.field(default=0, validator=u2)
    options: bytes = attrs.field(default=b"", validator=_check_options)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    MIN_HEADER_LEN: ClassVar[int] = 20

    @property
    def header_len(self) -> int:
        return 20 + len(self.options)

    @property
    def dont_fragment(self) -> bool:
        return bool(self.flags & 2)

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags & 1)

    @property
    def is_fragment(self) -> bool:
        return bool(self.flags & 1 or self.fragment_offset)

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> IPv4Packet:
        """Decode one whole datagram: ``len(data)`` must equal its Total Length.

        Raises:
            TruncatedError: fewer bytes than the header or Total Length says.
            WireError: wrong version, IHL below 5, Total Length below the header, trailing bytes,
                or (with ``decode``) a malformed TCP/UDP/ICMP payload.
            ChecksumError: with ``verify``, the header (or decoded payload) checksum is wrong.
        """
        return _decode(data, verify, decode)

    def to_bytes(self) -> bytes:
        src, dst = int(self.src), int(self.dst)
        payload = self.payload
        kind = type(payload)
        if kind is bytes:
            body: bytes = payload  # type: ignore[assignment]
        elif kind is TCPSegment or kind is UDPDatagram:
            # the addresses' and protocol's share of the pseudo-header (RFC 9293 §3.1, RFC 768)
            body = payload._encode(src % 0xFFFF + dst % 0xFFFF + self.protocol)  # type: ignore[union-attr]
        else:
            body = payload.to_bytes()  # type: ignore[union-attr]
        options = self.options
        hlen = 20 + len(options)
        header = _FIXED_INTS.pack(
            0x40 | (hlen >> 2), (self.dscp << 2) | self.ecn, hlen + len(body), self.identification,
            (self.flags << 13) | self.fragment_offset, self.ttl, self.protocol, 0, src, dst,
        )
        checksum = self.checksum
        if checksum is None:
            # never all zeros (the version nibble is 4), so a zero remainder is 0xFFFF
            total = int.from_bytes(header, "big") + (int.from_bytes(options, "big") if options else 0)
            checksum = ~((total % 0xFFFF) or 0xFFFF) & 0xFFFF
        return b"".join((header[:10], checksum.to_bytes(2, "big"), header[12:], options, body))

    def forwarded(self) -> IPv4Packet:
        """This datagram as a router sends it on: TTL one less, checksum recomputed (RFC 1812
        §5.3.1).  Skips validation: the value came from a valid one."""
        return _make_packet(
            self.src, self.dst, self.protocol, self.payload, self.ttl - 1, self.identification, self.flags,
            self.fragment_offset, self.dscp, self.ecn, self.options, None,
        )

    def payload_bytes(self) -> bytes:
        """The payload as it is on the wire (encoding a decoded payload with this header's addresses)."""
        payload = self.payload
        if type(payload) is bytes:
            return payload
        return payload.to_bytes(src=self.src, dst=self.dst)  # type: ignore[union-attr]


_make_packet = trusted_constructor(IPv4Packet)


def _decode(data: bytes, verify: bool, decode: bool) -> IPv4Packet:
    """:meth:`IPv4Packet.parse` without the classmethod and keyword overhead (Ethernet calls it)."""
    size = len(data)
    if size < 20:
        raise TruncatedError("ipv4", "header", f"needs 20 bytes, only {size} available")
    vihl, tos, total, ident, frag, ttl, proto, checksum = _FIXED_NO_ADDRESSES.unpack_from(data)
    if vihl >> 4 != 4:
        raise WireError("ipv4", "version", f"version is {vihl >> 4}, not 4")
    hlen = (vihl & 15) * 4
    if hlen < 20:
        raise WireError("ipv4", "ihl", f"IHL is {vihl & 15}, below the minimum of 5")
    if size < hlen:
        raise TruncatedError("ipv4", "options", f"needs {hlen} bytes, only {size} available")
    if total != size:
        if total < hlen:
            raise WireError("ipv4", "total_length", f"total length {total} is shorter than the {hlen}-byte header")
        if total > size:
            raise TruncatedError("ipv4", "total_length", f"total length {total} > {size} bytes available")
        raise WireError("ipv4", "total_length", f"total length {total} < {size} bytes given")
    # RFC 1071: the header's words minus the checksum field's own (weight 1: an even number of
    # bytes follows it); never all zeros, so a zero remainder is 0xFFFF.
    computed = ~(((int.from_bytes(data[:hlen], "big") - checksum) % 0xFFFF) or 0xFFFF) & 0xFFFF
    stored: int | None = None
    if checksum != computed:
        if verify and not (computed == 0 and checksum == 0xFFFF):
            raise ChecksumError("ipv4", "checksum", f"header checksum {checksum:#06x}, computed {computed:#06x}")
        stored = checksum
    body = data[hlen:]
    flags, offset = frag >> 13, frag & 0x1FFF
    addresses = data[12:20]
    pair = _ADDRESS_PAIRS.get(addresses)
    src, dst, address_sum = pair if pair is not None else ipv4_pair_from_packed(addresses)
    payload: IPv4Payload
    if decode and not (flags & 1 or offset) and proto in (6, 17, 1):
        # the pseudo-header's words: both addresses, the protocol and the upper-layer length
        # (RFC 9293 §3.1, RFC 768)
        if proto == 6:
            payload = decode_tcp(body, address_sum + 6 + total - hlen, verify)
        elif proto == 17:
            payload = decode_udp(body, address_sum + 17 + total - hlen, verify, False)
        else:
            payload = ICMPv4Message.parse(body, verify=verify)
    else:
        payload = bytes(body)
    return _make_packet(
        src, dst, proto, payload, ttl, ident, flags, offset, tos >> 2,
        tos & 3, bytes(data[20:hlen]) if hlen > 20 else b"", stored,
    )
