"""SYN cookies (RFC 4987 §3.6), encoded as Linux's ``secure_tcp_syn_cookie`` does.

The server answers a SYN without keeping state: its ISN *is* the state.

    cookie = H1(4-tuple) + ISN_client + (count << 24) + ((H2(4-tuple, count) + mss_index) mod 2^24)

``count`` is a minute counter; a returning ACK (ack - 1 = cookie) is valid when the counter it
carries is at most ``MAX_AGE`` minutes old (Linux: 2) and the decoded MSS index is in the
table.  The MSS is one of four values (Linux's ``msstab``: 536, 1300, 1440, 1460), the largest
not above the client's MSS; window scaling and SACK are lost unless carried in the timestamp,
which netsim, like Linux, does when both sides use timestamps (the low 6 bits of TSval:
4 bits of window scale, 1 of SACK; ``cookie_init_timestamp``).  H1 and H2 are keyed BLAKE2b
hashes with two secrets drawn from the host's random stream.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv6Address

MSS_TABLE = (536, 1300, 1440, 1460)
MAX_AGE = 2  # minutes (MAX_SYNCOOKIE_AGE)
_MINUTE = 60_000_000_000
_MASK24 = (1 << 24) - 1

Address = IPv4Address | IPv6Address


def _hash(secret: bytes, saddr: Address, daddr: Address, sport: int, dport: int, count: int) -> int:
    material = b"".join((saddr.packed, daddr.packed, sport.to_bytes(2, "big"), dport.to_bytes(2, "big"),
                         count.to_bytes(4, "big")))
    return int.from_bytes(hashlib.blake2b(material, key=secret, digest_size=4).digest(), "big")


class SynCookies:
    """Cookie encoding and checking with one host's secrets."""

    __slots__ = ("_secret1", "_secret2")

    def __init__(self, secret1: bytes, secret2: bytes) -> None:
        self._secret1, self._secret2 = secret1, secret2

    @staticmethod
    def mss_index(mss: int) -> int:
        """The largest table entry not above the client's MSS (index 0 when below them all)."""
        index = 0
        for i, value in enumerate(MSS_TABLE):
            if value <= mss:
                index = i
        return index

    def make(self, saddr: Address, daddr: Address, sport: int, dport: int, client_isn: int, mss: int,
             now: int) -> tuple[int, int]:
        """(ISN to send, MSS it encodes) for a SYN from saddr:sport to daddr:dport."""
        count = (now // _MINUTE) & 0xFF
        index = self.mss_index(mss)
        h1 = _hash(self._secret1, saddr, daddr, sport, dport, 0)
        h2 = _hash(self._secret2, saddr, daddr, sport, dport, count)
        cookie = (h1 + client_isn + (count << 24) + ((h2 + index) & _MASK24)) & 0xFFFFFFFF
        return cookie, MSS_TABLE[index]

    def check(self, saddr: Address, daddr: Address, sport: int, dport: int, client_isn: int, cookie: int,
              now: int) -> int | None:
        """The MSS a returning ACK's cookie (its ack - 1) encodes, or None when it is not valid.

        ``client_isn`` is the ACK's seq - 1 (the client's ISN, since the ACK carries no data
        beyond it — data on the third packet is allowed and does not change this)."""
        h1 = _hash(self._secret1, saddr, daddr, sport, dport, 0)
        value = (cookie - h1 - client_isn) & 0xFFFFFFFF
        count_now = (now // _MINUTE) & 0xFF
        count = value >> 24
        if ((count_now - count) & 0xFF) > MAX_AGE:
            return None
        h2 = _hash(self._secret2, saddr, daddr, sport, dport, count)
        index = (value - h2) & _MASK24
        return MSS_TABLE[index] if index < len(MSS_TABLE) else None


def encode_timestamp_options(tsval: int, wscale: int | None, sack: bool) -> int:
    """TSval with the SYN's options in its low 6 bits (Linux ``cookie_init_timestamp``): 4 bits
    of window scale (0xF: none), 1 bit SACK; the value is bumped so it never goes backwards."""
    options = (wscale if wscale is not None else 0xF) | (0x10 if sack else 0)
    candidate = (tsval & ~0x3F) | options
    if candidate > tsval & 0xFFFFFFFF:
        candidate -= 0x40
    return candidate & 0xFFFFFFFF


def decode_timestamp_options(tsecr: int) -> tuple[int | None, bool]:
    """(window scale or None, SACK permitted) from an echoed cookie timestamp."""
    wscale = tsecr & 0xF
    return (None if wscale == 0xF else wscale), bool(tsecr & 0x10)
