"""UDP datagrams (RFC 768), checksummed over the IPv4 or IPv6 pseudo-header.

::

    0      7 8     15 16    23 24    31
    +--------+--------+--------+--------+
    |   Source Port   |   Dest Port     |
    +--------+--------+--------+--------+
    |     Length      |    Checksum     |
    +--------+--------+--------+--------+

Length is derived.  A computed checksum of 0 is sent as 0xFFFF (RFC 768); a received 0 means
"no checksum", which IPv4 allows and IPv6 forbids (RFC 8200 §8.1).  ``checksum`` follows the
convention of every codec here: ``None`` means "the correct value".  The pseudo-header addresses
come in as ``src``/``dst`` keywords; without them a checksum can be neither computed nor checked.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

import attrs

from netsim.errors import ChecksumError, TruncatedError, WireError
from netsim.wire._fields import is_bytes, need, optional_u16, u16
from netsim.wire.checksum import checksum_excluding, internet_checksum, pseudo_header_sum

_HEADER = struct.Struct("!HHHH")
IPAddress = IPv4Address | IPv6Address


def _expected(data: bytes, src: IPAddress, dst: IPAddress) -> int:
    value = checksum_excluding(data, 6, pseudo_header_sum(src, dst, 17, len(data)))
    return value or 0xFFFF


@attrs.frozen
class UDPDatagram:
    src_port: int = attrs.field(validator=u16)
    dst_port: int = attrs.field(validator=u16)
    payload: bytes = attrs.field(default=b"", validator=is_bytes)
    checksum: int | None = attrs.field(default=None, validator=optional_u16)

    HEADER_LEN: ClassVar[int] = 8

    @classmethod
    def parse(
        cls,
        data: bytes,
        *,
        src: IPAddress | None = None,
        dst: IPAddress | None = None,
        verify: bool = False,
        decode: bool = True,
    ) -> UDPDatagram:
        """Decode one whole datagram (``len(data)`` must equal its Length field).

        Raises:
            TruncatedError, WireError: bad length field.
            ChecksumError: with ``verify`` and the addresses, a wrong checksum, or a zero
                checksum over IPv6.
        """
        need(data, 8, "udp", "header")
        sport, dport, length, checksum = _HEADER.unpack_from(data)
        if length < 8:
            raise WireError("udp", "length", f"length {length} is below the 8-byte header")
        if length > len(data):
            raise TruncatedError("udp", "length", f"length {length} > {len(data)} bytes available")
        if length < len(data):
            raise WireError("udp", "length", f"length {length} < {len(data)} bytes given")
        stored: int | None = checksum
        if src is not None and dst is not None:
            expected = _expected(data, src, dst)
            if checksum == expected:
                stored = None
            elif verify and (checksum != 0 or src.version == 6):
                raise ChecksumError("udp", "checksum", f"checksum {checksum:#06x}, computed {expected:#06x}")
        return cls(sport, dport, bytes(data[8:]), stored)

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        length = 8 + len(self.payload)
        if length > 0xFFFF:
            raise ValueError(f"a UDP datagram is at most 65535 bytes, this one is {length}")
        checksum = self.checksum
        if checksum is None:
            if src is None or dst is None:
                raise ValueError("computing the UDP checksum needs src and dst (the pseudo-header)")
            partial = _HEADER.pack(self.src_port, self.dst_port, length, 0) + self.payload
            checksum = internet_checksum(partial, pseudo_header_sum(src, dst, 17, length)) or 0xFFFF
            return partial[:6] + checksum.to_bytes(2, "big") + partial[8:]
        return _HEADER.pack(self.src_port, self.dst_port, length, checksum) + self.payload
