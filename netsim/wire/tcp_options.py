"""TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018), one small value class per kind.

Known kinds with a wrong length are malformed (a :class:`WireError`), as Wireshark flags them;
kinds netsim does not know are kept verbatim as :class:`TCPOptionUnknown`.  End of Option List
keeps whatever follows it in the option area as ``padding``, so an option area always
round-trips byte for byte.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs

from netsim.errors import WireError
from netsim.wire._fields import is_bytes, u8, u16, u32

_KNOWN_KINDS = frozenset({0, 1, 2, 3, 4, 5, 8})


@attrs.frozen
class TCPOptionEOL:
    """Kind 0. Everything after it in the option area is ``padding`` (normally zeros)."""

    padding: bytes = attrs.field(default=b"", validator=is_bytes)

    def to_bytes(self) -> bytes:
        return b"\x00" + self.padding


@attrs.frozen
class TCPOptionNOP:
    """Kind 1, used to align the next option."""

    def to_bytes(self) -> bytes:
        return b"\x01"


@attrs.frozen
class TCPOptionMSS:
    """Kind 2: the largest segment the sender is willing to receive (SYN only)."""

    mss: int = attrs.field(validator=u16)

    def to_bytes(self) -> bytes:
        return struct.pack("!BBH", 2, 4, self.mss)


@attrs.frozen
class TCPOptionWindowScale:
    """Kind 3 (RFC 7323 §2): the shift count; values above 14 are on the wire but clamped by receivers."""

    shift: int = attrs.field(validator=u8)

    def to_bytes(self) -> bytes:
        return bytes((3, 3, self.shift))


@attrs.frozen
class TCPOptionSACKPermitted:
    """Kind 4 (RFC 2018 §2), on SYNs."""

    def to_bytes(self) -> bytes:
        return b"\x04\x02"


def _check_blocks(_inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not tuple or not 1 <= len(value) <= 4:
        raise ValueError(f"SACK blocks must be a tuple of 1 to 4 (left, right) pairs, got {value!r}")
    for block in value:
        if (
            type(block) is not tuple
            or len(block) != 2
            or not all(type(edge) is int and 0 <= edge <= 0xFFFFFFFF for edge in block)
        ):
            raise ValueError(f"a SACK block is a pair of 32-bit sequence numbers, got {block!r}")


@attrs.frozen
class TCPOptionSACK:
    """Kind 5 (RFC 2018 §3): up to four (left edge, right edge) blocks of received data."""

    blocks: tuple[tuple[int, int], ...] = attrs.field(validator=_check_blocks)

    def to_bytes(self) -> bytes:
        out = bytes((5, 2 + 8 * len(self.blocks)))
        for left, right in self.blocks:
            out += struct.pack("!II", left, right)
        return out


@attrs.frozen
class TCPOptionTimestamps:
    """Kind 8 (RFC 7323 §3): TSval and TSecr."""

    tsval: int = attrs.field(validator=u32)
    tsecr: int = attrs.field(default=0, validator=u32)

    def to_bytes(self) -> bytes:
        return struct.pack("!BBII", 8, 10, self.tsval, self.tsecr)


def _check_unknown_kind(_inst: Any, _attribute: Any, value: Any) -> None:
    u8(_inst, _attribute, value)
    if value in _KNOWN_KINDS:
        raise ValueError(f"option kind {value} has its own class")


def _check_unknown_data(_inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not bytes or len(value) > 38:
        raise ValueError(f"option data must be bytes of at most 38, got {value!r}")


@attrs.frozen
class TCPOptionUnknown:
    """Any other kind, kept as its data bytes (the length byte is derived)."""

    kind: int = attrs.field(validator=_check_unknown_kind)
    data: bytes = attrs.field(default=b"", validator=_check_unknown_data)

    def to_bytes(self) -> bytes:
        return bytes((self.kind, 2 + len(self.data))) + self.data


TCPOption = (
    TCPOptionEOL
    | TCPOptionNOP
    | TCPOptionMSS
    | TCPOptionWindowScale
    | TCPOptionSACKPermitted
    | TCPOptionSACK
    | TCPOptionTimestamps
    | TCPOptionUnknown
)
OPTION_TYPES = (
    TCPOptionEOL,
    TCPOptionNOP,
    TCPOptionMSS,
    TCPOptionWindowScale,
    TCPOptionSACKPermitted,
    TCPOptionSACK,
    TCPOptionTimestamps,
    TCPOptionUnknown,
)
NOP = TCPOptionNOP()
_SACK_PERMITTED = TCPOptionSACKPermitted()
_FIXED_LENGTH = {2: 4, 3: 3, 4: 2, 8: 10}


def parse_options(data: bytes) -> tuple[TCPOption, ...]:
    """Decode an option area.

    Raises:
        WireError: an option runs past the area, has a length below 2, or is a known kind
            with the wrong length.
    """
    options: list[TCPOption] = []
    i, end = 0, len(data)
    while i < end:
        kind = data[i]
        if kind == 0:
            options.append(TCPOptionEOL(bytes(data[i + 1 :])))
            break
        if kind == 1:
            options.append(NOP)
            i += 1
            continue
        if i + 1 >= end:
            raise WireError("tcp", "options", f"option kind {kind} at offset {i} has no length byte")
        length = data[i + 1]
        if length < 2 or i + length > end:
            raise WireError("tcp", "options", f"option kind {kind} at offset {i} has bad length {length}")
        want = _FIXED_LENGTH.get(kind)
        if want is not None and length != want:
            raise WireError("tcp", "options", f"option kind {kind} must be {want} bytes long, not {length}")
        if kind == 2:
            options.append(TCPOptionMSS((data[i + 2] << 8) | data[i + 3]))
        elif kind == 8:
            tsval, tsecr = struct.unpack_from("!II", data, i + 2)
            options.append(TCPOptionTimestamps(tsval, tsecr))
        elif kind == 3:
            options.append(TCPOptionWindowScale(data[i + 2]))
        elif kind == 4:
            options.append(_SACK_PERMITTED)
        elif kind == 5:
            if (length - 2) % 8 or not 10 <= length <= 34:
                raise WireError("tcp", "options", f"SACK option length {length} is not 2 + 8n with n in 1..4")
            edges = struct.unpack_from(f"!{(length - 2) // 4}I", data, i + 2)
            options.append(TCPOptionSACK(tuple(zip(edges[::2], edges[1::2], strict=True))))
        else:
            options.append(TCPOptionUnknown(kind, bytes(data[i + 2 : i + length])))
        i += length
    return tuple(options)


_NOP_NOP_TIMESTAMPS = struct.Struct("!4sII")


def options_to_bytes(options: tuple[TCPOption, ...]) -> bytes:
    if len(options) == 3:
        first, second, third = options
        if type(third) is TCPOptionTimestamps and type(first) is TCPOptionNOP and type(second) is TCPOptionNOP:
            # NOP NOP TS: nearly every segment of a connection with timestamps, in one call
            return _NOP_NOP_TIMESTAMPS.pack(b"\x01\x01\x08\x0a", third.tsval, third.tsecr)
    return b"".join([option.to_bytes() for option in options])


def pad_options(options: tuple[TCPOption, ...] | list[TCPOption]) -> tuple[TCPOption, ...]:
    """Append End of Option List and zero padding so the area is a multiple of 4 bytes."""
    length = sum(len(option.to_bytes()) for option in options)
    if length % 4 == 0:
        return tuple(options)
    return (*options, TCPOptionEOL(bytes(3 - length % 4)))


