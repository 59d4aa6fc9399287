"""IPv4 fragmentation (RFC 791 §3.2, RFC 815) and reassembly with Linux's rules and limits.

Fragmentation cuts the payload at multiples of 8 bytes so that each fragment fits the MTU.  The
first fragment keeps every option; later ones carry only the options whose "copied" flag (bit
0x80 of the type) is set, packed and zero-padded to 4 bytes, as RFC 791 describes.  (Linux's
``ip_options_fragment`` instead overwrites the other options with NOPs and keeps the header
size; both are correct, the RFC's gives the later fragments a little more room.)

Reassembly follows Linux's ``ip_defrag`` since the 2018 FragmentSmack rework:

- a datagram is keyed by (source, destination, protocol, identification) (RFC 791 §3.2);
- a fragment lying wholly inside data already held (inside one "run" of fragments that arrived
  back to back, in Linux's terms) is a duplicate: dropped, the datagram kept;
- any other overlap discards the whole datagram (RFC 5722's rule, which Linux applies to IPv4
  too);
- so do a last fragment (MF clear) whose end disagrees with data already held or with an
  earlier last fragment, data beyond a known end, and a fragment with no data; a non-last
  fragment whose length is not a multiple of 8 is trimmed to one;
- a datagram longer than 65535 bytes once reassembled is dropped, as are mixed ECN codepoints
  that RFC 3168 §5.3 forbids (Not-ECT with ECT/CE); CE in any fragment marks the whole;
- a datagram not complete ``timeout`` after its first fragment arrived (``ipfrag_time``, 30 s)
  is dropped; if fragment zero had arrived, the host sends ICMP time exceeded code 1 (RFC 792,
  RFC 1122 §3.3.2);
- when the fragments held take more than ``max_bytes`` (``ipfrag_high_thresh``, 4 MiB),
  further fragments are refused (Linux ≥ 4.17 no longer evicts old datagrams).  Linux counts
  each fragment's ``skb->truesize``; netsim counts its length on the wire.

Not modelled: ``ipfrag_max_dist`` (a datagram re-initialised when 64 other fragments from the
same source arrive in between).

The table of datagrams, its limits and timer, and the placing of each fragment's data are
shared with IPv6 (:class:`Reassembler`, as Linux's ``inet_fragment.c`` serves both; the IPv6
rules are in :mod:`netsim.proto.fragment6`).

Drop reasons are counted in :attr:`IPv4Reassembler.drops`, one count per event (a fragment
refused, or a datagram discarded): ``frag-duplicate``, ``frag-overlap``, ``frag-bad-length``,
``frag-empty``, ``frag-oversize``, ``frag-ecn``, ``frag-timeout``, ``frag-memory-limit``,
``frag-datagram-limit``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from ipaddress import IPv4Address
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from netsim.errors import WireError
from netsim.units import S
from netsim.wire.ipv4 import IPv4Packet

#: RFC 791 §3.2: "Every internet module must be able to forward a datagram of 68 octets
#: without further fragmentation" (a 60-byte header and 8 bytes of data)
MIN_MTU = 68
#: Linux ``net.ipv4.ipfrag_time``
DEFAULT_TIMEOUT = 30 * S
#: Linux ``net.ipv4.ipfrag_high_thresh``
DEFAULT_MAX_BYTES = 4 * 1024 * 1024

_MF = 1
_DF = 2

FragmentKey = tuple[IPv4Address, IPv4Address, int, int]


# --- options -----------------------------------------------------------------------------------


def _scan_options(options: bytes) -> tuple[list[bytes], str | None]:
    """The well-formed options up to End of Option List, and what is wrong after them if
    anything (None when the list is well formed)."""
    found = []
    i, size = 0, len(options)
    while i < size:
        kind = options[i]
        if kind == 0:
            break
        if kind == 1:
            found.append(options[i : i + 1])
            i += 1
            continue
        if i + 1 >= size:
            return found, f"option {kind} at byte {i} has no length"
        length = options[i + 1]
        if length < 2 or i + length > size:
            return found, f"option {kind} at byte {i} has bad length {length}"
        found.append(options[i : i + length])
        i += length
    return found, None


def split_ipv4_options(options: bytes) -> list[bytes]:
    """The options of an IPv4 header, one ``bytes`` per option (RFC 791 §3.1).

    End of Option List (type 0) ends the list (it and the padding after it are not returned);
    No Operation (type 1) is a one-byte option; every other option is type, length, data.

    Raises:
        WireError: an option whose length byte is missing, below 2 or runs past the end.
    """
    found, problem = _scan_options(options)
    if problem is not None:
        raise WireError("ipv4", "options", problem)
    return found


def copied_ipv4_options(options: bytes) -> bytes:
    """The options a non-first fragment carries: those with the copied flag (0x80), zero-padded
    to a multiple of 4 (RFC 791 §3.1, §3.2).  NOPs are not copied (their copied flag is clear).

    Lenient on purpose: a malformed option ends the list, and the well-formed ones before it
    count, so fragmenting a datagram never fails on its options.
    """
    found, _problem = _scan_options(options)
    copied = b"".join(part for part in found if part[0] & 0x80)
    return copied + bytes(-len(copied) % 4)


# --- fragmentation ---------------------------------------------------------------------------


def fragment_ipv4(packet: IPv4Packet, mtu: int) -> list[IPv4Packet]:
    """Cut ``packet`` into fragments whose total length is at most ``mtu`` (RFC 791 §3.2).

    A datagram that fits is returned alone and unchanged.  Otherwise each fragment's data is a
    multiple of 8 bytes (all but the last), its offset counts 8-byte units from the start of
    the original datagram, and MF is set on all but the last — which keeps the MF of
    ``packet``, so an existing fragment is cut into smaller ones correctly.  Identification,
    TTL, DSCP/ECN, protocol and the reserved flag are copied; checksums are recomputed.

    Raises:
        ValueError: ``mtu`` below 68 (RFC 791); DF set on a datagram that does not fit (the
            caller answers ICMP fragmentation needed instead); or an offset plus length past
            65535, which no well-formed fragment has.
    """
    if type(mtu) is not int or mtu < MIN_MTU:
        raise ValueError(f"an MTU below {MIN_MTU} cannot carry IPv4 (RFC 791 §3.2), got {mtu!r}")
    payload = packet.payload_bytes()
    if packet.header_len + len(payload) <= mtu:
        return [packet]
    if packet.flags & _DF:
        raise ValueError("the datagram has DF set and does not fit: send ICMP fragmentation needed instead")
    base = packet.fragment_offset * 8
    if base + len(payload) > 0xFFFF:
        raise ValueError(f"fragment offset {base} plus {len(payload)} bytes runs past 65535")
    later_options = copied_ipv4_options(packet.options)
    kept_flags = packet.flags & ~(_MF | _DF)
    pieces = []
    position, size = 0, len(payload)
    while position < size:
        options = packet.options if position == 0 else later_options
        room = (mtu - 20 - len(options)) & ~7
        end = min(position + room, size)
        last = end == size
        pieces.append(IPv4Packet(
            src=packet.src, dst=packet.dst, protocol=packet.protocol, payload=payload[position:end],
            ttl=packet.ttl, identification=packet.identification,
            flags=kept_flags | (packet.flags & _MF if last else _MF),
            fragment_offset=(base + position) >> 3, dscp=packet.dscp, ecn=packet.ecn, options=options,
        ))
        position = end
    return pieces


# --- reassembly ------------------------------------------------------------------------------

K = TypeVar("K")
F = TypeVar("F")


@attrs.frozen
class ExpiredDatagram(Generic[K, F]):
    """A datagram that timed out before it was complete.

    ``first_fragment`` is its fragment zero if that had arrived — the only case in which the
    host sends ICMP time exceeded, code 1, quoting it (RFC 1122 §3.3.2; RFC 8200 §4.5).
    ``interface``: the name of the interface its last fragment came in on (Linux's ``fq->iif``,
    kept by the IPv6 reassembler only).
    """

    key: K
    first_fragment: F | None
    fragments: int
    received_bytes: int
    expired_at: int
    interface: str = ""

    @property
    def src(self) -> Any:
        return self.key[0]  # type: ignore[index]

    @property
    def dst(self) -> Any:
        return self.key[1]  # type: ignore[index]


@attrs.define
class _Datagram(Generic[F]):
    """One datagram being reassembled: Linux's ``struct ipq`` / ``struct frag_queue``."""

    created_at: int
    expires_at: int
    data: dict[int, bytes] = attrs.Factory(dict)  # start -> bytes; never overlapping
    run_starts: list[int] = attrs.Factory(list)  # Linux's fragment runs, sorted, disjoint
    run_ends: list[int] = attrs.Factory(list)
    length: int = 0  # q.len: the highest end seen, or the total once the last fragment is in
    last_in: bool = False
    first: F | None = None
    meat: int = 0  # bytes held
    memory: int = 0  # bytes accounted against max_bytes
    fragments: int = 0
    ecn: int = 0  # bitmask of ECN codepoints seen: 1 << codepoint
    max_size: int = 0  # largest fragment on the wire
    max_df_size: int = 0  # largest fragment with DF set (IPv4)
    interface: str = ""  # where the last fragment came in (IPv6)

    @property
    def complete(self) -> bool:
        """Fragment zero and the last fragment in, and nothing missing between them."""
        return self.first is not None and self.last_in and self.meat == self.length

    @property
    def congestion_experienced(self) -> bool:
        """CE in any fragment, which marks the whole datagram (RFC 3168 §5.3)."""
        return bool(self.ecn & _CE)


def _non_negative(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative int, got {value!r}")


def _optional_positive(_inst: Any, attribute: Any, value: Any) -> None:
    if value is not None and (type(value) is not int or value <= 0):
        raise ValueError(f"{attribute.name} must be None or a positive int, got {value!r}")


_NOT_ECT, _ECT1, _ECT0, _CE = 1, 2, 4, 8  # 1 << codepoint (RFC 3168: 00, 01, 10, 11)


@attrs.define
class Reassembler(Generic[K, F]):
    """What IPv4 and IPv6 reassembly share, as Linux's ``inet_fragment.c`` does for both: the
    table of datagrams in progress, its limits and timer, and the placing of each fragment's
    data (duplicates dropped, overlaps fatal, ends checked).  ``K`` is the key of a datagram,
    ``F`` how its fragment zero is kept (for the ICMP error quoting it).

    ``timeout`` is fixed for the life of the reassembler: deadlines then come in the order
    datagrams began, which keeps :meth:`next_deadline` and :meth:`on_timer` O(1) per datagram.
    Each refusal is counted in :attr:`drops` under its reason, and the helpers return that
    reason so a caller can count it where it likes (an interface's drops).
    """

    #: the family's ``timeout`` when none is given (Linux: ``ipfrag_time``, ``ip6frag_time``)
    default_timeout: ClassVar[int] = DEFAULT_TIMEOUT

    timeout: int = attrs.field(default=attrs.Factory(lambda self: self.default_timeout, takes_self=True),
                               validator=_non_negative)
    max_bytes: int = attrs.field(default=DEFAULT_MAX_BYTES, validator=_non_negative)
    max_datagrams: int | None = attrs.field(default=None, validator=_optional_positive)
    drops: Counter[str] = attrs.field(init=False, factory=Counter)
    #: datagrams reassembled (Linux's ReasmOKs)
    reassembled: int = attrs.field(init=False, default=0)
    _datagrams: dict[K, _Datagram[F]] = attrs.field(init=False, factory=dict)
    _backlog: list[tuple[K, _Datagram[F]]] = attrs.field(init=False, factory=list)
    _memory: int = attrs.field(init=False, default=0)

    @property
    def memory(self) -> int:
        """Bytes held in incomplete datagrams (compared with ``max_bytes``)."""
        return self._memory

    def __len__(self) -> int:
        """Incomplete datagrams held."""
        return len(self._datagrams)

    def _find(self, key: K, now: int) -> _Datagram[F] | str:
        """Linux's ``inet_frag_find``: the datagram ``key`` names, made if new; or why not."""
        # above the high threshold nothing new is taken in
        if self._memory > self.max_bytes:
            self.drops["frag-memory-limit"] += 1
            return "frag-memory-limit"
        datagram = self._datagrams.get(key)
        if datagram is not None and datagram.expires_at <= now:
            # its timer is due but has not run yet: it is over; report it at the next on_timer
            del self._datagrams[key]
            self._memory -= datagram.memory
            self._backlog.append((key, datagram))
            datagram = None
        if datagram is None:
            if self.max_datagrams is not None and len(self._datagrams) >= self.max_datagrams:
                self.drops["frag-datagram-limit"] += 1
                return "frag-datagram-limit"
            datagram = self._datagrams[key] = _Datagram(created_at=now, expires_at=now + self.timeout)
        return datagram

    def _discard(self, key: K, reason: str) -> str:
        datagram = self._datagrams.pop(key)
        self._memory -= datagram.memory
        self.drops[reason] += 1
        return reason

    def _insert(self, key: K, datagram: _Datagram[F], offset: int, data: bytes, more: bool, wire_size: int,
                ecn: int, first: F) -> str | None:
        """The common part of Linux's ``ip_frag_queue`` and ``ip6_frag_queue``, after each
        family's own checks: the ends, then ``inet_frag_queue_insert`` (a duplicate is dropped,
        an overlap kills the datagram), then the accounting.  ``first`` is kept when ``offset``
        is 0.  None when the data was placed, else the reason it was not."""
        end = offset + len(data)
        if not more:
            # the last fragment: bits beyond its end, or a different end, mean corruption
            if end < datagram.length or (datagram.last_in and end != datagram.length):
                return self._discard(key, "frag-bad-length")
            datagram.last_in = True
            datagram.length = end
        elif end > datagram.length:
            if datagram.last_in:
                return self._discard(key, "frag-bad-length")
            datagram.length = end
        if end <= offset:
            return self._discard(key, "frag-empty")

        starts, ends = datagram.run_starts, datagram.run_ends
        if not starts:
            starts.append(offset)
            ends.append(end)
        elif ends[-1] < end:  # the common case: after everything held
            if offset < ends[-1]:
                return self._discard(key, "frag-overlap")
            if offset == ends[-1]:
                ends[-1] = end  # extends the last run
            else:
                starts.append(offset)
                ends.append(end)
        else:
            index = bisect_right(starts, offset)
            if index and offset < ends[index - 1]:
                if end <= ends[index - 1]:
                    self.drops["frag-duplicate"] += 1
                    return "frag-duplicate"
                return self._discard(key, "frag-overlap")
            if index < len(starts) and starts[index] < end:
                return self._discard(key, "frag-overlap")
            starts.insert(index, offset)
            ends.insert(index, end)

        datagram.data[offset] = data
        datagram.meat += len(data)
        datagram.memory += wire_size
        datagram.fragments += 1
        self._memory += wire_size
        datagram.ecn |= 1 << ecn
        datagram.max_size = max(datagram.max_size, wire_size)
        if offset == 0:
            datagram.first = first
        return None

    def _assemble(self, key: K, datagram: _Datagram[F], header_len: int) -> bytes | str:
        """What Linux's ``ip_frag_reasm`` and ``ip6_frag_reasm`` share: a datagram longer than
        65535 bytes with ``header_len`` bytes of header is discarded, as are mixed ECN
        codepoints that RFC 3168 §5.3 forbids (Not-ECT with ECT/CE); else the data, joined, and
        the datagram forgotten."""
        if header_len + datagram.length > 0xFFFF:
            return self._discard(key, "frag-oversize")
        seen = datagram.ecn
        if seen & _NOT_ECT and seen != _NOT_ECT:
            return self._discard(key, "frag-ecn")
        del self._datagrams[key]
        self._memory -= datagram.memory
        self.reassembled += 1
        return b"".join(datagram.data[start] for start in sorted(datagram.data))

    def on_timer(self, now: int) -> list[ExpiredDatagram[K, F]]:
        """Drop the datagrams whose time is up at ``now`` (Linux's ``ip_expire``, ``ip6_frag_expire``)."""
        expired = [self._expired(key, datagram) for key, datagram in self._backlog]
        self._backlog.clear()
        while self._datagrams:
            key, datagram = next(iter(self._datagrams.items()))
            if datagram.expires_at > now:
                break
            del self._datagrams[key]
            self._memory -= datagram.memory
            expired.append(self._expired(key, datagram))
        return expired

    def _expired(self, key: K, datagram: _Datagram[F]) -> ExpiredDatagram[K, F]:
        self.drops["frag-timeout"] += 1
        return ExpiredDatagram(key, datagram.first, datagram.fragments, datagram.meat, datagram.expires_at,
                               datagram.interface)

    def next_deadline(self) -> int | None:
        """When :meth:`on_timer` next has a datagram to expire."""
        if self._backlog:
            return min(datagram.expires_at for _, datagram in self._backlog)
        for datagram in self._datagrams.values():
            return datagram.expires_at
        return None


@attrs.define
class IPv4Reassembler(Reassembler[FragmentKey, IPv4Packet]):
    """Puts fragments back together (RFC 791 §3.2, RFC 815) the way Linux's ``ip_defrag`` does.

    The whole datagram is built as an :class:`IPv4Packet` from fragment zero's header and
    parsed again with ``IPv4Packet.parse(..., verify=False)``, so its payload is decoded (TCP,
    UDP, ICMP) when it decodes, and left as bytes when it does not (``decode=False`` always
    leaves it as bytes).
    """

    decode: bool = True

    def on_fragment(self, packet: IPv4Packet, now: int) -> IPv4Packet | None:
        """Take one fragment; return the whole datagram when this one completes it.

        A datagram that is not a fragment (MF clear, offset 0) is returned as it is.
        """
        if not (packet.flags & _MF or packet.fragment_offset):
            return packet
        key: FragmentKey = (packet.src, packet.dst, packet.protocol, packet.identification)
        datagram = self._find(key, now)
        if isinstance(datagram, str):
            return None
        return self._queue(key, datagram, packet)

    def _queue(self, key: FragmentKey, datagram: _Datagram[IPv4Packet], packet: IPv4Packet) -> IPv4Packet | None:
        """Linux's ``ip_frag_queue``."""
        raw = packet.payload
        if not isinstance(raw, bytes):  # never for a fragment (IPv4Packet's validator)
            raw = packet.payload_bytes()
        data = raw
        offset = packet.fragment_offset << 3
        more = bool(packet.flags & _MF)
        if more and (offset + len(data)) & 7:  # RFC 791 wants multiples of 8; Linux trims the excess
            data = data[: ((offset + len(data)) & ~7) - offset]
        wire_size = packet.header_len + len(raw)
        if self._insert(key, datagram, offset, data, more, wire_size, packet.ecn, packet) is not None:
            return None
        if packet.flags & _DF:
            datagram.max_df_size = max(datagram.max_df_size, wire_size)
        first = datagram.first
        if first is None or not datagram.complete:
            return None
        return self._reassemble(key, datagram, first)

    def _reassemble(self, key: FragmentKey, datagram: _Datagram[IPv4Packet], first: IPv4Packet) -> IPv4Packet | None:
        """Linux's ``ip_frag_reasm``: fragment zero's header over all the data."""
        payload = self._assemble(key, datagram, first.header_len)
        if isinstance(payload, str):
            return None
        # DF only if the largest fragment carried it (ip_frag_reasm's max_df_size rule)
        flags = _DF if datagram.max_df_size and datagram.max_df_size == datagram.max_size else 0
        whole = IPv4Packet(
            src=first.src, dst=first.dst, protocol=first.protocol, payload=payload, ttl=first.ttl,
            identification=first.identification, flags=flags, dscp=first.dscp,
            ecn=3 if datagram.congestion_experienced else first.ecn, options=first.options,
        )
        if not self.decode:
            return whole
        try:
            return IPv4Packet.parse(whole.to_bytes(), verify=False)
        except WireError:
            return whole  # an upper-layer header that does not decode stays bytes
