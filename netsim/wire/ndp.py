"""Neighbor Discovery options (RFC 4861 §4.6), one small value class per type.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |    Length     |              ...              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    ~                              ...                              ~
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Source/Target Link-layer Address (types 1, 2), Length 1:
    | Type | Length=1 |  Link-layer address (6 bytes: Ethernet)  |

    Prefix Information (type 3), Length 4:
    | Type | Length=4 | Prefix Length |L|A| Reserved1 |
    |                      Valid Lifetime                          |
    |                    Preferred Lifetime                        |
    |                        Reserved2                             |
    |                     Prefix (16 bytes)                        |

    MTU (type 5), Length 1:
    | Type | Length=1 |          Reserved             |
    |                          MTU                                 |

Length counts units of 8 bytes, type and length bytes included, so every option (and every
option area) is a multiple of 8 bytes and the Length byte is derived here.  RFC 4861 §4.6 says a
Length of 0 makes the whole packet invalid; it is a :class:`WireError`, as is an option running
past the end of the message.  Link-layer address options are decoded for Ethernet only (6-byte
addresses, Length 1): this simulator's only link layer, so any other length is malformed here.
Other types (Redirected Header, RDNSS, ...) are kept verbatim as :class:`NDPUnknownOption`.
Reserved fields and the reserved flag bits are fields (default 0) so that every option
round-trips byte for byte, whatever a sender left in them.
"""

from __future__ import annotations

import enum
import struct
from ipaddress import IPv6Address
from typing import Any, ClassVar

import attrs

from netsim.errors import TruncatedError, WireError
from netsim.wire._fields import is_bool, is_ipv6, u6, u8, u16, u32
from netsim.wire.mac import MACAddress, mac_from_packed

__all__ = [
    "NDPMTU",
    "NDPOption",
    "NDPOptionType",
    "NDPPrefixInformation",
    "NDPSourceLinkLayerAddress",
    "NDPTargetLinkLayerAddress",
    "NDPUnknownOption",
    "ndp_options_to_bytes",
    "parse_ndp_options",
]

_PREFIX = struct.Struct("!BBBBIII16s")
_MTU = struct.Struct("!BBHI")


class NDPOptionType(enum.IntEnum):
    SOURCE_LINK_LAYER_ADDRESS = 1
    TARGET_LINK_LAYER_ADDRESS = 2
    PREFIX_INFORMATION = 3
    REDIRECTED_HEADER = 4
    MTU = 5


#: Types with their own class, and the Length (in 8-byte units) each must have.
_KNOWN_LENGTH = {1: 1, 2: 1, 3: 4, 5: 1}


class NDPOption:
    """Base of the NDP option classes; ``NDPOption.parse`` decodes exactly one option of any type."""

    __slots__ = ()
    type: int

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> NDPOption:
        """Decode one option; ``len(data)`` must be its Length (``verify``/``decode``: symmetry).

        Raises:
            TruncatedError: fewer bytes than the Length says.
            WireError: Length 0, bytes beyond the option, or a known type with the wrong Length.
        """
        if len(data) < 2:
            raise TruncatedError("ndp", "option_length", f"an option needs 2 bytes, only {len(data)} available")
        length = data[1] * 8
        if length and length < len(data):
            raise WireError("ndp", "option_length", f"option length {length} < {len(data)} bytes given")
        options = parse_ndp_options(data)
        return options[0]

    def to_bytes(self) -> bytes:
        raise NotImplementedError


def _check_mac(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not MACAddress:
        raise ValueError(f"{attribute.name} must be a MACAddress, got {value!r}")


@attrs.frozen
class NDPSourceLinkLayerAddress(NDPOption):
    """Type 1: the sender's link-layer address (in RS, RA and NS)."""

    mac: MACAddress = attrs.field(validator=_check_mac)

    type: ClassVar[int] = 1  # type: ignore[misc]

    def to_bytes(self) -> bytes:
        return b"\x01\x01" + self.mac.packed


@attrs.frozen
class NDPTargetLinkLayerAddress(NDPOption):
    """Type 2: the target's link-layer address (in NA and Redirect)."""

    mac: MACAddress = attrs.field(validator=_check_mac)

    type: ClassVar[int] = 2  # type: ignore[misc]

    def to_bytes(self) -> bytes:
        return b"\x02\x01" + self.mac.packed


@attrs.frozen
class NDPPrefixInformation(NDPOption):
    """Type 3 (RFC 4861 §4.6.2), in Router Advertisements: an on-link and/or SLAAC prefix.

    Defaults are the router defaults of RFC 4861 §6.2.1 (both flags set, 30 days valid, 7 days
    preferred).  Bits of ``prefix`` past ``prefix_length`` are reserved but can be on the wire,
    so they are kept; so are lengths above 128.  ``flags_reserved`` holds the six bits after L
    and A (RFC 6275 puts its R flag in the first of them).
    """

    prefix: IPv6Address = attrs.field(validator=is_ipv6)
    prefix_length: int = attrs.field(validator=u8)
    on_link: bool = attrs.field(default=True, validator=is_bool)
    autonomous: bool = attrs.field(default=True, validator=is_bool)
    valid_lifetime: int = attrs.field(default=2592000, validator=u32)
    preferred_lifetime: int = attrs.field(default=604800, validator=u32)
    flags_reserved: int = attrs.field(default=0, validator=u6)
    reserved2: int = attrs.field(default=0, validator=u32)

    type: ClassVar[int] = 3  # type: ignore[misc]

    def to_bytes(self) -> bytes:
        flags = (self.on_link << 7) | (self.autonomous << 6) | self.flags_reserved
        return _PREFIX.pack(
            3, 4, self.prefix_length, flags, self.valid_lifetime, self.preferred_lifetime, self.reserved2,
            self.prefix.packed,
        )


@attrs.frozen
class NDPMTU(NDPOption):
    """Type 5 (RFC 4861 §4.6.4), in Router Advertisements: the link MTU."""

    mtu: int = attrs.field(validator=u32)
    reserved: int = attrs.field(default=0, validator=u16)

    type: ClassVar[int] = 5  # type: ignore[misc]

    def to_bytes(self) -> bytes:
        return _MTU.pack(5, 1, self.reserved, self.mtu)


def _check_unknown_type(_inst: Any, attribute: Any, value: Any) -> None:
    u8(_inst, attribute, value)
    if value in _KNOWN_LENGTH:
        raise ValueError(f"NDP option type {value} has its own class")


def _check_unknown_data(_inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not bytes or (2 + len(value)) % 8 or len(value) > 255 * 8 - 2:
        raise ValueError(
            f"option data must be bytes with 2 + len(data) a multiple of 8, at most 2038 long, got {value!r}"
        )


@attrs.frozen
class NDPUnknownOption(NDPOption):
    """Any other type, kept as the bytes after type and length (the Length byte is derived)."""

    type: int = attrs.field(validator=_check_unknown_type)
    data: bytes = attrs.field(default=bytes(6), validator=_check_unknown_data)

    def to_bytes(self) -> bytes:
        return bytes((self.type, (2 + len(self.data)) >> 3)) + self.data


NDP_OPTION_TYPES = (NDPSourceLinkLayerAddress, NDPTargetLinkLayerAddress, NDPPrefixInformation, NDPMTU,
                    NDPUnknownOption)


def parse_ndp_options(data: bytes | memoryview) -> tuple[NDPOption, ...]:
    """Decode an option area (the rest of an NDP message after its fixed part).

    Raises:
        TruncatedError: an option (or its type and length bytes) runs past the end.
        WireError: an option with Length 0, or a known type with the wrong Length.
    """
    options: list[NDPOption] = []
    i, end = 0, len(data)
    while i < end:
        kind = data[i]
        if i + 1 >= end:
            raise TruncatedError("ndp", "option_length", f"option type {kind} at offset {i} has no length byte")
        units = data[i + 1]
        if units == 0:
            raise WireError("ndp", "option_length", f"option type {kind} at offset {i} has length 0")
        length = units * 8
        if i + length > end:
            raise TruncatedError(
                "ndp", "option_length", f"option type {kind} at offset {i} is {length} bytes, only {end - i} left"
            )
        want = _KNOWN_LENGTH.get(kind)
        if want is not None and units != want:
            raise WireError(
                "ndp", "option_length", f"option type {kind} must have length {want} ({want * 8} bytes), not {units}"
            )
        if kind == 1:
            options.append(NDPSourceLinkLayerAddress(mac_from_packed(bytes(data[i + 2 : i + 8]))))
        elif kind == 2:
            options.append(NDPTargetLinkLayerAddress(mac_from_packed(bytes(data[i + 2 : i + 8]))))
        elif kind == 3:
            _, _, prefix_length, flags, valid, preferred, reserved2, prefix = _PREFIX.unpack_from(data, i)
            options.append(NDPPrefixInformation(
                IPv6Address(prefix), prefix_length, bool(flags & 0x80), bool(flags & 0x40), valid, preferred,
                flags & 0x3F, reserved2,
            ))
        elif kind == 5:
            _, _, reserved, mtu = _MTU.unpack_from(data, i)
            options.append(NDPMTU(mtu, reserved))
        else:
            options.append(NDPUnknownOption(kind, bytes(data[i + 2 : i + length])))
        i += length
    return tuple(options)


def ndp_options_to_bytes(options: tuple[NDPOption, ...]) -> bytes:
    return b"".join([option.to_bytes() for option in options])
