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
from netsim.wire._fields import is_bytes, need, optional_u16, trusted_constructor, u16
from netsim.wire.checksum import checksum_excluding, finish, pseudo_header_sum, sum16

_HEADER = struct.Struct("!HHHH")
IPAddress = IPv4Address | IPv6Address


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
        pseudo = pseudo_header_sum(src, dst, 17, len(data)) if src is not None and dst is not None else None
        return _decode(data, pseudo, verify, src is not None and src.version == 6)

    def to_bytes(self, *, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        """Encode; the checksum (when ``None``) needs the pseudo-header addresses ``src``/``dst``."""
        if self.checksum is None and (src is None or dst is None):
            raise ValueError("computing the UDP checksum needs src and dst (the pseudo-header)")
        return self._encode(0 if src is None or dst is None else pseudo_header_sum(src, dst, 17, 0))

    def _encode(self, pseudo: int) -> bytes:
        """Encode with the pseudo-header's sum known, less the UDP length (added here)."""
        length = 8 + len(self.payload)
        if length > 0xFFFF:
            raise ValueError(f"a UDP datagram is at most 65535 bytes, this one is {length}")
        checksum = self.checksum
        if checksum is None:
            header = _HEADER.pack(self.src_port, self.dst_port, length, 0)
            # RFC 768: a computed zero is sent as all ones (zero means "no checksum")
            checksum = finish(sum16(self.payload) + sum16(header) + pseudo + length) or 0xFFFF
        return _HEADER.pack(self.src_port, self.dst_port, length, checksum) + self.payload

_make_datagram = trusted_constructor(UDPDatagram)


def _decode(data: bytes, pseudo: int | None, verify: bool, over_ipv6: bool) -> UDPDatagram:
    """Decode with the pseudo-header's unreduced sum already known (``None``: no addresses)."""
    need(data, 8, "udp", "header")
    sport, dport, length, checksum = _HEADER.unpack_from(data)
    if length < 8:
        raise WireError("udp", "length", f"length {length} is below the 8-byte header")
    if length > len(data):
        raise TruncatedError("udp", "length", f"length {length} > {len(data)} bytes available")
    if length < len(data):
        raise WireError("udp", "length", f"length {length} < {len(data)} bytes given")
    stored: int | None = checksum
    if pseudo is not None:
        expected = checksum_excluding(data, 6, pseudo) or 0xFFFF  # RFC 768: 0 is sent as all ones
        if checksum == expected:
            stored = None
        elif verify and (checksum != 0 or over_ipv6):
            raise ChecksumError("udp", "checksum", f"checksum {checksum:#06x}, computed {expected:#06x}")
    return _make_datagram(sport, dport, bytes(data[8:]), stored)
