"""ICMP for IPv4 (RFC 792, RFC 1191, RFC 1812).

::

    0       8       16              31
    +-------+-------+---------------+
    | Type  | Code  |   Checksum    |
    +-------+-------+---------------+
    |     rest of header (4)        |      echo: identifier, sequence
    +-------------------------------+      unreachable: unused(2), next-hop MTU(2)
    |  body: echo data, or the      |      time exceeded: unused(4)
    |  offending datagram's header  |
    |  and first bytes              |
    +-------------------------------+

Each kind is its own value class deriving from :class:`ICMPv4Message`, whose ``parse`` picks
the class by type.  Error messages keep the quoted datagram as bytes (``original``); RFC 792
asks for its IP header and first 8 bytes, RFC 1812 §4.3.2.3 allows as much as keeps the error
within 576 bytes, which is what Linux sends (see :func:`quote_datagram`).
"""

from __future__ import annotations

import enum
import struct
from typing import Any, ClassVar

import attrs

from netsim.errors import ChecksumError
from netsim.wire._fields import is_bytes, need, optional_u16, u8, u16, u32
from netsim.wire.checksum import checksum_excluding, internet_checksum

_HEADER = struct.Struct("!BBHHH")
_HEADER32 = struct.Struct("!BBHI")

#: RFC 1812 §4.3.2.3 / Linux ``icmp_send``: the whole error fits in 576 bytes.
ICMP_ERROR_QUOTE_LIMIT = 576 - 20 - 8


class ICMPv4Type(enum.IntEnum):
    ECHO_REPLY = 0
    DEST_UNREACHABLE = 3
    REDIRECT = 5
    ECHO_REQUEST = 8
    TIME_EXCEEDED = 11
    PARAMETER_PROBLEM = 12


class UnreachableCode(enum.IntEnum):
    """Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1)."""

    NET = 0
    HOST = 1
    PROTOCOL = 2
    PORT = 3
    FRAGMENTATION_NEEDED = 4
    SOURCE_ROUTE_FAILED = 5
    NET_UNKNOWN = 6
    HOST_UNKNOWN = 7
    SOURCE_HOST_ISOLATED = 8
    NET_PROHIBITED = 9
    HOST_PROHIBITED = 10
    NET_TOS = 11
    HOST_TOS = 12
    COMMUNICATION_PROHIBITED = 13
    HOST_PRECEDENCE_VIOLATION = 14
    PRECEDENCE_CUTOFF = 15


class TimeExceededCode(enum.IntEnum):
    TTL = 0
    REASSEMBLY = 1


def quote_datagram(datagram: bytes, limit: int = ICMP_ERROR_QUOTE_LIMIT) -> bytes:
    """The part of an offending datagram an ICMP error carries: as much as fits ``limit``."""
    return datagram[:limit]


def _finish(header: bytes, body: bytes, checksum: int | None) -> bytes:
    if checksum is None:
        checksum = internet_checksum(header + body)
    return header[:2] + checksum.to_bytes(2, "big") + header[4:] + body


class ICMPv4Message:
    """Base of the ICMPv4 message classes; ``ICMPv4Message.parse`` decodes any of them."""

    __slots__ = ()
    type: int
    code: int
    checksum: int | None

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True, **_: Any) -> ICMPv4Message:
        """Decode a message of any type.

        Raises:
            TruncatedError: fewer than 8 bytes.
            ChecksumError: with ``verify``, a wrong checksum.
        """
        need(data, 8, "icmp", "header")
        kind, code, checksum, word1, word2 = _HEADER.unpack_from(data)
        expected = checksum_excluding(data, 2)
        stored: int | None = None
        if checksum != expected:
            if verify and not (expected == 0 and checksum == 0xFFFF):
                raise ChecksumError("icmp", "checksum", f"checksum {checksum:#06x}, computed {expected:#06x}")
            stored = checksum
        body = bytes(data[8:])
        if kind in (0, 8):
            return ICMPv4Echo(kind, word1, word2, body, code, stored)
        if kind == 3:
            return ICMPv4DestUnreachable(code, body, word2, word1, stored)
        if kind == 11:
            return ICMPv4TimeExceeded(code, body, (word1 << 16) | word2, stored)
        return ICMPv4Other(kind, code, (word1 << 16) | word2, body, stored)

    def to_bytes(self, **_: Any) -> bytes:
        raise NotImplementedError


def _echo_type(_inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not int or value not in (0, 8):
        raise ValueError(f"an echo message has type 8 (request) or 0 (reply), got {value!r}")


@attrs.frozen
class ICMPv4Echo(ICMPv4Message):
    """Echo request (type 8) or reply (type 0), RFC 792."""

    type: int = attrs.field(validator=_echo_type)
    identifier: int = attrs.field(default=0, validator=u16)
    sequence: int = attrs.field(default=0, validator=u16)
    data: bytes = attrs.field(default=b"", validator=is_bytes)
    code: int = attrs.field(default=0, validator=u8)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    REQUEST: ClassVar[int] = 8
    REPLY: ClassVar[int] = 0

    @property
    def is_request(self) -> bool:
        return self.type == 8

    def to_bytes(self, **_: Any) -> bytes:
        header = _HEADER.pack(self.type, self.code, 0, self.identifier, self.sequence)
        return _finish(header, self.data, self.checksum)


@attrs.frozen
class ICMPv4DestUnreachable(ICMPv4Message):
    """Destination unreachable (type 3); ``next_hop_mtu`` is set for code 4 (RFC 1191 §4)."""

    code: int = attrs.field(validator=u8)
    original: bytes = attrs.field(default=b"", validator=is_bytes)
    next_hop_mtu: int = attrs.field(default=0, validator=u16)
    unused: int = attrs.field(default=0, validator=u16)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 3  # type: ignore[misc]

    def to_bytes(self, **_: Any) -> bytes:
        header = _HEADER.pack(3, self.code, 0, self.unused, self.next_hop_mtu)
        return _finish(header, self.original, self.checksum)


@attrs.frozen
class ICMPv4TimeExceeded(ICMPv4Message):
    """Time exceeded (type 11): TTL exceeded in transit (code 0) or reassembly (code 1)."""

    code: int = attrs.field(validator=u8)
    original: bytes = attrs.field(default=b"", validator=is_bytes)
    unused: int = attrs.field(default=0, validator=u32)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    type: ClassVar[int] = 11  # type: ignore[misc]

    def to_bytes(self, **_: Any) -> bytes:
        return _finish(_HEADER32.pack(11, self.code, 0, self.unused), self.original, self.checksum)


def _other_type(_inst: Any, attribute: Any, value: Any) -> None:
    u8(_inst, attribute, value)
    if value in (0, 3, 8, 11):
        raise ValueError(f"ICMP type {value} has its own class")


@attrs.frozen
class ICMPv4Other(ICMPv4Message):
    """Any other type (redirect, parameter problem, timestamp ...), kept as raw fields."""

    type: int = attrs.field(validator=_other_type)
    code: int = attrs.field(default=0, validator=u8)
    rest: int = attrs.field(default=0, validator=u32)
    body: bytes = attrs.field(default=b"", validator=is_bytes)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    def to_bytes(self, **_: Any) -> bytes:
        return _finish(_HEADER32.pack(self.type, self.code, 0, self.rest), self.body, self.checksum)


ICMPV4_TYPES = (ICMPv4Echo, ICMPv4DestUnreachable, ICMPv4TimeExceeded, ICMPv4Other)
