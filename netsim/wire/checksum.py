"""The internet checksum (RFC 1071) and its incremental update (RFC 1624).

The one's-complement sum of 16-bit words equals the bytes read as one big-endian integer taken
modulo 0xFFFF, because 2**16 = 1 (mod 0xFFFF).  ``int.from_bytes`` plus one big-int remainder
runs in C and is several times faster in CPython than unpacking and adding words.  The only
care needed is one's-complement zero: a sum of words that are not all zero is never +0, so a
remainder of 0 means 0xFFFF ("negative zero"), as an end-around-carry adder would produce.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

__all__ = [
    "checksum_excluding",
    "checksum_update",
    "checksum_update_bytes",
    "internet_checksum",
    "ones_sum",
    "pseudo_header_sum",
]


def ones_sum(data: bytes, initial: int = 0) -> int:
    """Return ``initial`` plus the data as an integer, to be folded by :func:`fold`.

    An odd-length buffer is padded with one zero byte at the end, as RFC 1071 says.  The result
    is an unreduced integer; only its value modulo 0xFFFF matters.
    """
    value = int.from_bytes(data, "big")
    if len(data) & 1:
        value <<= 8
    return value + initial


def fold(total: int) -> int:
    """Reduce an unreduced sum from :func:`ones_sum` to a 16-bit one's-complement sum."""
    folded = total % 0xFFFF
    if folded == 0 and total != 0:
        return 0xFFFF
    return folded


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """The RFC 1071 checksum of ``data`` (plus an unreduced pseudo-header sum ``initial``).

    Computed over a header whose checksum field holds the transmitted value, the result is 0
    exactly when that value verifies.
    """
    value = int.from_bytes(data, "big")
    if len(data) & 1:
        value <<= 8
    total = value + initial
    folded = total % 0xFFFF
    if folded == 0 and total != 0:
        folded = 0xFFFF
    return ~folded & 0xFFFF


def pseudo_header_sum(
    src: IPv4Address | IPv6Address, dst: IPv4Address | IPv6Address, protocol: int, length: int
) -> int:
    """Unreduced sum of the IPv4 (RFC 9293 §3.1) or IPv6 (RFC 8200 §8.1) pseudo-header.

    Both layouts reduce to the same words: the addresses, the upper-layer length and the
    protocol/next-header number (zero padding adds nothing to a one's-complement sum).
    """
    if src.version == 4:
        return (int(src) >> 16) + (int(src) & 0xFFFF) + (int(dst) >> 16) + (int(dst) & 0xFFFF) + protocol + length
    return int(src) + int(dst) + length + protocol


def checksum_update(checksum: int, old_word: int, new_word: int) -> int:
    """RFC 1624 eqn. 3: the new checksum after one 16-bit word changes, ``HC' = ~(~HC + ~m + m')``.

    Used by NAT to rewrite addresses and ports without summing the whole packet again.
    """
    total = (~checksum & 0xFFFF) + (~old_word & 0xFFFF) + new_word
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def checksum_update_bytes(checksum: int, old: bytes, new: bytes) -> int:
    """:func:`checksum_update` for an even-length field (an address, a port) replaced in place."""
    if len(old) != len(new) or len(old) & 1:
        raise ValueError("checksum_update_bytes needs two fields of the same even length")
    total = (~checksum & 0xFFFF) + ~fold(ones_sum(old)) % 0x10000 + ones_sum(new)
    folded = total % 0xFFFF
    if folded == 0 and total != 0:
        folded = 0xFFFF
    return ~folded & 0xFFFF


def checksum_excluding(data: bytes, offset: int, initial: int = 0) -> int:
    """The checksum of ``data`` as if its 16-bit checksum field at ``offset`` were zero.

    Parsers use it to compute the correct value of a received header in one pass, without
    copying the buffer to zero the field: the field's contribution is subtracted from the
    big integer before the remainder is taken.
    """
    size = len(data)
    value = int.from_bytes(data, "big")
    if size & 1:
        value <<= 8
        size += 1
    value -= ((data[offset] << 8) | data[offset + 1]) << (8 * (size - offset - 2))
    total = value + initial
    folded = total % 0xFFFF
    if folded == 0 and total != 0:
        folded = 0xFFFF
    return ~folded & 0xFFFF
