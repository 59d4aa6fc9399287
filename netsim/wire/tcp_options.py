"""TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018), one small value class per kind.

Known kinds with a wrong length are malformed (a :class:`WireError`), as Wireshark flags them;
kinds netsim does not know are kept verbatim as :class:`TCPOptionUnknown`.  End of Option List
keeps whatever follows it in the option area as ``padding``, so an option area always
round-trips byte for byte.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar, Final, Self, final

from netsim.errors import WireError
from netsim.wire._fields import check_bytes, check_uint

_KNOWN_KINDS = frozenset({0, 1, 2, 3, 4, 5, 8})


class WireValue:
    """What TCPSegment and the option classes share: equality, hash and ``repr`` by value over
    the fields ``__match_args__`` names (``_values()`` gives them in that order), pickling, and
    :meth:`evolve`.  They are hand-written rather than attrs classes so that the compiled build
    makes them native (the engine reads their fields as C struct members); their fields are Final,
    which the compiled build enforces."""

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, WireValue):
            return NotImplemented
        return self._values() == other._values()

    def __ne__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, WireValue):
            return NotImplemented
        return self._values() != other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(self.__match_args__, self._values(), strict=True))
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), self._values()

    def evolve(self, **changes: Any) -> Self:
        """A copy with ``changes`` (field name to value), validated as a new value is."""
        values = dict(zip(self.__match_args__, self._values(), strict=True))
        for name in changes:
            if name not in values:
                raise TypeError(f"{type(self).__name__} has no field {name!r}")
        values.update(changes)
        return type(self)(**values)


class _Option(WireValue):
    """A TCP option: a value that encodes itself."""

    __slots__ = ()

    def to_bytes(self) -> bytes:
        raise NotImplementedError


@final
class TCPOptionEOL(_Option):
    """Kind 0. Everything after it in the option area is ``padding`` (normally zeros)."""

    __slots__ = ("padding",)
    __match_args__ = ("padding",)

    def __init__(self, padding: Any = b"") -> None:
        check_bytes("padding", padding)
        self.padding: Final[bytes] = padding

    def _values(self) -> tuple[Any, ...]:
        return (self.padding,)

    def to_bytes(self) -> bytes:
        return b"\x00" + self.padding


@final
class TCPOptionNOP(_Option):
    """Kind 1, used to align the next option."""

    __slots__ = ()

    def to_bytes(self) -> bytes:
        return b"\x01"


@final
class TCPOptionMSS(_Option):
    """Kind 2: the largest segment the sender is willing to receive (SYN only)."""

    __slots__ = ("mss",)
    __match_args__ = ("mss",)

    def __init__(self, mss: Any) -> None:
        check_uint("mss", mss, 0xFFFF)
        self.mss: Final[int] = mss

    def _values(self) -> tuple[Any, ...]:
        return (self.mss,)

    def to_bytes(self) -> bytes:
        return struct.pack("!BBH", 2, 4, self.mss)


@final
class TCPOptionWindowScale(_Option):
    """Kind 3 (RFC 7323 §2): the shift count; values above 14 are on the wire but clamped by receivers."""

    __slots__ = ("shift",)
    __match_args__ = ("shift",)

    def __init__(self, shift: Any) -> None:
        check_uint("shift", shift, 0xFF)
        self.shift: Final[int] = shift

    def _values(self) -> tuple[Any, ...]:
        return (self.shift,)

    def to_bytes(self) -> bytes:
        return bytes((3, 3, self.shift))


@final
class TCPOptionSACKPermitted(_Option):
    """Kind 4 (RFC 2018 §2), on SYNs."""

    __slots__ = ()

    def to_bytes(self) -> bytes:
        return b"\x04\x02"


def _check_blocks(value: object) -> None:
    if type(value) is not tuple or not 1 <= len(value) <= 4:
        raise ValueError(f"SACK blocks must be a tuple of 1 to 4 (left, right) pairs, got {value!r}")
    for block in value:
        if (
            type(block) is not tuple
            or len(block) != 2
            or not all(type(edge) is int and 0 <= edge <= 0xFFFFFFFF for edge in block)
        ):
            raise ValueError(f"a SACK block is a pair of 32-bit sequence numbers, got {block!r}")


@final
class TCPOptionSACK(_Option):
    """Kind 5 (RFC 2018 §3): up to four (left edge, right edge) blocks of received data."""

    __slots__ = ("blocks",)
    __match_args__ = ("blocks",)

    def __init__(self, blocks: Any, *, _trusted: bool = False) -> None:
        if not _trusted:  # (the engine's own blocks, in range by construction, skip the check)
            _check_blocks(blocks)
        self.blocks: Final[tuple[tuple[int, int], ...]] = blocks

    def _values(self) -> tuple[Any, ...]:
        return (self.blocks,)

    def to_bytes(self) -> bytes:
        out = bytes((5, 2 + 8 * len(self.blocks)))
        for left, right in self.blocks:
            out += struct.pack("!II", left, right)
        return out


@final
class TCPOptionTimestamps(_Option):
    """Kind 8 (RFC 7323 §3): TSval and TSecr."""

    __slots__ = ("tsval", "tsecr")
    __match_args__ = ("tsval", "tsecr")

    def __init__(self, tsval: Any, tsecr: Any = 0) -> None:
        if (type(tsval) is not int or type(tsecr) is not int
                or not 0 <= tsval <= 0xFFFFFFFF or not 0 <= tsecr <= 0xFFFFFFFF):
            check_uint("tsval", tsval, 0xFFFFFFFF)
            check_uint("tsecr", tsecr, 0xFFFFFFFF)
        self.tsval: Final[int] = tsval
        self.tsecr: Final[int] = tsecr

    def _values(self) -> tuple[Any, ...]:
        return (self.tsval, self.tsecr)

    def to_bytes(self) -> bytes:
        return struct.pack("!BBII", 8, 10, self.tsval, self.tsecr)


@final
class TCPOptionUnknown(_Option):
    """Any other kind, kept as its data bytes (the length byte is derived)."""

    __slots__ = ("kind", "data")
    __match_args__ = ("kind", "data")

    def __init__(self, kind: Any, data: Any = b"") -> None:
        check_uint("kind", kind, 0xFF)
        if kind in _KNOWN_KINDS:
            raise ValueError(f"option kind {kind} has its own class")
        if type(data) is not bytes or len(data) > 38:
            raise ValueError(f"option data must be bytes of at most 38, got {data!r}")
        self.kind: Final[int] = kind
        self.data: Final[bytes] = data

    def _values(self) -> tuple[Any, ...]:
        return (self.kind, self.data)

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
        if length > 40:  # (only an area handed in alone can be longer than a header's 40 bytes)
            raise WireError("tcp", "options", f"option kind {kind} at offset {i} is {length} bytes long, "
                                              "more than an option area holds (40)")
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


