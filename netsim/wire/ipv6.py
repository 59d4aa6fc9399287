"""IPv6 packets (RFC 8200) and their extension headers.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version| Traffic Class |           Flow Label                  |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Payload Length        |  Next Header  |   Hop Limit   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                  Source Address (16 bytes)                    |
    |                Destination Address (16 bytes)                 |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  extension headers, each starting with its Next Header ...    |
    |  upper-layer payload (TCP, UDP, ICMPv6)                       |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Hop-by-Hop Options (0), Destination Options (60):
    |  Next Header  |  Hdr Ext Len  |  options (TLVs, padded) ...
    Routing (43):
    |  Next Header  |  Hdr Ext Len  | Routing Type  | Segments Left |  type-specific data ...
    Fragment (44), always 8 bytes:
    |  Next Header  |   Reserved    |    Fragment Offset      |Res|M|
    |                         Identification                        |

    Hdr Ext Len counts 8-byte units after the first 8: a header is 8 * (Hdr Ext Len + 1) bytes.

The Next Header fields form a chain: the base header names the first extension header, each
extension header names the one after it, and the last names the upper-layer protocol.  Here the
chain is derived: ``extensions`` is a tuple of header values in wire order and ``next_header``
is the protocol after them (the upper layer), so a value cannot describe a broken chain.
Payload Length is derived too.  There is no header checksum (RFC 8200 dropped it); upper-layer
checksums cover a pseudo-header (§8.1) whose destination is the *final* one: if a Routing
header still has segments left, the last address it will visit (see
:attr:`IPv6Packet.final_destination`).

``parse`` follows the chain through Hop-by-Hop, Routing, Fragment and Destination Options
headers.  Hop-by-Hop must immediately follow the base header (§4.1), so one anywhere else is a
:class:`WireError`.  A fragment with a nonzero offset ends the chain: what follows its header
is the middle of the original packet, not headers, so ``next_header`` is then whatever the
Fragment header says (possibly an extension header type) and the payload is bytes.  A first
fragment (offset 0, M set) still has the whole header chain (§4.5, RFC 7112), which is decoded,
but its payload stays bytes until reassembly; an atomic fragment (offset 0, M clear, RFC 6946)
is a whole packet and its payload is decoded.  Options in Hop-by-Hop and Destination Options
headers are kept as bytes (their TLVs are the node's business, not the codec's); jumbograms
(RFC 2675, Payload Length 0) are not supported.  Reserved bits of the Fragment header are fields,
default 0, so any received header round-trips byte for byte.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import Any, ClassVar

import attrs

from netsim.errors import TruncatedError, WireError
from netsim.wire._fields import is_bool, is_ipv6, trusted_constructor, u2, u8, u13, u20, u32
from netsim.wire.icmpv6 import ICMPV6_TYPES, ICMPv6Message
from netsim.wire.icmpv6 import _decode as decode_icmpv6
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp import _decode as decode_tcp
from netsim.wire.udp import UDPDatagram
from netsim.wire.udp import _decode as decode_udp

__all__ = [
    "IPv6DestinationOptions",
    "IPv6Extension",
    "IPv6Fragment",
    "IPv6HopByHop",
    "IPv6Packet",
    "IPv6Payload",
    "IPv6Routing",
    "pad_ipv6_options",
]

_FIXED = struct.Struct("!IHBB16s16s")
_FRAGMENT = struct.Struct("!BBHI")

HOP_BY_HOP, ROUTING, FRAGMENT, DESTINATION_OPTIONS = 0, 43, 44, 60
_CHAIN = frozenset({HOP_BY_HOP, ROUTING, FRAGMENT, DESTINATION_OPTIONS})
_FIELD = {
    HOP_BY_HOP: "hop_by_hop", ROUTING: "routing", FRAGMENT: "fragment", DESTINATION_OPTIONS: "destination_options",
}

#: A PadN option with four bytes of zeros: the options of the smallest (8-byte) options header.
_PADN4 = b"\x01\x04\x00\x00\x00\x00"


def pad_ipv6_options(options: bytes) -> bytes:
    """Append Pad1 or PadN (RFC 8200 §4.2) so an options header is a whole number of 8-byte units."""
    missing = -(2 + len(options)) % 8
    if missing == 0:
        return options
    if missing == 1:
        return options + b"\x00"
    return options + bytes((1, missing - 2)) + bytes(missing - 2)


def _check_options(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not bytes or (2 + len(value)) % 8 or len(value) > 2046:
        raise ValueError(
            f"{attribute.name} must be bytes with 2 + len a multiple of 8, at most 2046 long "
            f"(see pad_ipv6_options), got {value!r}"
        )


def _check_routing_data(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not bytes or (4 + len(value)) % 8 or len(value) > 2044:
        raise ValueError(
            f"{attribute.name} must be bytes with 4 + len a multiple of 8, at most 2044 long, got {value!r}"
        )


def _exactly(header: Any, data: bytes | memoryview) -> None:
    """Standalone parse of one extension header: ``data`` must be that header and nothing more."""
    if header.length != len(data):
        name = _FIELD[header.TYPE]
        raise WireError("ipv6", name, f"the header is {header.length} bytes, {len(data)} given")


@attrs.frozen
class IPv6HopByHop:
    """Hop-by-Hop Options header (next header 0, RFC 8200 §4.3): examined by every node on the path.

    ``options`` are the TLVs as bytes, padded so the header is a multiple of 8 bytes
    (:func:`pad_ipv6_options`); the default is the smallest header, one PadN option.
    """

    options: bytes = attrs.field(default=_PADN4, validator=_check_options)

    TYPE: ClassVar[int] = HOP_BY_HOP

    @property
    def length(self) -> int:
        return 2 + len(self.options)

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> IPv6HopByHop:
        """Decode exactly one header (its own Next Header byte is the chain's business and dropped)."""
        header, _, _ = _decode_extension(HOP_BY_HOP, data, 0, len(data))
        _exactly(header, data)
        return header  # type: ignore[return-value]

    def to_bytes(self, *, next_header: int) -> bytes:
        return bytes((next_header, (len(self.options) + 2 >> 3) - 1)) + self.options


@attrs.frozen
class IPv6DestinationOptions:
    """Destination Options header (next header 60, RFC 8200 §4.6): examined by the destination(s).

    Laid out like :class:`IPv6HopByHop`; it may appear before a Routing header (for every node in
    the route) and before the upper layer (for the final destination).
    """

    options: bytes = attrs.field(default=_PADN4, validator=_check_options)

    TYPE: ClassVar[int] = DESTINATION_OPTIONS

    @property
    def length(self) -> int:
        return 2 + len(self.options)

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> IPv6DestinationOptions:
        """Decode exactly one header (its own Next Header byte is the chain's business and dropped)."""
        header, _, _ = _decode_extension(DESTINATION_OPTIONS, data, 0, len(data))
        _exactly(header, data)
        return header  # type: ignore[return-value]

    def to_bytes(self, *, next_header: int) -> bytes:
        return bytes((next_header, (len(self.options) + 2 >> 3) - 1)) + self.options


@attrs.frozen
class IPv6Routing:
    """Routing header (next header 43, RFC 8200 §4.4).

    ``data`` is everything after Segments Left: for types 0 and 2 (RFC 6275) four reserved bytes
    then addresses, for type 4 (Segment Routing, RFC 8754) Last Entry, Flags, Tag, the segment
    list and TLVs.  It is kept as bytes; only the final destination is read out of it, for the
    upper-layer pseudo-header.
    """

    routing_type: int = attrs.field(validator=u8)
    segments_left: int = attrs.field(validator=u8)
    data: bytes = attrs.field(default=bytes(4), validator=_check_routing_data)

    TYPE: ClassVar[int] = ROUTING

    @property
    def length(self) -> int:
        return 4 + len(self.data)

    @property
    def final_destination(self) -> IPv6Address | None:
        """The last address the route visits, if there are segments left and the type is known.

        Types 0 and 2 list the addresses in order after 4 reserved bytes (RFC 8200 §4.4, RFC 6275
        §6.4); a Segment Routing header (type 4) lists them in reverse, after 4 bytes of Last
        Entry, Flags and Tag, so the final one is Segment List[0] (RFC 8754 §2).  This is the
        address scapy's ``in6_chksum`` uses too.
        """
        if not self.segments_left:
            return None
        data = self.data
        if self.routing_type in (0, 2):
            if len(data) >= 20 and (len(data) - 4) % 16 == 0:
                return IPv6Address(data[-16:])
        elif self.routing_type == 4 and len(data) >= 20:
            return IPv6Address(data[4:20])
        return None

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> IPv6Routing:
        """Decode exactly one header (its own Next Header byte is the chain's business and dropped)."""
        header, _, _ = _decode_extension(ROUTING, data, 0, len(data))
        _exactly(header, data)
        return header  # type: ignore[return-value]

    def to_bytes(self, *, next_header: int) -> bytes:
        return bytes((next_header, (len(self.data) + 4 >> 3) - 1, self.routing_type, self.segments_left)) + self.data


@attrs.frozen
class IPv6Fragment:
    """Fragment header (next header 44, RFC 8200 §4.5).

    ``offset`` is in 8-byte units, as on the wire.  ``reserved1`` is the byte after Next Header
    and ``reserved2`` the two bits before M; both are zero when sent and ignored when received.
    """

    offset: int = attrs.field(default=0, validator=u13)
    more_fragments: bool = attrs.field(default=False, validator=is_bool)
    identification: int = attrs.field(default=0, validator=u32)
    reserved1: int = attrs.field(default=0, validator=u8)
    reserved2: int = attrs.field(default=0, validator=u2)

    TYPE: ClassVar[int] = FRAGMENT

    @property
    def length(self) -> int:
        return 8

    @property
    def is_fragment(self) -> bool:
        """False only for an atomic fragment (offset 0, M clear: a whole packet, RFC 6946)."""
        return bool(self.offset or self.more_fragments)

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> IPv6Fragment:
        """Decode exactly one header (its own Next Header byte is the chain's business and dropped)."""
        header, _, _ = _decode_extension(FRAGMENT, data, 0, len(data))
        _exactly(header, data)
        return header  # type: ignore[return-value]

    def to_bytes(self, *, next_header: int) -> bytes:
        word = (self.offset << 3) | (self.reserved2 << 1) | self.more_fragments
        return _FRAGMENT.pack(next_header, self.reserved1, word, self.identification)


IPv6Extension = IPv6HopByHop | IPv6Routing | IPv6Fragment | IPv6DestinationOptions
IPv6Payload = TCPSegment | UDPDatagram | ICMPv6Message | bytes

_EXTENSION_TYPES = (IPv6HopByHop, IPv6Routing, IPv6Fragment, IPv6DestinationOptions)
_make_hop_by_hop = trusted_constructor(IPv6HopByHop)
_make_destination_options = trusted_constructor(IPv6DestinationOptions)
_make_routing = trusted_constructor(IPv6Routing)
_make_fragment = trusted_constructor(IPv6Fragment)


def _fragmented(extensions: Any) -> bool:
    """True if a Fragment header makes the payload a piece of a packet (not an atomic fragment)."""
    return type(extensions) is tuple and any(
        type(header) is IPv6Fragment and (header.offset or header.more_fragments) for header in extensions
    )


def _ends_in_later_fragment(extensions: tuple[Any, ...]) -> bool:
    return bool(extensions) and type(extensions[-1]) is IPv6Fragment and extensions[-1].offset != 0


def _check_payload(inst: Any, _attribute: Any, value: Any) -> None:
    kind = type(value)
    if kind is bytes:
        return
    if _fragmented(inst.extensions):
        raise ValueError("a fragment's payload is bytes")
    if kind is TCPSegment:
        want = 6
    elif kind is UDPDatagram:
        want = 17
    elif kind in ICMPV6_TYPES:
        want = 58
    else:
        raise ValueError(f"payload must be a TCP, UDP or ICMPv6 value or bytes, got {kind.__name__}")
    if inst.next_header != want:
        raise ValueError(f"a {kind.__name__} payload needs next_header {want}, not {inst.next_header}")


def _check_extensions(inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not tuple:
        raise ValueError(f"extensions must be a tuple of IPv6 extension headers, got {value!r}")
    last = len(value) - 1
    for index, header in enumerate(value):
        kind = type(header)
        if kind not in _EXTENSION_TYPES:
            raise ValueError(f"not an IPv6 extension header: {header!r}")
        if kind is IPv6HopByHop and index:
            raise ValueError("a Hop-by-Hop Options header must come first, right after the IPv6 header (RFC 8200 §4.1)")
        if kind is IPv6Fragment and header.offset and index != last:
            raise ValueError(
                "a fragment with a nonzero offset ends the header chain: what follows its header is "
                "fragment data, give it as payload bytes"
            )
    if inst.next_header in _CHAIN and not _ends_in_later_fragment(value):
        raise ValueError(
            f"next_header {inst.next_header} is an extension header type: give the header in extensions "
            "(next_header is the protocol after them)"
        )


@attrs.frozen
class IPv6Packet:
    src: IPv6Address = attrs.field(validator=is_ipv6)
    dst: IPv6Address = attrs.field(validator=is_ipv6)
    next_header: int = attrs.field(validator=u8)
    payload: IPv6Payload = attrs.field(default=b"", validator=_check_payload)
    hop_limit: int = attrs.field(default=64, validator=u8)
    traffic_class: int = attrs.field(default=0, validator=u8)
    flow_label: int = attrs.field(default=0, validator=u20)
    extensions: tuple[IPv6Extension, ...] = attrs.field(default=(), validator=_check_extensions)

    HEADER_LEN: ClassVar[int] = 40

    @property
    def header_len(self) -> int:
        """The base header and the extension headers, in bytes."""
        return 40 + sum(header.length for header in self.extensions)

    @property
    def dscp(self) -> int:
        return self.traffic_class >> 2

    @property
    def ecn(self) -> int:
        return self.traffic_class & 3

    @property
    def fragment(self) -> IPv6Fragment | None:
        """The Fragment header, if there is one."""
        for header in self.extensions:
            if type(header) is IPv6Fragment:
                return header
        return None

    @property
    def is_fragment(self) -> bool:
        """True when the payload is a piece of a packet (a Fragment header, not an atomic one)."""
        return _fragmented(self.extensions)

    @property
    def final_destination(self) -> IPv6Address:
        """The destination of the upper-layer pseudo-header (RFC 8200 §8.1): ``dst``, unless a
        Routing header has segments left, in which case the last address of its route."""
        return _final_destination(self.extensions, self.dst) if self.extensions else self.dst

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> IPv6Packet:
        """Decode one whole packet: ``len(data)`` must be 40 plus its Payload Length.

        Raises:
            TruncatedError: fewer bytes than the header, Payload Length or an extension header says.
            WireError: wrong version, trailing bytes, a Hop-by-Hop header after another extension
                header, or (with ``decode``) a malformed TCP/UDP/ICMPv6 payload.
            ChecksumError: with ``verify``, a decoded payload's checksum is wrong.
        """
        return _decode(data, verify, decode)

    def to_bytes(self) -> bytes:
        body = self.payload_bytes()
        extensions = self.extensions
        if extensions:
            types = [header.TYPE for header in extensions[1:]]
            types.append(self.next_header)
            chain = b"".join([header.to_bytes(next_header=nh) for header, nh in zip(extensions, types, strict=True)])
            first = extensions[0].TYPE
        else:
            chain, first = b"", self.next_header
        length = len(chain) + len(body)
        if length > 0xFFFF:
            raise ValueError(f"an IPv6 payload is at most 65535 bytes (no jumbograms), this one is {length}")
        word = 0x60000000 | (self.traffic_class << 20) | self.flow_label
        header = _FIXED.pack(word, length, first, self.hop_limit, self.src.packed, self.dst.packed)
        return b"".join((header, chain, body))

    def payload_bytes(self) -> bytes:
        """The payload as it is on the wire (encoding a decoded payload with the pseudo-header's addresses)."""
        payload = self.payload
        if type(payload) is bytes:
            return payload
        return payload.to_bytes(src=self.src, dst=self.final_destination)  # type: ignore[union-attr]


_make_packet = trusted_constructor(IPv6Packet)


def _final_destination(extensions: tuple[IPv6Extension, ...], dst: IPv6Address) -> IPv6Address:
    """RFC 8200 §8.1: the final destination, from the last Routing header with segments left."""
    final = dst
    for header in extensions:
        if type(header) is IPv6Routing:
            address = header.final_destination
            if address is not None:
                final = address
    return final


_ADDRESSES: dict[bytes, IPv6Address] = {}


def _address(packed: bytes) -> IPv6Address:
    """``IPv6Address(packed)``, memoised like ``ipv4_from_packed``: the objects are immutable."""
    address = _ADDRESSES.get(packed)
    if address is None:
        if len(_ADDRESSES) >= 1 << 16:
            _ADDRESSES.clear()
        address = _ADDRESSES[packed] = IPv6Address(packed)
    return address


def _decode_extension(kind: int, data: bytes | memoryview, offset: int, end: int) -> tuple[IPv6Extension, int, int]:
    """The extension header of type ``kind`` at ``offset``: (header, its Next Header, offset after it)."""
    available = end - offset
    if kind == FRAGMENT:
        if available < 8:
            raise TruncatedError("ipv6", "fragment", f"a fragment header needs 8 bytes, only {available} available")
        nh, reserved1, word, identification = _FRAGMENT.unpack_from(data, offset)
        return _make_fragment(word >> 3, bool(word & 1), identification, reserved1, (word >> 1) & 3), nh, offset + 8
    name = _FIELD[kind]
    if available < 2:
        raise TruncatedError("ipv6", name, f"an extension header needs 8 bytes, only {available} available")
    nh = data[offset]
    length = (data[offset + 1] + 1) * 8
    if available < length:
        raise TruncatedError("ipv6", name, f"header length {length} > {available} bytes available")
    stop = offset + length
    header: IPv6Extension
    if kind == ROUTING:
        header = _make_routing(data[offset + 2], data[offset + 3], bytes(data[offset + 4 : stop]))
    elif kind == HOP_BY_HOP:
        header = _make_hop_by_hop(bytes(data[offset + 2 : stop]))
    else:
        header = _make_destination_options(bytes(data[offset + 2 : stop]))
    return header, nh, stop


def _decode(data: bytes | memoryview, verify: bool, decode: bool) -> IPv6Packet:
    """:meth:`IPv6Packet.parse` on bytes or a memoryview."""
    size = len(data)
    if size < 40:
        raise TruncatedError("ipv6", "header", f"needs 40 bytes, only {size} available")
    word, length, nh, hop_limit, src, dst = _FIXED.unpack_from(data)
    if word >> 28 != 6:
        raise WireError("ipv6", "version", f"version is {word >> 28}, not 6")
    if length != size - 40:
        if length > size - 40:
            raise TruncatedError("ipv6", "payload_length", f"payload length {length} > {size - 40} bytes available")
        if length == 0:
            raise WireError(
                "ipv6", "payload_length",
                f"payload length 0 with {size - 40} bytes given (jumbograms are not supported)",
            )
        raise WireError("ipv6", "payload_length", f"payload length {length} < {size - 40} bytes given")
    offset = 40
    extensions: list[IPv6Extension] = []
    fragmented = False
    while nh in _CHAIN:
        if nh == HOP_BY_HOP and extensions:
            raise WireError(
                "ipv6", "next_header",
                f"a Hop-by-Hop Options header after {len(extensions)} other extension header(s) (RFC 8200 §4.1)",
            )
        header, nh, offset = _decode_extension(nh, data, offset, size)
        extensions.append(header)
        if type(header) is IPv6Fragment and (header.offset or header.more_fragments):
            fragmented = True
            if header.offset:
                break  # what follows is the middle of the original packet, not headers
    chain = tuple(extensions)
    source, destination = _address(src), _address(dst)
    body = data[offset:]
    payload: IPv6Payload
    if decode and not fragmented and nh in (6, 17, 58):
        final = _final_destination(chain, destination) if chain else destination
        # the pseudo-header's words (RFC 8200 §8.1): the addresses (an address's words sum to the
        # address itself modulo 0xFFFF), the upper-layer length and the next header
        pseudo = int(source) % 0xFFFF + int(final) % 0xFFFF + nh + len(body)
        if nh == 6:
            payload = decode_tcp(body, pseudo, verify)
        elif nh == 17:
            payload = decode_udp(body, pseudo, verify, True)  # type: ignore[arg-type]
        else:
            payload = decode_icmpv6(body, pseudo, verify)
    else:
        payload = bytes(body)
    return _make_packet(
        source, destination, nh, payload, hop_limit, (word >> 20) & 0xFF, word & 0xFFFFF, chain,
    )
