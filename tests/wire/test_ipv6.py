"""IPv6 and its extension headers: known answers (bytes built by scapy and captured from Linux),
malformed input naming layer and field, constructor checks, and the codec contract as properties."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.errors import ChecksumError, TruncatedError, WireError
from netsim.wire import (
    EthernetFrame,
    ICMPv6DestUnreachable,
    ICMPv6Echo,
    ICMPv6NeighborSolicitation,
    IPv6DestinationOptions,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Packet,
    IPv6Routing,
    MACAddress,
    NDPSourceLinkLayerAddress,
    TCPSegment,
    UDPDatagram,
    pad_ipv6_options,
)
from netsim.wire.pcap import read_pcap
from tests import strategies_ipv6 as S6
from tests.wire.helpers import same_modulo_correct_checksums
from tests.wire.test_known_bytes import VECTORS

A1, A2 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")

# --- known answers: bytes from scapy 2.x (hard-coded, so the test does not need scapy) ----------

# Ether / IPv6(fe80::1 -> ff02::1:ff00:2, hlim 255) / ICMPv6ND_NS(tgt fe80::2) / SLLA 02:00:00:00:00:01
NS_FRAME = bytes.fromhex(
    "3333ff00000202000000000186dd"
    "6000000000203afffe800000000000000000000000000001ff0200000000000000000001ff000002"
    "87007a9700000000fe800000000000000000000000000002"
    "0101020000000001"
)
# IPv6(tc 0xb8, fl 0x12345) / HopByHop(RouterAlert) / Fragment(id 0xdeadbeef, atomic) / echo request
HBH_FRAG_ECHO = bytes.fromhex(
    "6b812345001c004020010db800000000000000000000000120010db8000000000000000000000002"
    "2c00050200000100"
    "3a000000deadbeef"
    "800033381234000770696e67"
)
# fragment6() of IPv6 / Fragment(id 99) / UDP(5000 -> 53) / 100 x "x", cut at 96 bytes: first and second pieces
FIRST_FRAGMENT = bytes.fromhex(
    "6000000000382c4020010db800000000000000000000000120010db8000000000000000000000002"
    "1100000100000063"
    "13880035006c085d" + "78" * 40
)
MIDDLE_FRAGMENT = bytes.fromhex(
    "6000000000382c4020010db800000000000000000000000120010db8000000000000000000000002"
    "1100003100000063" + "78" * 48
)
# IPv6 / Routing(type 0, segleft 2, [2001:db8::a, 2001:db8::b]) / UDP(1 -> 2) / "abc": the UDP
# checksum covers the final destination 2001:db8::b, not the header's 2001:db8::2
ROUTED_UDP = bytes.fromhex(
    "6000000000332b4020010db800000000000000000000000120010db8000000000000000000000002"
    "1104000200000000"
    "20010db800000000000000000000000a20010db800000000000000000000000b"
    "00010002000bdff4616263"
)


def test_ipv6_neighbor_solicitation_frame_known_bytes_both_ways() -> None:
    frame = EthernetFrame.parse(NS_FRAME, verify=True)
    packet = frame.payload
    assert isinstance(packet, IPv6Packet)
    assert (packet.src, packet.dst, packet.next_header, packet.hop_limit) == (
        IPv6Address("fe80::1"), IPv6Address("ff02::1:ff00:2"), 58, 255,
    )
    assert (packet.traffic_class, packet.flow_label, packet.extensions, packet.header_len) == (0, 0, (), 40)
    ours = EthernetFrame(
        dst=MACAddress.parse("33:33:ff:00:00:02"), src=MACAddress.parse("02:00:00:00:00:01"), ethertype=0x86DD,
        payload=IPv6Packet(
            src=IPv6Address("fe80::1"), dst=IPv6Address("ff02::1:ff00:2"), next_header=58, hop_limit=255,
            payload=ICMPv6NeighborSolicitation(
                IPv6Address("fe80::2"), options=(NDPSourceLinkLayerAddress(MACAddress.parse("02:00:00:00:00:01")),),
            ),
        ),
    )
    assert frame == ours
    assert ours.to_bytes() == NS_FRAME


def test_ipv6_hop_by_hop_and_atomic_fragment_decode_the_echo() -> None:
    packet = IPv6Packet.parse(HBH_FRAG_ECHO, verify=True)
    assert (packet.traffic_class, packet.dscp, packet.ecn, packet.flow_label) == (0xB8, 46, 0, 0x12345)
    assert packet.extensions == (
        IPv6HopByHop(b"\x05\x02\x00\x00\x01\x00"), IPv6Fragment(identification=0xDEADBEEF),
    )
    assert packet.next_header == 58 and not packet.is_fragment and packet.header_len == 56
    assert packet.fragment == IPv6Fragment(identification=0xDEADBEEF)
    assert packet.payload == ICMPv6Echo(128, 0x1234, 7, b"ping")
    built = IPv6Packet(
        src=A1, dst=A2, next_header=58, payload=ICMPv6Echo(128, 0x1234, 7, b"ping"), traffic_class=0xB8,
        flow_label=0x12345,
        extensions=(IPv6HopByHop(b"\x05\x02\x00\x00\x01\x00"), IPv6Fragment(identification=0xDEADBEEF)),
    )
    assert built == packet
    assert built.to_bytes() == HBH_FRAG_ECHO


def test_ipv6_first_fragment_keeps_payload_bytes() -> None:
    packet = IPv6Packet.parse(FIRST_FRAGMENT, verify=True)
    assert packet.extensions == (IPv6Fragment(0, True, 99),)
    assert packet.next_header == 17 and packet.is_fragment
    assert packet.payload == FIRST_FRAGMENT[48:]
    assert packet.to_bytes() == FIRST_FRAGMENT


def test_ipv6_later_fragment_ends_the_chain() -> None:
    packet = IPv6Packet.parse(MIDDLE_FRAGMENT, verify=True)
    assert packet.extensions == (IPv6Fragment(6, True, 99),)
    assert (packet.next_header, packet.payload) == (17, b"x" * 48)
    assert packet.to_bytes() == MIDDLE_FRAGMENT
    # a later fragment's Next Header may name an extension header: it is not followed
    data = MIDDLE_FRAGMENT[:40] + b"\x3c" + MIDDLE_FRAGMENT[41:]
    packet = IPv6Packet.parse(data)
    assert (packet.next_header, packet.payload) == (60, b"x" * 48)
    assert packet.to_bytes() == data


def test_ipv6_routing_header_moves_the_pseudo_header_destination() -> None:
    packet = IPv6Packet.parse(ROUTED_UDP, verify=True)
    (routing,) = packet.extensions
    assert isinstance(routing, IPv6Routing)
    assert (routing.routing_type, routing.segments_left, routing.length) == (0, 2, 40)
    assert packet.final_destination == routing.final_destination == IPv6Address("2001:db8::b")
    assert packet.payload == UDPDatagram(1, 2, b"abc")  # checksum None: it is the correct one
    assert packet.to_bytes() == ROUTED_UDP
    arrived = attrs.evolve(packet, extensions=(attrs.evolve(routing, segments_left=0),))
    assert arrived.final_destination == A2


def test_ipv6_linux_loopback_frames_parse_and_reemit() -> None:
    frames = [EthernetFrame.parse(r.data) for r in read_pcap(VECTORS / "linux_loopback.pcap")]
    packets = [f.payload for f in frames if isinstance(f.payload, IPv6Packet)]
    assert len(packets) == 10
    assert all(p.src == p.dst == IPv6Address("::1") and p.hop_limit == 64 for p in packets)
    error = packets[-1].payload
    assert isinstance(error, ICMPv6DestUnreachable)
    assert (error.code, error.checksum) == (4, None)  # port unreachable; the kernel's checksum verifies
    quoted = IPv6Packet.parse(error.original, decode=False)
    assert quoted == attrs.evolve(packets[-2], payload=packets[-2].payload_bytes())


# --- malformed input ---------------------------------------------------------------------------

ECHO = IPv6Packet(src=A1, dst=A2, next_header=58, payload=ICMPv6Echo(128, 1, 2, b"data")).to_bytes()


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        (ECHO[:39], "header", TruncatedError),
        (b"\x40" + ECHO[1:], "version", WireError),
        (ECHO + b"\x00", "payload_length", WireError),
        (ECHO[:-1], "payload_length", TruncatedError),
        (ECHO[:4] + b"\x00\x00" + ECHO[6:], "payload_length", WireError),
        (HBH_FRAG_ECHO[:4] + b"\x00\x04" + HBH_FRAG_ECHO[6:44], "hop_by_hop", TruncatedError),
        (HBH_FRAG_ECHO[:4] + b"\x00\x0a" + HBH_FRAG_ECHO[6:50], "fragment", TruncatedError),
        (ROUTED_UDP[:4] + b"\x00\x10" + ROUTED_UDP[6:56], "routing", TruncatedError),
        (ECHO[:4] + b"\x00\x02\x3c" + ECHO[7:40] + b"\x3a\x00", "destination_options", TruncatedError),
        (HBH_FRAG_ECHO[:48] + b"\x00" + HBH_FRAG_ECHO[49:], "next_header", WireError),
    ],
    ids=["short-header", "version-4", "trailing-byte", "payload-length-past-end", "jumbogram", "hop-by-hop-cut",
         "fragment-cut", "routing-cut", "destination-options-cut", "hop-by-hop-after-fragment"],
)
def test_ipv6_malformed_names_layer_and_field(data: bytes, field: str, error: type[WireError]) -> None:
    with pytest.raises(error) as caught:
        IPv6Packet.parse(data, verify=True)
    assert (caught.value.layer, caught.value.field) == ("ipv6", field)
    assert str(caught.value).startswith(f"ipv6.{field}: ")


def test_ipv6_bad_upper_layer_checksum_is_kept_or_caught() -> None:
    data = ECHO[:-1] + b"\x00"
    packet = IPv6Packet.parse(data)
    assert packet.payload.checksum is not None  # type: ignore[union-attr]
    assert packet.to_bytes() == data
    with pytest.raises(ChecksumError) as caught:
        IPv6Packet.parse(data, verify=True)
    assert (caught.value.layer, caught.value.field) == ("icmpv6", "checksum")


def test_ipv6_udp_zero_checksum_is_an_error_only_with_verify() -> None:
    data = IPv6Packet(src=A1, dst=A2, next_header=17, payload=UDPDatagram(1, 2, b"x", checksum=0)).to_bytes()
    assert IPv6Packet.parse(data).payload == UDPDatagram(1, 2, b"x", checksum=0)
    with pytest.raises(ChecksumError):
        IPv6Packet.parse(data, verify=True)  # RFC 8200 §8.1: IPv6 has no "no checksum"


def test_ipv6_extension_header_parse_needs_exactly_one_header() -> None:
    assert IPv6HopByHop.parse(b"\x3a\x00\x01\x04\x00\x00\x00\x00") == IPv6HopByHop()
    assert IPv6DestinationOptions.parse(b"\x3a\x00\x01\x04\x00\x00\x00\x00") == IPv6DestinationOptions()
    assert IPv6Fragment.parse(bytes.fromhex("1100003100000063")) == IPv6Fragment(6, True, 99)
    assert IPv6Routing.parse(bytes.fromhex("3a00040100000000")) == IPv6Routing(4, 1)
    with pytest.raises(WireError, match="hop_by_hop"):
        IPv6HopByHop.parse(b"\x3a\x00\x01\x04\x00\x00\x00\x00\x00")
    with pytest.raises(TruncatedError, match="fragment"):
        IPv6Fragment.parse(b"\x11\x00\x00")


# --- constructors ------------------------------------------------------------------------------


def test_ipv6_constructors_reject_impossible_values() -> None:
    segment = TCPSegment(src_port=1, dst_port=2)
    with pytest.raises(ValueError, match="extension header type"):
        IPv6Packet(src=A1, dst=A2, next_header=44)
    with pytest.raises(ValueError, match="next_header 6"):
        IPv6Packet(src=A1, dst=A2, next_header=17, payload=segment)
    with pytest.raises(ValueError, match="fragment's payload"):
        IPv6Packet(src=A1, dst=A2, next_header=6, payload=segment, extensions=(IPv6Fragment(0, True),))
    with pytest.raises(ValueError, match="Hop-by-Hop"):
        IPv6Packet(src=A1, dst=A2, next_header=59, extensions=(IPv6DestinationOptions(), IPv6HopByHop()))
    with pytest.raises(ValueError, match="ends the header chain"):
        IPv6Packet(src=A1, dst=A2, next_header=59, extensions=(IPv6Fragment(8), IPv6DestinationOptions()))
    with pytest.raises(ValueError, match="extension header"):
        IPv6Packet(src=A1, dst=A2, next_header=59, extensions=(b"\x00" * 8,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="flow_label"):
        IPv6Packet(src=A1, dst=A2, next_header=59, flow_label=1 << 20)
    with pytest.raises(ValueError, match="src"):
        IPv6Packet(src="2001:db8::1", dst=A2, next_header=59)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="multiple of 8"):
        IPv6HopByHop(b"\x01\x00")
    with pytest.raises(ValueError, match="multiple of 8"):
        IPv6Routing(0, 0, b"")
    with pytest.raises(ValueError, match="offset"):
        IPv6Fragment(1 << 13)
    with pytest.raises(ValueError, match="more_fragments"):
        IPv6Fragment(0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="65535"):
        IPv6Packet(src=A1, dst=A2, next_header=59, payload=bytes(65536)).to_bytes()
    # a later fragment's Next Header may be anything: the chain stops there
    assert IPv6Packet(src=A1, dst=A2, next_header=44, extensions=(IPv6Fragment(8),)).next_header == 44


@given(options=st.binary(max_size=40))
def test_pad_ipv6_options_makes_whole_units_of_padding(options: bytes) -> None:
    padded = pad_ipv6_options(options)
    assert padded.startswith(options) and (2 + len(padded)) % 8 == 0 and len(padded) - len(options) < 8
    rest = padded[len(options):]
    assert rest in (b"", b"\x00") or rest == bytes((1, len(rest) - 2)) + bytes(len(rest) - 2)
    IPv6HopByHop(padded)


# --- the codec contract ------------------------------------------------------------------------


@given(x=S6.ipv6_packets())
def test_ipv6_roundtrip_value(x: IPv6Packet) -> None:
    data = x.to_bytes()
    parsed = IPv6Packet.parse(data)
    assert same_modulo_correct_checksums(parsed, x)
    assert parsed.to_bytes() == data
    assert len(data) == x.header_len + len(x.payload_bytes())
    assert IPv6Packet.parse(memoryview(data)) == parsed  # type: ignore[arg-type]


@given(x=S6.ipv6_packets(decoded=False))
def test_ipv6_roundtrip_undecoded(x: IPv6Packet) -> None:
    data = x.to_bytes()
    parsed = IPv6Packet.parse(data, decode=False)
    assert parsed == x
    assert parsed.to_bytes() == data


@given(x=S6.clean_ipv6_packets())
def test_ipv6_correct_packets_verify(x: IPv6Packet) -> None:
    data = x.to_bytes()
    assert IPv6Packet.parse(data, verify=True) == x


@given(x=S6.ipv6_packets(), ethertype_frame=st.data())
def test_ipv6_in_ethernet_roundtrip(x: IPv6Packet, ethertype_frame: st.DataObject) -> None:
    trailer = ethertype_frame.draw(st.binary(max_size=20))
    frame = EthernetFrame(dst=MACAddress(b"\x02" * 6), src=MACAddress(b"\x04" * 6), ethertype=0x86DD, payload=x,
                          trailer=trailer)
    data = frame.to_bytes()
    parsed = EthernetFrame.parse(data)
    assert same_modulo_correct_checksums(parsed, frame)
    assert parsed.to_bytes() == data


@pytest.mark.parametrize("strategy", [S6.hop_by_hop_headers, S6.routing_headers(), S6.fragment_headers,
                                      S6.destination_options_headers], ids=["hbh", "routing", "fragment", "dest"])
@given(data=st.data(), next_header=st.integers(0, 255))
def test_ipv6_extension_header_roundtrip(strategy: st.SearchStrategy[Any], data: st.DataObject,
                                         next_header: int) -> None:
    header = data.draw(strategy)
    wire = header.to_bytes(next_header=next_header)
    assert len(wire) == header.length and wire[0] == next_header
    parsed = type(header).parse(wire)
    assert parsed == header
    assert parsed.to_bytes(next_header=next_header) == wire


EXTENSION_PARSERS: dict[str, Any] = {
    "packet": IPv6Packet.parse,
    "packet-undecoded": lambda b, verify: IPv6Packet.parse(b, verify=verify, decode=False),
    "hop-by-hop": IPv6HopByHop.parse,
    "routing": IPv6Routing.parse,
    "fragment": IPv6Fragment.parse,
    "destination-options": IPv6DestinationOptions.parse,
}


@pytest.mark.parametrize("name", sorted(EXTENSION_PARSERS))
@given(data=st.binary(max_size=300), verify=st.booleans())
def test_ipv6_parse_arbitrary_bytes_gives_valid_value_or_wire_error(name: str, data: bytes, verify: bool) -> None:
    try:
        value = EXTENSION_PARSERS[name](data, verify=verify)
    except WireError:
        return
    assert attrs.evolve(value) == value  # the validators accept what parse built without them
    if name.startswith("packet"):
        assert value.to_bytes() == data
    else:
        assert value.to_bytes(next_header=data[0]) == data


@given(data=st.binary(min_size=40, max_size=300), verify=st.booleans())
def test_ipv6_parse_arbitrary_body_behind_a_good_header(data: bytes, verify: bool) -> None:
    # the random-bytes test above rarely gets past the version nibble and Payload Length
    body = data[40:]
    packet = b"\x60" + data[1:4] + len(body).to_bytes(2, "big") + data[6:40] + body
    try:
        value = IPv6Packet.parse(packet, verify=verify)
    except WireError:
        return
    assert attrs.evolve(value) == value
    assert value.to_bytes() == packet


@st.composite
def _packet_with_mutation(draw: st.DrawFn) -> tuple[bytes, bytes]:
    data = draw(S6.ipv6_packets()).to_bytes()
    index = draw(st.integers(0, len(data) - 1))
    value = draw(st.integers(0, 255).filter(lambda v: v != data[index]))
    return data, data[:index] + bytes([value]) + data[index + 1 :]


@given(pair=_packet_with_mutation())
def test_ipv6_flipped_byte_is_error_or_different_value(pair: tuple[bytes, bytes]) -> None:
    original, mutated = pair
    try:
        parsed = IPv6Packet.parse(mutated, verify=True)
    except WireError:
        return
    assert parsed.to_bytes() == mutated
    assert parsed != IPv6Packet.parse(original)


@given(x=S6.ipv6_packets(), data=st.data())
def test_ipv6_truncation_at_any_length_is_truncated_error(x: IPv6Packet, data: st.DataObject) -> None:
    whole = x.to_bytes()
    cut = data.draw(st.integers(0, len(whole) - 1))
    with pytest.raises(TruncatedError) as caught:
        IPv6Packet.parse(whole[:cut])  # Payload Length covers every byte after the base header
    assert caught.value.layer == "ipv6"


# --- scapy, an independent implementation, as an oracle ----------------------------------------


@settings(max_examples=100)
@given(x=S6.clean_ipv6_packets())
def test_ipv6_scapy_reads_the_same_header_and_recomputes_the_same_checksum(x: IPv6Packet) -> None:
    inet6 = pytest.importorskip("scapy.layers.inet6")
    data = x.to_bytes()
    theirs = inet6.IPv6(data)
    assert (theirs.version, theirs.tc, theirs.fl, theirs.plen, theirs.hlim) == (
        6, x.traffic_class, x.flow_label, len(data) - 40, x.hop_limit,
    )
    assert (IPv6Address(theirs.src), IPv6Address(theirs.dst)) == (x.src, x.dst)
    # walk scapy's extension chain beside ours, then make it recompute Payload Length and the
    # upper-layer checksum (over its own idea of the pseudo-header) and rebuild
    layer = theirs.payload
    names = {IPv6HopByHop: "IPv6ExtHdrHopByHop", IPv6Routing: "IPv6ExtHdrRouting",
             IPv6Fragment: "IPv6ExtHdrFragment", IPv6DestinationOptions: "IPv6ExtHdrDestOpt"}
    for header in x.extensions:
        assert type(layer).__name__ == names[type(header)]
        layer = layer.payload
    assert layer.fields_desc[0].name in ("sport", "type")
    checksum_field = "chksum" if hasattr(layer, "chksum") else "cksum"
    del theirs.plen
    delattr(layer, checksum_field)
    rebuilt = bytes(theirs)
    if x.next_header == 58 and x.payload_bytes()[0] < 128:
        # scapy also rewrites checksums inside the packet an ICMPv6 error quotes: compare the
        # outer header and the error's own checksum only
        start = len(data) - len(x.payload_bytes())
        assert rebuilt[: start + 4] == data[: start + 4]
    else:
        assert rebuilt == data
