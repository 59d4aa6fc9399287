"""TCP segments (RFC 9293 §3.1), checksummed over the IPv4 or IPv6 pseudo-header.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |          Source Port          |       Destination Port        |
    |                        Sequence Number                        |
    |                    Acknowledgment Number                      |
    |  Data |     |A|C|E|U|A|P|R|S|F|                               |
    | Offset| Rsrv|E|W|C|R|C|S|S|Y|I|            Window             |
    |       |     | |R|E|G|K|H|T|N|N|                               |
    |           Checksum            |         Urgent Pointer        |
    |                    Options                    |    Padding    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Nine flags: the eight of RFC 9293 plus AE (RFC 9768, the former NS bit of RFC 3540).  Data
Offset is derived from ``options``, whose encoded length must be a multiple of 4 (use
:func:`pad_options`).  ``checksum`` is ``None`` for "the correct value", as in every codec here.
"""

from __future__ import annotations

import enum
import struct
from ipaddress import IPv4Address, IPv6Address
from typing import Any, ClassVar, Final, final

from netsim.errors import ChecksumError, TruncatedError, WireError
from netsim.wire._fields import check_bytes, check_uint
from netsim.wire.checksum import pseudo_header_sum, sum16
from netsim.wire.tcp_options import OPTION_TYPES, TCPOption, WireValue, options_to_bytes, parse_options

_HEADER = struct.Struct("!HHIIHHHH")
IPAddress = IPv4Address | IPv6Address


class TCPFlags(enum.IntFlag):
    FIN = 0x001
    SYN = 0x002
    RST = 0x004
    PSH = 0x008
    ACK = 0x010
    URG = 0x020
    ECE = 0x040
    CWR = 0x080
    AE = 0x100


_FLAG_LETTERS = (
    (0x002, "S"), (0x001, "F"), (0x004, "R"), (0x008, "P"), (0x010, "."),
    (0x020, "U"), (0x040, "E"), (0x080, "W"), (0x100, "A"),
)


def flags_text(flags: int) -> str:
    """Flags as tcpdump prints them: ``S``, ``S.``, ``P.``, ``F.``, ``R``, ``.`` ..."""
    return "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit) or "none"


def _check_options(value: object) -> None:
    if type(value) is not tuple:
        raise ValueError(f"options must be a tuple, got {value!r}")
    if not value:
        return
    for option in value:
        if type(option) not in OPTION_TYPES:
            raise ValueError(f"not a TCP option: {option!r}")
    length = len(options_to_bytes(value))
    if length % 4 or length > 40:
        raise ValueError(f"options take {length} bytes; they must take a multiple of 4, at most 40 (see pad_options)")


_FIELDS = ("src_port", "dst_port", "seq", "ack", "flags", "window", "urgent", "options", "payload", "checksum",
           "reserved")


@final
class TCPSegment(WireValue):
    """One segment: a value (see WireValue), compared, hashed and printed by its fields, which
    are Final (the compiled build refuses to assign them; use :meth:`evolve`); compiled, the
    engine builds one without a Python call.  ``_trusted``: the caller's fields are in range by
    construction (the engine's, a parser's), so nothing is checked."""

    __slots__ = _FIELDS
    __match_args__: ClassVar[tuple[str, ...]] = _FIELDS
    MIN_HEADER_LEN: ClassVar[int] = 20

    def __init__(self, src_port: Any, dst_port: Any, seq: Any = 0, ack: Any = 0, flags: Any = 0, window: Any = 0,
                 urgent: Any = 0, options: Any = (), payload: Any = b"", checksum: Any = None, reserved: Any = 0,
                 *, _trusted: bool = False) -> None:
        if not _trusted:
            check_uint("src_port", src_port, 0xFFFF)
            check_uint("dst_port", dst_port, 0xFFFF)
            check_uint("seq", seq, 0xFFFFFFFF)
            check_uint("ack", ack, 0xFFFFFFFF)
            if not isinstance(flags, int) or isinstance(flags, bool) or not 0 <= flags <= 0x1FF:
                raise ValueError(f"flags must be TCPFlags or an int in 0..511, got {flags!r}")
            check_uint("window", window, 0xFFFF)
            check_uint("urgent", urgent, 0xFFFF)
            _check_options(options)
            check_bytes("payload", payload)
            if checksum is not None and (type(checksum) is not int or not 0 <= checksum <= 0xFFFF):
                raise ValueError(f"checksum must be None or an int in 0..65535, got {checksum!r}")
            check_uint("reserved", reserved, 7)
        self.src_port: Final[int] = src_port
        self.dst_port: Final[int] = dst_port
        self.seq: Final[int] = seq
        self.ack: Final[int] = ack
        self.flags: Final[int] = flags
        self.window: Final[int] = window
        self.urgent: Final[int] = urgent
        self.options: Final[tuple[TCPOption, ...]] = options
        self.payload: Final[bytes] = payload
        self.checksum: Final[int | None] = checksum
        self.reserved: Final[int] = reserved

    def _values(self) -> tuple[Any, ...]:
        return (self.src_port, self.dst_port, self.seq, self.ack, self.flags, self.window, self.urgent,
                self.options, self.payload, self.checksum, self.reserved)

    @property
    def header_len(self) -> int:
        return 20 + len(options_to_bytes(self.options))

    @property
    def seg_len(self) -> int:
        """SEG.LEN of RFC 9293: payload bytes plus one for SYN and one for FIN."""
        return len(self.payload) + (self.flags & 2 != 0) + (self.flags & 1)

    @classmethod
    def parse(
        cls,
        data: bytes | memoryview,
        *,
        src: IPAddress | None = None,
        dst: IPAddress | None = None,
        verify: bool = False,
        decode: bool = True,
    ) -> TCPSegment:
        """Decode one whole segment (the rest of the IP payload).

        Raises:
            TruncatedError: fewer bytes than 20 or than Data Offset says.
            WireError: Data Offset below 5, or a malformed option.
            ChecksumError: with ``verify`` and the addresses, a wrong checksum.
        """
        pseudo = pseudo_header_sum(src, dst, 6, len(data)) if src is not None and dst is not None else None
        return _decode(data, pseudo, verify)

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        """Encode; the checksum (when ``None``) needs the pseudo-header addresses ``src``/``dst``."""
        if self.checksum is None and (src is None or dst is None):
            raise ValueError("computing the TCP checksum needs src and dst (the pseudo-header)")
        return self._encode(0 if src is None or dst is None else pseudo_header_sum(src, dst, 6, 0))

    def _encode(self, pseudo: int) -> bytes:
        """Encode with the pseudo-header's sum known, less the TCP length (added here)."""
        options = options_to_bytes(self.options) if self.options else b""
        hlen = 20 + len(options)
        checksum = self.checksum
        payload = self.payload
        if checksum is None:
            # The header is an even number of bytes, so the segment's sum is the header's plus the
            # payload's (RFC 1071 §2(B)): no need to join them before summing.
            header = _HEADER.pack(
                self.src_port, self.dst_port, self.seq, self.ack,
                (hlen << 10) | (self.reserved << 9) | self.flags, self.window, 0, self.urgent,
            ) + options
            size = len(payload)
            # never all zeros (the pseudo-header holds the protocol), so 0 means 0xFFFF
            folded = (sum16(payload) + int.from_bytes(header, "big") + pseudo + hlen + size) % 0xFFFF
            checksum = ~(folded or 0xFFFF) & 0xFFFF
            return b"".join((header[:16], checksum.to_bytes(2, "big"), header[18:], payload))
        header = _HEADER.pack(
            self.src_port, self.dst_port, self.seq, self.ack,
            (hlen << 10) | (self.reserved << 9) | self.flags, self.window, checksum, self.urgent,
        )
        return b"".join((header, options, payload))


def _make_segment(src_port: int, dst_port: int, seq: int, ack: int, flags: int, window: int, urgent: int,
                  options: tuple[TCPOption, ...], payload: bytes, checksum: int | None, reserved: int) -> TCPSegment:
    """A segment whose fields are in range by construction (a parser's, the engine's)."""
    return TCPSegment(src_port, dst_port, seq, ack, flags, window, urgent, options, payload, checksum, reserved,
                      _trusted=True)


def _decode(view: bytes | memoryview, pseudo: int | None, verify: bool) -> TCPSegment:
    """Decode with the pseudo-header's unreduced sum already known (``None``: no addresses).
    (A memoryview, as the IPv6 decoder passes, is copied once: the payload is a copy anyway.)"""
    data = view if type(view) is bytes else bytes(view)
    size = len(data)
    if size < 20:
        raise TruncatedError("tcp", "header", f"needs 20 bytes, only {size} available")
    sport, dport, seq, ack, off_flags, window, checksum, urgent = _HEADER.unpack_from(data)
    hlen = (off_flags >> 12) * 4
    if hlen < 20:
        raise WireError("tcp", "data_offset", f"data offset is {hlen // 4}, below the minimum of 5")
    if size < hlen:
        raise TruncatedError("tcp", "options", f"needs {hlen} bytes, only {size} available")
    stored: int | None = checksum
    if pseudo is not None:
        # checksum_excluding(data, 16, pseudo), inlined: this runs for every segment received
        # (the field sits at an even offset, so its weight in the sum is 1)
        expected = ~(((sum16(data) + pseudo - checksum) % 0xFFFF) or 0xFFFF) & 0xFFFF
        if checksum == expected:
            stored = None
        elif verify and not (expected == 0 and checksum == 0xFFFF):
            raise ChecksumError("tcp", "checksum", f"checksum {checksum:#06x}, computed {expected:#06x}")
    options = parse_options(data[20:hlen]) if hlen > 20 else ()
    return _make_segment(
        sport, dport, seq, ack, off_flags & 0x1FF, window, urgent, options,
        data[hlen:], stored, (off_flags >> 9) & 7,
    )
