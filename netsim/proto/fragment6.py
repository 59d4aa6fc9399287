"""IPv6 fragmentation at the source and reassembly at the destination (RFC 8200 §4.5), with
Linux's rules and limits.

Only the source fragments (routers answer Packet Too Big instead, RFC 8200 §5).  Linux's
``ip6_fragment``: the unfragmentable part is the IPv6 header and the extension headers that
routers on the way must see (``ip6_find_1stfragopt``: Hop-by-Hop, Routing, and Destination
Options before a Routing header); each fragment repeats it, then an 8-byte Fragment header,
then as much of the rest as the MTU allows — a multiple of 8 bytes but for the last piece,
``(mtu - unfragmentable - 8) & ~7`` (so over a 1500-byte link 1448 bytes a fragment, with
only the IPv6 header in front).  A datagram that fits is never given a Fragment header: no
atomic fragments (RFC 8021; Linux stopped making them in 4.9).  The identification is the
caller's: Linux draws a random non-zero 32 bits for each datagram (``ipv6_select_ident``,
``get_random_u32_above(0)`` since 5.15; RFC 7739 §5).

Reassembly follows Linux's ``ipv6_frag_rcv`` and ``ip6_frag_queue``, with the machinery shared
with IPv4 (:class:`netsim.proto.fragment.Reassembler`, Linux's ``inet_fragment.c``):

- an atomic fragment (offset 0, M clear) is no fragment: the packet is processed at once
  without its Fragment header (RFC 6946 §4), whatever datagrams are being reassembled;
- a first fragment that does not hold the whole header chain through the upper-layer header
  (20 bytes of TCP, 8 of UDP or ICMPv6, 1 of anything else) is discarded and answered with
  Parameter Problem code 3, pointer 0 (RFC 7112 §5; RFC 8200 §4.5; Linux since 5.9);
- a datagram is keyed by (source, destination, identification), and the interface when the
  destination is link-local or multicast (``fq_find``);
- a fragment whose data would end past 65535 is answered with Parameter Problem code 0
  pointing at its Fragment Offset field, and a fragment other than the last whose data is not
  a multiple of 8 bytes with Parameter Problem code 0 pointing at its Payload Length field
  (RFC 8200 §4.5); neither ends the datagram;
- overlapping fragments discard the whole datagram silently (RFC 5722 §4; RFC 8200 §4.5), a
  fragment lying wholly in data already held is a duplicate, dropped alone; a last fragment
  whose end disagrees with what is held, data past a known end, or a fragment without data
  discard the datagram;
- a datagram whose Payload Length would pass 65535 once reassembled is discarded, as are
  mixed ECN codepoints (RFC 3168 §5.3);
- a datagram not complete 60 s after its first fragment arrived (``ip6frag_time``) is
  dropped; if its fragment zero had arrived the host sends Time Exceeded code 1 quoting that
  fragment (RFC 8200 §4.5);
- above 4 MiB held (``ip6frag_high_thresh``) no fragment is taken (Linux counts truesize,
  netsim the fragment's length on the wire).

Each refusal is counted in :attr:`IPv6Reassembler.drops` and returned as a
:class:`FragmentRefused` for the host to count on its interface: ``frag-incomplete-chain``,
``frag-beyond-65535``, ``frag-not-multiple-of-8``, ``frag-duplicate``, ``frag-overlap``,
``frag-bad-length``, ``frag-empty``, ``frag-oversize``, ``frag-ecn``, ``frag-memory-limit``,
``frag-datagram-limit`` (and ``frag-timeout`` from :meth:`~IPv6Reassembler.on_timer`).
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import ClassVar

import attrs

from netsim.proto.fragment import Reassembler
from netsim.units import S
from netsim.wire.icmpv6 import ICMPv6ParameterProblem, ICMPv6ParameterProblemCode

#: Linux ``net.ipv6.ip6frag_time``
DEFAULT_TIMEOUT = 60 * S

_HOP_BY_HOP, _ROUTING, _FRAGMENT, _AUTH, _NONE, _DESTINATION = 0, 43, 44, 51, 59, 60
_TCP, _UDP, _ICMPV6 = 6, 17, 58
_FRAGMENT_HEADER = struct.Struct("!BBHI")  # next header, reserved, offset|M, identification

#: (source, destination, identification, interface name or "")
IPv6FragmentKey = tuple[IPv6Address, IPv6Address, int, str]


def _unfragmentable_length(datagram: bytes) -> tuple[int, int]:
    """Linux's ``ip6_find_1stfragopt``: where the fragmentable part starts, and the index of
    the Next Header byte before it.  Hop-by-Hop and Routing headers stay in front, and so do
    Destination Options until a Routing header has been seen (those are for the routers the
    Routing header names, RFC 8200 §4.1).  (Mobile IPv6's Home Address option, which Linux also
    keeps in front, is not modelled.)"""
    link, position, routing = 6, 40, False
    while position + 2 <= len(datagram):
        kind = datagram[link]
        if kind == _ROUTING:
            routing = True
        elif kind != _HOP_BY_HOP and not (kind == _DESTINATION and not routing):
            break
        link, position = position, position + (datagram[position + 1] + 1) * 8
    return min(position, len(datagram)), link


def fragment_ipv6(datagram: bytes, mtu: int, identification: int) -> list[bytes]:
    """Cut an encoded IPv6 datagram into fragments of at most ``mtu`` bytes (RFC 8200 §4.5),
    as Linux's ``ip6_fragment`` does; a datagram that fits is returned alone, unchanged.

    Raises:
        ValueError: an MTU that leaves no room for 8 bytes of data after the unfragmentable part
            and the Fragment header (ip6_fragment's "too big"; any link IPv6 runs on has 1280,
            RFC 8200 §5), or an identification that is not 32 bits.
    """
    if not 0 <= identification <= 0xFFFFFFFF:
        raise ValueError(f"a fragment identification is 32 bits, got {identification!r}")
    if len(datagram) <= mtu:
        return [datagram]
    unfragmentable, link = _unfragmentable_length(datagram)
    header = bytearray(datagram[:unfragmentable])
    next_header, header[link] = header[link], _FRAGMENT
    rest = memoryview(datagram)[unfragmentable:]
    room = (mtu - unfragmentable - 8) & ~7
    if room < 8:
        raise ValueError(f"an MTU of {mtu} leaves no room for 8 bytes of data a fragment")
    pieces = []
    for position in range(0, len(rest), room):
        data = rest[position : position + room]
        more = position + room < len(rest)
        header[4:6] = (unfragmentable - 40 + 8 + len(data)).to_bytes(2, "big")
        fragment = _FRAGMENT_HEADER.pack(next_header, 0, position | more, identification)
        pieces.append(b"".join((header, fragment, data)))
    return pieces


def _fragment_header_at(datagram: bytes) -> tuple[int, int]:
    """The offset of the Fragment header, and of the Next Header byte naming it, walking the
    extension headers in front of it."""
    link, position = 6, 40
    while datagram[link] != _FRAGMENT:
        if datagram[link] not in (_HOP_BY_HOP, _ROUTING, _DESTINATION) or position + 2 > len(datagram):
            raise ValueError("no Fragment header in the datagram's header chain")
        link, position = position, position + (datagram[position + 1] + 1) * 8
    if position + 8 > len(datagram):
        raise ValueError("the Fragment header is cut short")
    return position, link


def _header_chain_incomplete(datagram: bytes) -> bool:
    """Linux's ``ipv6frag_thdr_truncated`` on a first fragment (RFC 7112 §5): the extension
    headers skipped as ``ipv6_skip_exthdr`` does (one it cannot read ends the check, and so
    does a later fragment's header or No Next Header), then is the upper-layer header there
    — 20 bytes of TCP, 8 of UDP or ICMPv6, 1 of anything else?"""
    kind, position, size = datagram[6], 40, len(datagram)
    while kind in (_HOP_BY_HOP, _ROUTING, _FRAGMENT, _AUTH, _NONE, _DESTINATION):
        if kind == _NONE or position + 2 > size:
            return False
        if kind == _FRAGMENT:
            if position + 4 > size:
                return False
            if (datagram[position + 2] << 8 | datagram[position + 3]) & ~7:
                return False
            length = 8
        elif kind == _AUTH:
            length = (datagram[position + 1] + 2) << 2
        else:
            length = (datagram[position + 1] + 1) << 3
        kind, position = datagram[position], position + length
    need = {_TCP: 20, _UDP: 8, _ICMPV6: 8}.get(kind, 1)
    return position + need > size


@attrs.frozen
class FragmentRefused:
    """A fragment not taken: why (a key of :attr:`IPv6Reassembler.drops`), and the Parameter
    Problem to answer it with when RFC 8200 §4.5 asks for one (its ``pointer`` counts from the
    start of the fragment; the host adds the quote)."""

    reason: str
    problem: ICMPv6ParameterProblem | None = None


@attrs.define
class IPv6Reassembler(Reassembler[IPv6FragmentKey, bytes]):
    """Puts IPv6 fragments back together (RFC 8200 §4.5, RFC 5722) the way Linux's
    ``ipv6_frag_rcv`` does: see the module docstring.  Fragment zero is kept as the bytes it
    came in, for the Time Exceeded that quotes it."""

    default_timeout: ClassVar[int] = DEFAULT_TIMEOUT

    def on_fragment(self, datagram: bytes, now: int, interface: str = "") -> bytes | FragmentRefused | None:
        """Take one datagram with a Fragment header (``datagram``: the IPv6 header first, whole
        and well formed, as the wire parser checked); the datagram without its Fragment header
        when this completes it (or is an atomic fragment), None while it waits for more.

        Raises:
            ValueError: no Fragment header in ``datagram``'s header chain.
        """
        at, link = _fragment_header_at(datagram)
        word = datagram[at + 2] << 8 | datagram[at + 3]
        offset, more = word & ~7, bool(word & 1)
        if not offset and not more:  # RFC 6946 §4: a whole packet
            return _without_fragment_header(datagram, at, link, datagram[at + 8:], ce=False)
        if not offset and _header_chain_incomplete(datagram):
            self.drops["frag-incomplete-chain"] += 1
            return FragmentRefused("frag-incomplete-chain",
                                   ICMPv6ParameterProblem(ICMPv6ParameterProblemCode.INCOMPLETE_HEADER_CHAIN, 0))
        dst = IPv6Address(datagram[24:40])
        scoped = dst.is_multicast or dst.is_link_local
        key: IPv6FragmentKey = (IPv6Address(datagram[8:24]), dst, int.from_bytes(datagram[at + 4 : at + 8], "big"),
                                interface if scoped else "")
        found = self._find(key, now)
        if isinstance(found, str):
            return FragmentRefused(found)
        data = datagram[at + 8:]
        end = offset + len(data)
        if end > 0xFFFF:
            self.drops["frag-beyond-65535"] += 1
            return FragmentRefused("frag-beyond-65535",
                                   ICMPv6ParameterProblem(ICMPv6ParameterProblemCode.ERRONEOUS_HEADER_FIELD, at + 2))
        if more and end & 7:
            self.drops["frag-not-multiple-of-8"] += 1
            return FragmentRefused("frag-not-multiple-of-8",
                                   ICMPv6ParameterProblem(ICMPv6ParameterProblemCode.ERRONEOUS_HEADER_FIELD, 4))
        found.interface = interface
        reason = self._insert(key, found, offset, data, more, len(datagram), (datagram[1] >> 4) & 3, datagram)
        if reason is not None:
            return FragmentRefused(reason)
        first = found.first
        if first is None or not found.complete:
            return None
        # Linux's ip6_frag_reasm: fragment zero's headers in front of all the data
        first_at, first_link = _fragment_header_at(first)
        payload = self._assemble(key, found, first_at - 40)
        if isinstance(payload, str):
            return FragmentRefused(payload)
        return _without_fragment_header(first, first_at, first_link, payload, ce=found.congestion_experienced)


def _without_fragment_header(datagram: bytes, at: int, link: int, payload: bytes, *, ce: bool) -> bytes:
    """``datagram``'s headers before its Fragment header (at ``at``; ``link``: the Next Header
    byte naming it, which takes the Fragment header's), then ``payload``; the Payload Length to
    match, and the ECN field CE when ``ce`` (RFC 3168 §5.3)."""
    header = bytearray(datagram[:at])
    header[link] = datagram[at]
    header[4:6] = (at - 40 + len(payload)).to_bytes(2, "big")
    if ce:
        header[1] |= 0x30
    return bytes(header) + payload
