"""ICMP for IPv6 (RFC 4443) and the Neighbor Discovery messages (RFC 4861 §4.1-4.4).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                 type-specific word (4 bytes)                  |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |   body: echo data, the offending packet's first bytes, or    |
    |   NDP fields followed by NDP options (see netsim.wire.ndp)    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    type-specific word: echo (128/129): identifier(16), sequence(16)
                        destination unreachable (1), time exceeded (3): unused(32)
                        packet too big (2): MTU(32);  parameter problem (4): pointer(32)
                        router solicitation (133): reserved(32)
                        router advertisement (134): cur hop limit(8) |M|O| reserved(6) | router lifetime(16)
                            then reachable time(32), retrans timer(32), options
                        neighbor solicitation (135): reserved(32), then target(128), options
                        neighbor advertisement (136): |R|S|O| reserved(29), then target(128), options

Unlike ICMPv4, the checksum covers the IPv6 pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1), so
``parse`` and ``to_bytes`` take the addresses as ``src``/``dst`` keywords, as TCP and UDP do.
Without them ``parse`` keeps the received checksum as it is (it cannot tell whether it is the
correct one) and ``to_bytes`` of a value whose checksum is ``None`` raises ``ValueError``.

Each kind is its own value class deriving from :class:`ICMPv6Message`, whose ``parse`` picks the
class by type.  Unused and reserved fields are kept (default 0) so any message round-trips byte
for byte; so is the Code of NDP messages, which RFC 4861 requires to be 0: discarding a message
with another code, or with a hop limit other than 255, is the receiving node's check (§6.1,
§7.1), not the codec's.  Errors keep the offending packet as bytes (``original``); RFC 4443
§2.4(c) lets them quote as much as keeps the error within the minimum IPv6 MTU of 1280 bytes,
which is what :func:`quote_ipv6_packet` cuts to.
"""

from __future__ import annotations

import enum
import struct
from ipaddress import IPv4Address, IPv6Address
from typing import Any, ClassVar

import attrs

from netsim.errors import ChecksumError, TruncatedError
from netsim.wire._fields import is_bool, is_bytes, is_ipv6, optional_u16, u6, u8, u16, u32, uint
from netsim.wire.checksum import checksum_excluding, finish, pseudo_header_sum, sum16
from netsim.wire.ndp import NDP_OPTION_TYPES, NDPOption, ndp_options_to_bytes, parse_ndp_options

__all__ = [
    "ICMPV6_ERROR_QUOTE_LIMIT",
    "ICMPV6_TYPES",
    "ICMPv6DestUnreachable",
    "ICMPv6Echo",
    "ICMPv6Message",
    "ICMPv6NeighborAdvertisement",
    "ICMPv6NeighborSolicitation",
    "ICMPv6Other",
    "ICMPv6PacketTooBig",
    "ICMPv6ParameterProblem",
    "ICMPv6ParameterProblemCode",
    "ICMPv6RouterAdvertisement",
    "ICMPv6RouterSolicitation",
    "ICMPv6TimeExceeded",
    "ICMPv6TimeExceededCode",
    "ICMPv6Type",
    "ICMPv6UnreachableCode",
    "quote_ipv6_packet",
]

IPAddress = IPv4Address | IPv6Address

_HEADER = struct.Struct("!BBHHH")
_HEADER32 = struct.Struct("!BBHI")
_RA = struct.Struct("!BBHBBHII")
_ND = struct.Struct("!BBHI16s")

#: RFC 4443 §2.4(c): an error message, IPv6 header included, must not exceed the minimum IPv6
#: MTU (RFC 8200 §5), so it quotes at most 1280 - 40 (IPv6) - 8 (ICMPv6 header) bytes.
ICMPV6_ERROR_QUOTE_LIMIT = 1280 - 40 - 8

u29 = uint(29)


class ICMPv6Type(enum.IntEnum):
    DEST_UNREACHABLE = 1
    PACKET_TOO_BIG = 2
    TIME_EXCEEDED = 3
    PARAMETER_PROBLEM = 4
    ECHO_REQUEST = 128
    ECHO_REPLY = 129
    ROUTER_SOLICITATION = 133
    ROUTER_ADVERTISEMENT = 134
    NEIGHBOR_SOLICITATION = 135
    NEIGHBOR_ADVERTISEMENT = 136
    REDIRECT = 137


class ICMPv6UnreachableCode(enum.IntEnum):
    """Destination Unreachable codes (RFC 4443 §3.1; code 7 from RFC 6550 §20.18)."""

    NO_ROUTE = 0
    ADMIN_PROHIBITED = 1
    BEYOND_SCOPE = 2
    ADDRESS = 3
    PORT = 4
    SOURCE_POLICY_FAILED = 5
    REJECT_ROUTE = 6
    SOURCE_ROUTING_HEADER_ERROR = 7


class ICMPv6TimeExceededCode(enum.IntEnum):
    """Time Exceeded codes (RFC 4443 §3.3)."""

    HOP_LIMIT = 0
    REASSEMBLY = 1


class ICMPv6ParameterProblemCode(enum.IntEnum):
    """Parameter Problem codes (RFC 4443 §3.4; code 3 from RFC 7112 §5)."""

    ERRONEOUS_HEADER_FIELD = 0
    UNRECOGNIZED_NEXT_HEADER = 1
    UNRECOGNIZED_OPTION = 2
    INCOMPLETE_HEADER_CHAIN = 3


def quote_ipv6_packet(packet: bytes, limit: int = ICMPV6_ERROR_QUOTE_LIMIT) -> bytes:
    """The part of an offending packet an ICMPv6 error carries: as much as fits ``limit`` (RFC 4443 §2.4(c))."""
    return packet[:limit]


def _finish(header: bytes, body: bytes, checksum: int | None, src: IPAddress | None, dst: IPAddress | None) -> bytes:
    """Header (even length, checksum field zero) and body with the checksum filled in."""
    if checksum is None:
        if src is None or dst is None:
            raise ValueError("computing the ICMPv6 checksum needs src and dst (the pseudo-header)")
        length = len(header) + len(body)
        checksum = finish(sum16(header) + sum16(body) + pseudo_header_sum(src, dst, 58, length))
    return b"".join((header[:2], checksum.to_bytes(2, "big"), header[4:], body))


class ICMPv6Message:
    """Base of the ICMPv6 message classes; ``ICMPv6Message.parse`` decodes any of them."""

    __slots__ = ()
    type: int
    code: int
    checksum: int | None

    @property
    def is_error(self) -> bool:
        """Error messages have types 0-127, informational ones 128-255 (RFC 4443 §2.1)."""
        return self.type < 128

    @classmethod
    def parse(
        cls,
        data: bytes,
        *,
        src: IPAddress | None = None,
        dst: IPAddress | None = None,
        verify: bool = False,
        decode: bool = True,
    ) -> ICMPv6Message:
        """Decode a message of any type (the whole rest of the IPv6 payload).

        Raises:
            TruncatedError: fewer bytes than the type's fixed part, or an NDP option past the end.
            WireError: a malformed NDP option.
            ChecksumError: with ``verify`` and the addresses, a wrong checksum.
        """
        pseudo = pseudo_header_sum(src, dst, 58, len(data)) if src is not None and dst is not None else None
        return _decode(data, pseudo, verify)

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        raise NotImplementedError


def _echo_type(_inst: Any, attribute: Any, value: Any) -> None:
    u8(_inst, attribute, value)
    if value not in (128, 129):
        raise ValueError(f"an echo message has type 128 (request) or 129 (reply), got {value!r}")


@attrs.frozen
class ICMPv6Echo(ICMPv6Message):
    """Echo request (type 128) or reply (type 129), RFC 4443 §4."""

    type: int = attrs.field(validator=_echo_type)
    identifier: int = attrs.field(default=0, validator=u16)
    sequence: int = attrs.field(default=0, validator=u16)
    data: bytes = attrs.field(default=b"", validator=is_bytes)
    code: int = attrs.field(default=0, validator=u8)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    REQUEST: ClassVar[int] = 128
    REPLY: ClassVar[int] = 129

    @property
    def is_request(self) -> bool:
        return self.type == 128

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        header = _HEADER.pack(self.type, self.code, 0, self.identifier, self.sequence)
        return _finish(header, self.data, self.checksum, src, dst)


@attrs.frozen
class ICMPv6DestUnreachable(ICMPv6Message):
    """Destination Unreachable (type 1, RFC 4443 §3.1); codes in :class:`ICMPv6UnreachableCode`."""

    code: int = attrs.field(validator=u8)
    original: bytes = attrs.field(default=b"", validator=is_bytes)
    unused: int = attrs.field(default=0, validator=u32)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 1  # type: ignore[misc]

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        return _finish(_HEADER32.pack(1, self.code, 0, self.unused), self.original, self.checksum, src, dst)


@attrs.frozen
class ICMPv6PacketTooBig(ICMPv6Message):
    """Packet Too Big (type 2, RFC 4443 §3.2): the MTU of the next-hop link, for path MTU discovery."""

    mtu: int = attrs.field(validator=u32)
    original: bytes = attrs.field(default=b"", validator=is_bytes)
    code: int = attrs.field(default=0, validator=u8)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 2  # type: ignore[misc]

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        return _finish(_HEADER32.pack(2, self.code, 0, self.mtu), self.original, self.checksum, src, dst)


@attrs.frozen
class ICMPv6TimeExceeded(ICMPv6Message):
    """Time Exceeded (type 3, RFC 4443 §3.3): hop limit (code 0) or fragment reassembly (code 1)."""

    code: int = attrs.field(validator=u8)
    original: bytes = attrs.field(default=b"", validator=is_bytes)
    unused: int = attrs.field(default=0, validator=u32)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 3  # type: ignore[misc]

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        return _finish(_HEADER32.pack(3, self.code, 0, self.unused), self.original, self.checksum, src, dst)


@attrs.frozen
class ICMPv6ParameterProblem(ICMPv6Message):
    """Parameter Problem (type 4, RFC 4443 §3.4): ``pointer`` is the offset of the fault in ``original``."""

    code: int = attrs.field(validator=u8)
    pointer: int = attrs.field(default=0, validator=u32)
    original: bytes = attrs.field(default=b"", validator=is_bytes)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 4  # type: ignore[misc]

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        return _finish(_HEADER32.pack(4, self.code, 0, self.pointer), self.original, self.checksum, src, dst)


def _check_options(_inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not tuple:
        raise ValueError(f"options must be a tuple of NDP options, got {value!r}")
    for option in value:
        if type(option) not in NDP_OPTION_TYPES:
            raise ValueError(f"not an NDP option: {option!r}")


@attrs.frozen
class ICMPv6RouterSolicitation(ICMPv6Message):
    """Router Solicitation (type 133, RFC 4861 §4.1); usually one Source Link-layer Address option."""

    reserved: int = attrs.field(default=0, validator=u32)
    options: tuple[NDPOption, ...] = attrs.field(default=(), validator=_check_options)
    code: int = attrs.field(default=0, validator=u8)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 133  # type: ignore[misc]

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        header = _HEADER32.pack(133, self.code, 0, self.reserved)
        return _finish(header, ndp_options_to_bytes(self.options), self.checksum, src, dst)


@attrs.frozen
class ICMPv6RouterAdvertisement(ICMPv6Message):
    """Router Advertisement (type 134, RFC 4861 §4.2).

    Defaults are RFC 4861 §6.2.1's router defaults: hop limit 64, router lifetime 1800 s, and 0
    ("unspecified by this router") for reachable time and retransmission timer.  ``managed`` and
    ``other`` are the M and O flags; ``flags_reserved`` holds the six bits after them (RFC 3775's
    H, RFC 4191's router preference and RFC 5175's extensions live there).
    """

    cur_hop_limit: int = attrs.field(default=64, validator=u8)
    managed: bool = attrs.field(default=False, validator=is_bool)
    other: bool = attrs.field(default=False, validator=is_bool)
    flags_reserved: int = attrs.field(default=0, validator=u6)
    router_lifetime: int = attrs.field(default=1800, validator=u16)
    reachable_time: int = attrs.field(default=0, validator=u32)
    retrans_timer: int = attrs.field(default=0, validator=u32)
    options: tuple[NDPOption, ...] = attrs.field(default=(), validator=_check_options)
    code: int = attrs.field(default=0, validator=u8)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 134  # type: ignore[misc]

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        flags = (self.managed << 7) | (self.other << 6) | self.flags_reserved
        header = _RA.pack(
            134, self.code, 0, self.cur_hop_limit, flags, self.router_lifetime, self.reachable_time,
            self.retrans_timer,
        )
        return _finish(header, ndp_options_to_bytes(self.options), self.checksum, src, dst)


@attrs.frozen
class ICMPv6NeighborSolicitation(ICMPv6Message):
    """Neighbor Solicitation (type 135, RFC 4861 §4.3): who has ``target``?"""

    target: IPv6Address = attrs.field(validator=is_ipv6)
    reserved: int = attrs.field(default=0, validator=u32)
    options: tuple[NDPOption, ...] = attrs.field(default=(), validator=_check_options)
    code: int = attrs.field(default=0, validator=u8)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 135  # type: ignore[misc]

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        header = _ND.pack(135, self.code, 0, self.reserved, self.target.packed)
        return _finish(header, ndp_options_to_bytes(self.options), self.checksum, src, dst)


@attrs.frozen
class ICMPv6NeighborAdvertisement(ICMPv6Message):
    """Neighbor Advertisement (type 136, RFC 4861 §4.4) with the R(outer), S(olicited), O(verride) flags."""

    target: IPv6Address = attrs.field(validator=is_ipv6)
    router: bool = attrs.field(default=False, validator=is_bool)
    solicited: bool = attrs.field(default=False, validator=is_bool)
    override: bool = attrs.field(default=False, validator=is_bool)
    reserved: int = attrs.field(default=0, validator=u29)
    options: tuple[NDPOption, ...] = attrs.field(default=(), validator=_check_options)
    code: int = attrs.field(default=0, validator=u8)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 136  # type: ignore[misc]

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        word = (self.router << 31) | (self.solicited << 30) | (self.override << 29) | self.reserved
        header = _ND.pack(136, self.code, 0, word, self.target.packed)
        return _finish(header, ndp_options_to_bytes(self.options), self.checksum, src, dst)


_OWN_CLASS = frozenset({1, 2, 3, 4, 128, 129, 133, 134, 135, 136})


def _other_type(_inst: Any, attribute: Any, value: Any) -> None:
    u8(_inst, attribute, value)
    if value in _OWN_CLASS:
        raise ValueError(f"ICMPv6 type {value} has its own class")


@attrs.frozen
class ICMPv6Other(ICMPv6Message):
    """Any other type (redirect, MLD, ...): ``body`` is everything after the checksum."""

    type: int = attrs.field(validator=_other_type)
    code: int = attrs.field(default=0, validator=u8)
    body: bytes = attrs.field(default=b"", validator=is_bytes)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        header = bytes((self.type, self.code, 0, 0))
        return _finish(header, self.body, self.checksum, src, dst)


ICMPV6_TYPES = (
    ICMPv6Echo,
    ICMPv6DestUnreachable,
    ICMPv6PacketTooBig,
    ICMPv6TimeExceeded,
    ICMPv6ParameterProblem,
    ICMPv6RouterSolicitation,
    ICMPv6RouterAdvertisement,
    ICMPv6NeighborSolicitation,
    ICMPv6NeighborAdvertisement,
    ICMPv6Other,
)

#: The fixed part (bytes before the body or the NDP options) of each type with its own class.
_FIXED_LEN = {1: 8, 2: 8, 3: 8, 4: 8, 128: 8, 129: 8, 133: 8, 134: 16, 135: 24, 136: 24}


def _decode(data: bytes | memoryview, pseudo: int | None, verify: bool) -> ICMPv6Message:
    """Decode with the pseudo-header's unreduced sum already known (``None``: no addresses)."""
    size = len(data)
    if size < 4:
        raise TruncatedError("icmpv6", "header", f"needs 4 bytes, only {size} available")
    kind, code = data[0], data[1]
    checksum = (data[2] << 8) | data[3]
    fixed = _FIXED_LEN.get(kind, 4)
    if size < fixed:
        raise TruncatedError("icmpv6", "header", f"a type {kind} message needs {fixed} bytes, only {size} available")
    stored: int | None = checksum
    if pseudo is not None:
        expected = checksum_excluding(data, 2, pseudo)
        if checksum == expected:
            stored = None
        elif verify and not (expected == 0 and checksum == 0xFFFF):
            raise ChecksumError("icmpv6", "checksum", f"checksum {checksum:#06x}, computed {expected:#06x}")
    if kind in (128, 129):
        _, _, _, identifier, sequence = _HEADER.unpack_from(data)
        return ICMPv6Echo(kind, identifier, sequence, bytes(data[8:]), code, stored)
    if fixed == 4:
        return ICMPv6Other(kind, code, bytes(data[4:]), stored)
    if kind <= 4:
        word = _HEADER32.unpack_from(data)[3]
        body = bytes(data[8:])
        if kind == 1:
            return ICMPv6DestUnreachable(code, body, word, stored)
        if kind == 2:
            return ICMPv6PacketTooBig(word, body, code, stored)
        if kind == 3:
            return ICMPv6TimeExceeded(code, body, word, stored)
        return ICMPv6ParameterProblem(code, word, body, stored)
    options = parse_ndp_options(data[fixed:])
    if kind == 133:
        return ICMPv6RouterSolicitation(_HEADER32.unpack_from(data)[3], options, code, stored)
    if kind == 134:
        _, _, _, hop_limit, flags, lifetime, reachable, retrans = _RA.unpack_from(data)
        return ICMPv6RouterAdvertisement(
            hop_limit, bool(flags & 0x80), bool(flags & 0x40), flags & 0x3F, lifetime, reachable, retrans, options,
            code, stored,
        )
    _, _, _, word, target = _ND.unpack_from(data)
    if kind == 135:
        return ICMPv6NeighborSolicitation(IPv6Address(target), word, options, code, stored)
    return ICMPv6NeighborAdvertisement(
        IPv6Address(target), bool(word >> 31), bool(word >> 30 & 1), bool(word >> 29 & 1), word & 0x1FFFFFFF,
        options, code, stored,
    )
