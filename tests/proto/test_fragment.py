"""IPv4 fragmentation and reassembly: RFC 791 cutting, Linux's reassembly rules and limits."""

from __future__ import annotations

import random
from ipaddress import IPv4Address

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from netsim.errors import WireError
from netsim.proto.fragment import (
    IPv4Reassembler,
    copied_ipv4_options,
    fragment_ipv4,
    split_ipv4_options,
)
from netsim.units import S
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.udp import UDPDatagram

SRC = IPv4Address("192.0.2.1")
DST = IPv4Address("198.51.100.2")
#: a protocol netsim does not decode, so payloads stay bytes whatever they hold
RAW = 253
#: record route (7, not copied), NOP, security (0x82, copied), then EOL padding
OPTIONS = bytes([7, 7, 4, 0, 0, 0, 0]) + b"\x01" + bytes([0x82, 4, 0xAB, 0xCD])


def _packet(size: int, *, options: bytes = b"", ident: int = 0x1234, flags: int = 0, ecn: int = 0) -> IPv4Packet:
    payload = bytes(i % 251 for i in range(size))
    return IPv4Packet(src=SRC, dst=DST, protocol=RAW, payload=payload, identification=ident, flags=flags,
                      options=options, ecn=ecn)


def _fragment(offset: int, data: bytes, *, more: bool, ident: int = 7, ecn: int = 0, df: bool = False) -> IPv4Packet:
    return IPv4Packet(src=SRC, dst=DST, protocol=RAW, payload=data, identification=ident,
                      flags=int(more) | (2 if df else 0), fragment_offset=offset // 8, ecn=ecn)


# --- fragmentation -------------------------------------------------------------------------


def test_fragment_ipv4_fitting_packet_returned_unchanged() -> None:
    packet = _packet(100, flags=2)
    assert fragment_ipv4(packet, 1500) == [packet]


def test_fragment_ipv4_df_set_and_too_big_raises() -> None:
    with pytest.raises(ValueError, match="DF"):
        fragment_ipv4(_packet(2000, flags=2), 1500)


def test_fragment_ipv4_mtu_below_68_raises() -> None:
    with pytest.raises(ValueError, match="68"):
        fragment_ipv4(_packet(10), 67)


def test_fragment_ipv4_1500_mtu_cuts_at_1480_bytes() -> None:
    pieces = fragment_ipv4(_packet(4000), 1500)
    assert [len(p.payload_bytes()) for p in pieces] == [1480, 1480, 1040]
    assert [p.fragment_offset for p in pieces] == [0, 185, 370]
    assert [p.more_fragments for p in pieces] == [True, True, False]
    assert all(len(p.to_bytes()) <= 1500 for p in pieces)
    assert {p.identification for p in pieces} == {0x1234}


def test_fragment_ipv4_later_fragments_carry_only_copied_options() -> None:
    packet = _packet(400, options=OPTIONS)
    pieces = fragment_ipv4(packet, 200)
    assert pieces[0].options == OPTIONS
    assert all(p.options == bytes([0x82, 4, 0xAB, 0xCD]) for p in pieces[1:])
    # the smaller header leaves room for more data: 200 - 24 = 176 vs 200 - 32 = 168
    assert len(pieces[0].payload_bytes()) == 168 and len(pieces[1].payload_bytes()) == 176


def test_fragment_ipv4_of_a_middle_fragment_keeps_its_mf_and_offset() -> None:
    middle = _fragment(800, bytes(400), more=True)
    pieces = fragment_ipv4(middle, 220)
    assert [p.fragment_offset * 8 for p in pieces] == [800, 1000]
    assert all(p.more_fragments for p in pieces)


def test_fragment_ipv4_decoded_udp_payload_is_encoded_first() -> None:
    udp = UDPDatagram(src_port=1000, dst_port=2000, payload=bytes(3000))
    packet = IPv4Packet(src=SRC, dst=DST, protocol=17, payload=udp)
    pieces = fragment_ipv4(packet, 1500)
    assert b"".join(p.payload_bytes() for p in pieces) == packet.payload_bytes()


def test_split_ipv4_options_stops_at_eol_and_keeps_nops() -> None:
    assert split_ipv4_options(b"\x01\x94\x04\x00\x00\x00\x07\x03") == [b"\x01", b"\x94\x04\x00\x00"]


def test_split_ipv4_options_bad_length_raises_wire_error() -> None:
    with pytest.raises(WireError, match="bad length"):
        split_ipv4_options(b"\x07\x09\x00\x00")


def test_copied_ipv4_options_malformed_tail_keeps_well_formed_head() -> None:
    assert copied_ipv4_options(b"\x94\x04\x00\x00\x83\x01\x00\x00") == b"\x94\x04\x00\x00"
    assert copied_ipv4_options(b"\x01\x01\x01\x00") == b""


# --- reassembly ------------------------------------------------------------------------------


def test_on_fragment_not_a_fragment_returned_as_is() -> None:
    packet = _packet(10)
    assert IPv4Reassembler().on_fragment(packet, 0) is packet


def test_on_fragment_out_of_order_completes_with_original_bytes() -> None:
    packet = _packet(3000, options=OPTIONS)
    pieces = fragment_ipv4(packet, 576)
    reassembler = IPv4Reassembler()
    results = [reassembler.on_fragment(p, 0) for p in reversed(pieces)]
    assert results[:-1] == [None] * (len(pieces) - 1)
    assert results[-1] is not None and results[-1].to_bytes() == packet.to_bytes()
    assert len(reassembler) == 0 and reassembler.memory == 0 and reassembler.reassembled == 1


def test_on_fragment_udp_datagram_is_decoded() -> None:
    udp = UDPDatagram(src_port=1000, dst_port=2000, payload=b"x" * 3000)
    packet = IPv4Packet(src=SRC, dst=DST, protocol=17, payload=udp, identification=9)
    reassembler = IPv4Reassembler()
    whole = None
    for piece in fragment_ipv4(packet, 1500):
        whole = reassembler.on_fragment(piece, 0)
    assert whole is not None and whole.payload == udp


def test_on_fragment_exact_duplicate_ignored_and_counted() -> None:
    reassembler = IPv4Reassembler()
    assert reassembler.on_fragment(_fragment(0, bytes(16), more=True), 0) is None
    assert reassembler.on_fragment(_fragment(0, bytes(16), more=True), 0) is None
    assert reassembler.drops["frag-duplicate"] == 1
    whole = reassembler.on_fragment(_fragment(16, bytes(8), more=False), 0)
    assert whole is not None and whole.payload_bytes() == bytes(24)


def test_on_fragment_inside_a_run_of_back_to_back_fragments_is_duplicate() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(0, bytes(16), more=True), 0)
    reassembler.on_fragment(_fragment(16, bytes(16), more=True), 0)
    reassembler.on_fragment(_fragment(8, b"\xff" * 16, more=True), 0)  # spans both: one run
    assert reassembler.drops["frag-duplicate"] == 1 and len(reassembler) == 1


def test_on_fragment_partial_overlap_discards_whole_datagram() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(0, bytes(16), more=True), 0)
    reassembler.on_fragment(_fragment(32, bytes(16), more=True), 0)
    assert reassembler.on_fragment(_fragment(8, b"\xff" * 16, more=True), 0) is None
    assert reassembler.drops["frag-overlap"] == 1
    assert len(reassembler) == 0 and reassembler.memory == 0


def test_on_fragment_two_last_fragments_with_different_ends_discards() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(8, bytes(8), more=False), 0)
    reassembler.on_fragment(_fragment(24, bytes(8), more=False), 0)
    assert reassembler.drops["frag-bad-length"] == 1 and len(reassembler) == 0


def test_on_fragment_data_beyond_known_end_discards() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(8, bytes(8), more=False), 0)
    reassembler.on_fragment(_fragment(16, bytes(8), more=True), 0)
    assert reassembler.drops["frag-bad-length"] == 1


def test_on_fragment_non_last_not_multiple_of_8_is_trimmed() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(0, bytes(range(12)), more=True), 0)
    whole = reassembler.on_fragment(_fragment(8, b"abcd", more=False), 0)
    assert whole is not None and whole.payload_bytes() == bytes(range(8)) + b"abcd"


def test_on_fragment_middle_fragment_not_multiple_of_8_is_trimmed_at_its_end() -> None:
    """The trim is of the fragment's end (offset + length), not of its length: a fragment at
    offset 8 with 13 bytes keeps 8 (ending at 16), so the last fragment at 16 completes it."""
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(0, bytes(range(8)), more=True), 0)
    reassembler.on_fragment(_fragment(8, bytes(range(100, 113)), more=True), 0)
    whole = reassembler.on_fragment(_fragment(16, b"tail", more=False), 0)
    assert whole is not None and whole.payload_bytes() == bytes(range(8)) + bytes(range(100, 108)) + b"tail"


def test_on_fragment_empty_after_trim_discards() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(0, bytes(4), more=True), 0)
    assert reassembler.drops["frag-empty"] == 1 and len(reassembler) == 0


def test_on_fragment_ce_in_one_fragment_marks_datagram_ce() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(0, bytes(8), more=True, ecn=2), 0)
    whole = reassembler.on_fragment(_fragment(8, bytes(8), more=False, ecn=3), 0)
    assert whole is not None and whole.ecn == 3


def test_on_fragment_not_ect_mixed_with_ect_discards() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(0, bytes(8), more=True, ecn=0), 0)
    assert reassembler.on_fragment(_fragment(8, bytes(8), more=False, ecn=2), 0) is None
    assert reassembler.drops["frag-ecn"] == 1


def test_on_fragment_oversize_datagram_discards() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(65528, bytes(8), more=False), 0)
    start = 0
    while start < 65528:
        size = min(8192, 65528 - start)
        whole = reassembler.on_fragment(_fragment(start, bytes(size), more=True), 0)
        start += size
    assert whole is None and reassembler.drops["frag-oversize"] == 1 and len(reassembler) == 0


def test_on_fragment_df_kept_only_when_largest_fragment_had_it() -> None:
    reassembler = IPv4Reassembler()
    reassembler.on_fragment(_fragment(0, bytes(16), more=True, df=True), 0)
    whole = reassembler.on_fragment(_fragment(16, bytes(8), more=False), 0)
    assert whole is not None and whole.dont_fragment
    reassembler.on_fragment(_fragment(0, bytes(8), more=True, df=True, ident=8), 0)
    whole = reassembler.on_fragment(_fragment(8, bytes(16), more=False, ident=8), 0)
    assert whole is not None and not whole.dont_fragment


def test_on_timer_expired_datagram_carries_first_fragment() -> None:
    reassembler = IPv4Reassembler()
    first = _fragment(0, bytes(8), more=True)
    reassembler.on_fragment(first, 5 * S)
    reassembler.on_fragment(_fragment(8, bytes(8), more=True, ident=8), 6 * S)
    assert reassembler.next_deadline() == 35 * S
    assert reassembler.on_timer(35 * S - 1) == []
    expired = reassembler.on_timer(35 * S)
    assert [(e.key[3], e.first_fragment) for e in expired] == [(7, first)]
    assert reassembler.next_deadline() == 36 * S
    later = reassembler.on_timer(36 * S)
    assert later[0].first_fragment is None and later[0].fragments == 1
    assert reassembler.drops["frag-timeout"] == 2 and reassembler.next_deadline() is None


def test_on_fragment_after_deadline_before_timer_reports_old_and_starts_new() -> None:
    reassembler = IPv4Reassembler(timeout=10 * S)
    reassembler.on_fragment(_fragment(0, bytes(8), more=True), 0)
    assert reassembler.on_fragment(_fragment(8, bytes(8), more=False), 10 * S) is None
    assert reassembler.next_deadline() == 10 * S
    expired = reassembler.on_timer(10 * S)
    assert len(expired) == 1 and expired[0].first_fragment is not None
    assert reassembler.next_deadline() == 20 * S and len(reassembler) == 1


def test_on_fragment_above_max_bytes_refused() -> None:
    reassembler = IPv4Reassembler(max_bytes=100)
    reassembler.on_fragment(_fragment(0, bytes(80), more=True, ident=1), 0)  # 100 bytes held: not above
    reassembler.on_fragment(_fragment(0, bytes(8), more=True, ident=2), 0)  # now 128: above
    assert reassembler.on_fragment(_fragment(0, bytes(8), more=True, ident=3), 0) is None
    assert reassembler.drops["frag-memory-limit"] == 1 and len(reassembler) == 2


def test_on_fragment_above_max_datagrams_refused() -> None:
    reassembler = IPv4Reassembler(max_datagrams=2)
    for ident in (1, 2, 3):
        reassembler.on_fragment(_fragment(0, bytes(8), more=True, ident=ident), 0)
    assert reassembler.drops["frag-datagram-limit"] == 1 and len(reassembler) == 2


# --- properties --------------------------------------------------------------------------


@st.composite
def _datagrams(draw: st.DrawFn) -> IPv4Packet:
    size = draw(st.integers(1, 3000))
    payload = draw(st.binary(min_size=size, max_size=size))
    options = draw(st.sampled_from([b"", OPTIONS, b"\x94\x04\x00\x00", b"\x07\x03\x04\x00"]))
    return IPv4Packet(src=SRC, dst=DST, protocol=RAW, payload=payload, options=options,
                      identification=draw(st.integers(0, 0xFFFF)), ttl=draw(st.integers(1, 255)),
                      dscp=draw(st.integers(0, 63)))


@given(_datagrams(), st.integers(68, 1500), st.randoms(use_true_random=False), st.integers(0, 5))
def test_reassembly_shuffled_duplicated_fragments_give_original_bytes(
    packet: IPv4Packet, mtu: int, rng: random.Random, duplicates: int
) -> None:
    pieces = fragment_ipv4(packet, mtu)
    for piece in pieces:
        assert len(piece.to_bytes()) <= mtu
        assert piece.header_len == 20 + len(packet.options) or piece.fragment_offset > 0
    assert all(len(p.payload_bytes()) % 8 == 0 for p in pieces[:-1])
    assert b"".join(p.payload_bytes() for p in pieces) == packet.payload_bytes()
    arrivals = pieces + [rng.choice(pieces) for _ in range(duplicates)]
    rng.shuffle(arrivals)
    reassembler = IPv4Reassembler()
    if len(pieces) == 1:
        assert reassembler.on_fragment(pieces[0], 0) is packet
        return
    done = [whole for whole in (reassembler.on_fragment(p, 0) for p in arrivals) if whole is not None]
    assert done and all(whole.to_bytes() == packet.to_bytes() for whole in done)


@given(_datagrams(), st.integers(68, 1500), st.integers(68, 1500), st.randoms(use_true_random=False))
def test_reassembly_refragmented_fragments_give_original_bytes(
    packet: IPv4Packet, mtu: int, smaller: int, rng: random.Random
) -> None:
    pieces = [tiny for piece in fragment_ipv4(packet, mtu) for tiny in fragment_ipv4(piece, min(mtu, smaller))]
    rng.shuffle(pieces)
    reassembler = IPv4Reassembler()
    results = [reassembler.on_fragment(p, 0) for p in pieces]
    assert results[-1] is not None and results[-1].to_bytes() == packet.to_bytes()
    assert results[:-1] == [None] * (len(pieces) - 1)


def _rogue(packet: IPv4Packet, victim: IPv4Packet) -> IPv4Packet:
    """A fragment that starts 8 bytes into ``victim``, runs 8 bytes past it, with other bytes."""
    return IPv4Packet(src=SRC, dst=DST, protocol=RAW, identification=packet.identification, flags=1,
                      fragment_offset=victim.fragment_offset + 1,
                      payload=bytes(b ^ 0xFF for b in victim.payload_bytes()))


@given(_datagrams().filter(lambda p: len(p.payload_bytes()) > 200), st.integers(68, 200),
       st.randoms(use_true_random=False), st.data())
def test_reassembly_with_overlapping_modified_fragment_is_dropped(
    packet: IPv4Packet, mtu: int, rng: random.Random, data: st.DataObject
) -> None:
    pieces = fragment_ipv4(packet, mtu)
    victim = data.draw(st.sampled_from([p for p in pieces[:-1] if len(p.payload_bytes()) > 8]))
    arrivals = list(pieces)
    rng.shuffle(arrivals)
    # before its victim, the rogue overlaps data not yet held: whichever comes second overlaps
    arrivals.insert(rng.randrange(arrivals.index(victim) + 1), _rogue(packet, victim))
    reassembler = IPv4Reassembler()
    assert all(reassembler.on_fragment(p, 0) is None for p in arrivals)
    assert reassembler.drops["frag-overlap"] + reassembler.drops["frag-bad-length"] == 1
    reassembler.on_timer(30 * S)
    assert len(reassembler) == 0 and reassembler.memory == 0


@given(_datagrams().filter(lambda p: len(p.payload_bytes()) > 200), st.integers(68, 200),
       st.randoms(use_true_random=False), st.data())
def test_reassembly_with_overlapping_fragment_anywhere_never_delivers_its_bytes(
    packet: IPv4Packet, mtu: int, rng: random.Random, data: st.DataObject
) -> None:
    """After its victim, the rogue may lie inside a run of back-to-back fragments: Linux (and
    netsim) then ignore it as a duplicate, and the original bytes are delivered."""
    pieces = fragment_ipv4(packet, mtu)
    victim = data.draw(st.sampled_from([p for p in pieces[:-1] if len(p.payload_bytes()) > 8]))
    arrivals = list(pieces)
    rng.shuffle(arrivals)
    arrivals.insert(rng.randrange(len(arrivals)), _rogue(packet, victim))
    reassembler = IPv4Reassembler()
    done = [whole for whole in (reassembler.on_fragment(p, 0) for p in arrivals) if whole is not None]
    if done:
        assert [whole.to_bytes() for whole in done] == [packet.to_bytes()]
        assert reassembler.drops == {"frag-duplicate": 1}
    else:
        assert reassembler.drops["frag-overlap"] + reassembler.drops["frag-bad-length"] == 1


@given(_datagrams().filter(lambda p: len(p.payload_bytes()) > 100), st.integers(68, 576),
       st.randoms(use_true_random=False), st.data())
def test_reassembly_with_missing_fragment_times_out(
    packet: IPv4Packet, mtu: int, rng: random.Random, data: st.DataObject
) -> None:
    pieces = fragment_ipv4(packet, mtu)
    assume(len(pieces) > 1)
    missing = data.draw(st.integers(0, len(pieces) - 1))
    arrivals = pieces[:missing] + pieces[missing + 1 :]
    rng.shuffle(arrivals)
    reassembler = IPv4Reassembler()
    for t, piece in enumerate(arrivals):
        assert reassembler.on_fragment(piece, t) is None
    assert reassembler.next_deadline() == 30 * S
    expired = reassembler.on_timer(30 * S)
    assert len(expired) == 1
    assert expired[0].key == (SRC, DST, RAW, packet.identification)
    assert (expired[0].first_fragment is None) == (missing == 0)
    if missing != 0:
        assert expired[0].first_fragment == pieces[0]
    assert reassembler.drops == {"frag-timeout": 1}
    assert len(reassembler) == 0 and reassembler.memory == 0
