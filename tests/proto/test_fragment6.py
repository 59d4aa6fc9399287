"""IPv6 fragmentation and reassembly (RFC 8200 §4.5): Linux's ip6_fragment sizes, and
ipv6_frag_rcv's rules (RFC 5722 overlaps, RFC 6946 atomic fragments, RFC 7112 header chains)."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.fragment6 import FragmentRefused, IPv6Reassembler, fragment_ipv6
from netsim.units import S
from netsim.wire.icmpv6 import ICMPv6ParameterProblem
from netsim.wire.ipv6 import IPv6DestinationOptions, IPv6Fragment, IPv6HopByHop, IPv6Packet, IPv6Routing
from netsim.wire.udp import UDPDatagram

SRC, DST = IPv6Address("2001:db8:1::10"), IPv6Address("2001:db8:2::20")


def _datagram(size: int, **fields: object) -> bytes:
    """A UDP datagram of ``size`` payload bytes, encoded."""
    payload = UDPDatagram(src_port=5000, dst_port=9000, payload=bytes(i % 251 for i in range(size)))
    return IPv6Packet(src=SRC, dst=DST, next_header=17, payload=payload, **fields).to_bytes()  # type: ignore[arg-type]


def _fragment(offset: int, data: bytes, *, more: bool, ident: int = 7, next_header: int = 17, ecn: int = 0,
              dst: IPv6Address = DST) -> bytes:
    return IPv6Packet(src=SRC, dst=dst, next_header=next_header, payload=data, traffic_class=ecn,
                      extensions=(IPv6Fragment(offset=offset // 8, more_fragments=more, identification=ident),),
                      ).to_bytes()


# --- fragmentation -------------------------------------------------------------------------


def test_a_datagram_that_fits_is_sent_whole_never_as_an_atomic_fragment() -> None:
    data = _datagram(1452)  # 1500 bytes
    assert fragment_ipv6(data, 1500, 1) == [data]


def test_4000_bytes_over_1500_are_three_fragments_of_1448_data_bytes() -> None:
    """Linux's ip6_fragment: (1500 - 40 - 8) & ~7 = 1448 bytes a fragment, the UDP header in the first."""
    pieces = fragment_ipv6(_datagram(4000), 1500, 0xCAFE)
    parsed = [IPv6Packet.parse(piece, decode=False) for piece in pieces]
    assert [len(piece) for piece in pieces] == [1496, 1496, 1160]
    assert [(p.fragment.offset, p.fragment.more_fragments) for p in parsed] == [(0, True), (181, True), (362, False)]  # type: ignore[union-attr]
    assert {p.fragment.identification for p in parsed} == {0xCAFE}  # type: ignore[union-attr]
    assert {p.next_header for p in parsed} == {17} and {piece[6] for piece in pieces} == {44}


def test_the_unfragmentable_part_is_repeated_in_every_fragment() -> None:
    """ip6_find_1stfragopt: Hop-by-Hop, Routing, and Destination Options before a Routing header
    stay in front; Destination Options after the Routing header are fragmented with the payload."""
    routing = IPv6Routing(routing_type=0, segments_left=0, data=bytes(4))
    chain = (IPv6HopByHop(), IPv6DestinationOptions(), routing, IPv6DestinationOptions())
    data = IPv6Packet(src=SRC, dst=DST, next_header=59, payload=bytes(3000), extensions=chain).to_bytes()
    pieces = fragment_ipv6(data, 1280, 9)
    for piece in pieces:
        assert IPv6Packet.parse(piece, decode=False).extensions[:3] == chain[:3]
    whole = IPv6Reassembler()
    results = [whole.on_fragment(piece, 0) for piece in pieces]
    assert results[-1] == data


def test_a_link_too_narrow_for_8_bytes_a_fragment_is_refused() -> None:
    with pytest.raises(ValueError, match="identification"):
        fragment_ipv6(_datagram(2000), 1500, 1 << 32)
    assert len(fragment_ipv6(_datagram(2000), 64, 1)) > 100  # (ip6_fragment goes down to 8 bytes a fragment)
    with pytest.raises(ValueError, match="8 bytes"):
        fragment_ipv6(_datagram(2000), 55, 1)


@given(size=st.integers(1, 65535 - 8), mtu=st.integers(1280, 9000), seed=st.integers(0, 2**32))
def test_any_datagram_cut_to_any_mtu_comes_back_whole_in_any_order(size: int, mtu: int, seed: int) -> None:
    data = _datagram(size)
    pieces = fragment_ipv6(data, mtu, 77)
    assert all(len(piece) <= mtu for piece in pieces)
    assert all((len(piece) - 48) % 8 == 0 for piece in pieces[:-1]) and (len(pieces) == 1) == (len(data) <= mtu)
    random.Random(seed).shuffle(pieces)
    reassembler = IPv6Reassembler()
    results = [reassembler.on_fragment(piece, 0) if piece[6] == 44 else piece for piece in pieces]
    assert results[-1] == data and all(result is None for result in results[:-1])
    assert len(reassembler) == 0 and reassembler.memory == 0


# --- reassembly ------------------------------------------------------------------------------


def test_an_atomic_fragment_is_the_packet_without_its_fragment_header() -> None:
    """RFC 6946 §4: processed at once, apart from any datagram being reassembled."""
    whole = _datagram(100)
    reassembler = IPv6Reassembler()
    reassembler.on_fragment(_fragment(0, whole[40:56], more=True, ident=7), 0)
    assert reassembler.on_fragment(_fragment(0, whole[40:], more=False, ident=7), 0) == whole
    assert len(reassembler) == 1


def test_overlapping_fragments_discard_the_whole_datagram_silently() -> None:
    """RFC 5722 §4: no ICMP, and the fragments that follow do not bring it back."""
    body = _datagram(100)[40:]
    reassembler = IPv6Reassembler()
    assert reassembler.on_fragment(_fragment(0, body[:64], more=True), 0) is None
    assert reassembler.on_fragment(_fragment(56, body[56:], more=False), 0) == FragmentRefused("frag-overlap")
    assert reassembler.on_fragment(_fragment(64, body[64:], more=False), 0) is None  # (a new, fragment-zero-less one)
    assert reassembler.drops["frag-overlap"] == 1


def test_a_duplicate_fragment_is_dropped_alone() -> None:
    whole = _datagram(100)
    reassembler = IPv6Reassembler()
    reassembler.on_fragment(_fragment(0, whole[40:104], more=True), 0)
    assert reassembler.on_fragment(_fragment(8, whole[48:56], more=True), 0) == FragmentRefused("frag-duplicate")
    assert reassembler.on_fragment(_fragment(64, whole[104:], more=False), 0) == whole


def test_a_non_last_fragment_not_a_multiple_of_8_draws_parameter_problem_at_payload_length() -> None:
    """RFC 8200 §4.5: code 0, pointer 4; the datagram lives on."""
    whole = _datagram(100)
    reassembler = IPv6Reassembler()
    reassembler.on_fragment(_fragment(0, whole[40:104], more=True), 0)
    refused = reassembler.on_fragment(_fragment(64, whole[104:116], more=True), 0)
    assert refused == FragmentRefused("frag-not-multiple-of-8", ICMPv6ParameterProblem(0, 4))
    assert reassembler.on_fragment(_fragment(64, whole[104:], more=False), 0) == whole


def test_a_fragment_ending_past_65535_draws_parameter_problem_at_fragment_offset() -> None:
    """RFC 8200 §4.5: code 0, pointing at the Fragment Offset field (40 + 2)."""
    refused = IPv6Reassembler().on_fragment(_fragment(65528, bytes(16), more=False), 0)
    assert refused == FragmentRefused("frag-beyond-65535", ICMPv6ParameterProblem(0, 42))


def test_a_datagram_over_65535_once_reassembled_is_discarded() -> None:
    """ip6_frag_reasm: the unfragmentable headers count towards the Payload Length (8 bytes of
    Destination Options and data ending at 65532: 65540)."""
    options = IPv6DestinationOptions()
    reassembler = IPv6Reassembler()
    last = IPv6Packet(src=SRC, dst=DST, next_header=17, payload=bytes(60),
                      extensions=(options, IPv6Fragment(offset=65472 // 8, identification=3))).to_bytes()
    assert reassembler.on_fragment(last, 0) is None
    first = IPv6Packet(src=SRC, dst=DST, next_header=17, payload=bytes(65472),
                       extensions=(options, IPv6Fragment(offset=0, more_fragments=True, identification=3))).to_bytes()
    assert reassembler.on_fragment(first, 0) == FragmentRefused("frag-oversize")


def test_a_first_fragment_without_the_whole_header_chain_draws_parameter_problem_code_3() -> None:
    """RFC 7112 §5 (Linux's ipv6frag_thdr_truncated): 4 bytes of a UDP header are not enough."""
    refused = IPv6Reassembler().on_fragment(_fragment(0, bytes(4), more=True), 0)
    assert refused == FragmentRefused("frag-incomplete-chain", ICMPv6ParameterProblem(3, 0))
    assert IPv6Reassembler().on_fragment(_fragment(0, bytes(8), more=True), 0) is None
    assert IPv6Reassembler().on_fragment(_fragment(0, bytes(16), more=True, next_header=6), 0) == FragmentRefused(
        "frag-incomplete-chain", ICMPv6ParameterProblem(3, 0))


def test_an_incomplete_datagram_expires_after_60_s_with_its_first_fragment() -> None:
    whole = _datagram(100)
    reassembler = IPv6Reassembler()
    first = _fragment(0, whole[40:104], more=True)
    reassembler.on_fragment(first, 5 * S, "eth0")
    reassembler.on_fragment(_fragment(0, whole[40:104], more=True, ident=8), 6 * S)
    reassembler.on_fragment(_fragment(64, whole[104:], more=False, ident=9), 7 * S)
    assert reassembler.next_deadline() == 65 * S and reassembler.on_timer(65 * S - 1) == []
    expired = reassembler.on_timer(66 * S)
    assert [(e.first_fragment, e.interface) for e in expired] == [(first, "eth0"), (expired[1].first_fragment, "")]
    assert reassembler.next_deadline() == 67 * S
    assert reassembler.on_timer(67 * S)[0].first_fragment is None  # (no fragment zero: no Time Exceeded)
    assert reassembler.drops["frag-timeout"] == 3


def test_link_local_datagrams_are_told_apart_by_interface() -> None:
    """fq_find: the interface is part of the key only for link-local and multicast destinations."""
    link_local = IPv6Address("fe80::2")
    reassembler = IPv6Reassembler()
    body = _datagram(100)[40:]
    reassembler.on_fragment(_fragment(0, body[:64], more=True, dst=link_local), 0, "eth0")
    assert reassembler.on_fragment(_fragment(64, body[64:], more=False, dst=link_local), 0, "eth1") is None
    reassembler.on_fragment(_fragment(0, body[:64], more=True), 0, "eth0")
    assert reassembler.on_fragment(_fragment(64, body[64:], more=False), 0, "eth1") is not None


def test_ce_in_one_fragment_marks_the_datagram_and_not_ect_mixed_with_ect_discards_it() -> None:
    body = _datagram(100)[40:]
    reassembler = IPv6Reassembler()
    reassembler.on_fragment(_fragment(0, body[:64], more=True, ecn=2), 0)
    whole = reassembler.on_fragment(_fragment(64, body[64:], more=False, ecn=3), 0)
    assert isinstance(whole, bytes) and IPv6Packet.parse(whole, decode=False).ecn == 3
    reassembler.on_fragment(_fragment(0, body[:64], more=True, ident=2, ecn=0), 0)
    assert reassembler.on_fragment(_fragment(64, body[64:], more=False, ident=2, ecn=1), 0) == FragmentRefused(
        "frag-ecn")


def test_above_4_mib_held_no_fragment_is_taken() -> None:
    reassembler = IPv6Reassembler(max_bytes=3000)
    for ident in range(3):
        reassembler.on_fragment(_fragment(0, bytes(1448), more=True, ident=ident), 0)
    assert reassembler.on_fragment(_fragment(0, bytes(8), more=True, ident=9), 0) == FragmentRefused(
        "frag-memory-limit")
    assert IPv6Reassembler().max_bytes == 4 * 1024 * 1024 and IPv6Reassembler().timeout == 60 * S
