"""ICMPv6 and NDP: known answers (bytes built by scapy), the pseudo-header checksum, malformed NDP
options, constructor checks, and the codec contract as properties."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.errors import ChecksumError, TruncatedError, WireError
from netsim.wire import (
    NDPMTU,
    ICMPv6DestUnreachable,
    ICMPv6Echo,
    ICMPv6Message,
    ICMPv6NeighborAdvertisement,
    ICMPv6NeighborSolicitation,
    ICMPv6Other,
    ICMPv6PacketTooBig,
    ICMPv6ParameterProblem,
    ICMPv6ParameterProblemCode,
    ICMPv6RouterAdvertisement,
    ICMPv6RouterSolicitation,
    ICMPv6TimeExceeded,
    ICMPv6TimeExceededCode,
    ICMPv6Type,
    ICMPv6UnreachableCode,
    IPv6Packet,
    MACAddress,
    NDPOption,
    NDPOptionType,
    NDPPrefixInformation,
    NDPSourceLinkLayerAddress,
    NDPTargetLinkLayerAddress,
    NDPUnknownOption,
    UDPDatagram,
    ndp_options_to_bytes,
    parse_ndp_options,
    quote_ipv6_packet,
)
from netsim.wire.icmpv6 import ICMPV6_ERROR_QUOTE_LIMIT
from tests import strategies as S
from tests import strategies_ipv6 as S6
from tests.wire.helpers import same_modulo_correct_checksums

A1, A2 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")
LL1, LL2 = IPv6Address("fe80::1"), IPv6Address("fe80::2")
MAC1, MAC2 = MACAddress.parse("02:00:00:00:00:01"), MACAddress.parse("02:00:00:00:00:02")
ROUTER = IPv6Address("2001:db8::fe")

# --- known answers: whole IPv6 packets from scapy 2.x, hard-coded ------------------------------

# IPv6(2001:db8::1 -> ::2) / ICMPv6EchoRequest(id 0x4242, seq 1, "ping payload")
ECHO_REQUEST = bytes.fromhex(
    "6000000000143a4020010db800000000000000000000000120010db8000000000000000000000002"
    "8000b36a4242000170696e67207061796c6f6164"
)
# the reply, ICMPv6 part only, from ::2 to ::1
ECHO_REPLY = bytes.fromhex("8100b26a4242000170696e67207061796c6f6164")
# IPv6(fe80::2 -> fe80::1, hlim 255) / ICMPv6ND_NA(tgt fe80::2, R S O) / TLLA 02:00:00:00:00:02
NEIGHBOR_ADVERTISEMENT = bytes.fromhex(
    "6000000000203afffe800000000000000000000000000002fe800000000000000000000000000001"
    "88009819e0000000fe800000000000000000000000000002"
    "0201020000000002"
)
# IPv6(fe80::1 -> ff02::2, hlim 255) / ICMPv6ND_RS / SLLA 02:00:00:00:00:01
ROUTER_SOLICITATION = bytes.fromhex(
    "6000000000103afffe800000000000000000000000000001ff020000000000000000000000000002"
    "85007a2c00000000"
    "0101020000000001"
)
# IPv6(fe80::1 -> ff02::1, hlim 255) / ICMPv6ND_RA(chlim 64, M, lifetime 1800, reachable 30000,
# retrans 1000) / SLLA / MTU 1500 / PrefixInfo(2001:db8::/64, L A, valid 86400, preferred 14400)
ROUTER_ADVERTISEMENT = bytes.fromhex(
    "6000000000403afffe800000000000000000000000000001ff020000000000000000000000000001"
    "8600b2404080070800007530000003e8"
    "0101020000000001"
    "05010000000005dc"
    "030440c000015180000038400000000020010db8000000000000000000000000"
)
# the offending packet the errors below quote: IPv6(::1 -> ::99, hlim 1) / UDP(40000 -> 33434) / "probe"
PROBE = bytes.fromhex(
    "60000000000d110120010db800000000000000000000000120010db8000000000000000000000099"
    "9c40829a000d401870726f6265"
)
_ERROR_HEADER = "60000000003d3a4020010db80000000000000000000000fe20010db8000000000000000000000001"
PACKET_TOO_BIG = bytes.fromhex(_ERROR_HEADER + "02002b2700000500") + PROBE  # mtu 1280
TIME_EXCEEDED = bytes.fromhex(_ERROR_HEADER + "03002f2700000000") + PROBE  # hop limit
PARAMETER_PROBLEM = bytes.fromhex(_ERROR_HEADER + "04012e2000000006") + PROBE  # next header, pointer 6
DEST_UNREACHABLE = bytes.fromhex(_ERROR_HEADER + "0104312300000000") + PROBE  # port
# ICMPv6ND_Redirect(tgt fe80::3, dst 2001:db8::9) / TLLA, fe80::1 -> fe80::2: no class of its own
REDIRECT = bytes.fromhex(
    "8900494600000000fe80000000000000000000000000000320010db8000000000000000000000009"
    "0201020000000003"
)
# ICMPv6ND_RA(defaults) / RDNSS(2001:db8::53, 600 s), fe80::1 -> ff02::1: an option type we keep as bytes
RA_WITH_RDNSS = bytes.fromhex(
    "86002ba8000007080000000000000000190300000000025820010db8000000000000000000000053"
)


def _icmpv6(packet: bytes) -> tuple[bytes, IPv6Address, IPv6Address]:
    return packet[40:], IPv6Address(packet[8:24]), IPv6Address(packet[24:40])


@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        (ECHO_REQUEST, ICMPv6Echo(128, 0x4242, 1, b"ping payload")),
        (NEIGHBOR_ADVERTISEMENT, ICMPv6NeighborAdvertisement(
            LL2, router=True, solicited=True, override=True, options=(NDPTargetLinkLayerAddress(MAC2),))),
        (ROUTER_SOLICITATION, ICMPv6RouterSolicitation(options=(NDPSourceLinkLayerAddress(MAC1),))),
        (ROUTER_ADVERTISEMENT, ICMPv6RouterAdvertisement(
            cur_hop_limit=64, managed=True, router_lifetime=1800, reachable_time=30000, retrans_timer=1000,
            options=(NDPSourceLinkLayerAddress(MAC1), NDPMTU(1500),
                     NDPPrefixInformation(IPv6Address("2001:db8::"), 64, valid_lifetime=86400,
                                          preferred_lifetime=14400)))),
        (PACKET_TOO_BIG, ICMPv6PacketTooBig(1280, PROBE)),
        (TIME_EXCEEDED, ICMPv6TimeExceeded(ICMPv6TimeExceededCode.HOP_LIMIT, PROBE)),
        (PARAMETER_PROBLEM, ICMPv6ParameterProblem(ICMPv6ParameterProblemCode.UNRECOGNIZED_NEXT_HEADER, 6, PROBE)),
        (DEST_UNREACHABLE, ICMPv6DestUnreachable(ICMPv6UnreachableCode.PORT, PROBE)),
    ],
    ids=["echo-request", "neighbor-advertisement", "router-solicitation", "router-advertisement", "packet-too-big",
         "time-exceeded", "parameter-problem", "dest-unreachable"],
)
def test_icmpv6_known_bytes_both_ways(packet: bytes, expected: ICMPv6Message) -> None:
    body, src, dst = _icmpv6(packet)
    parsed = ICMPv6Message.parse(body, src=src, dst=dst, verify=True)
    assert parsed == expected  # every field, and checksum None: scapy's is the one we compute
    assert parsed.checksum is None
    assert expected.to_bytes(src=src, dst=dst) == body
    whole = IPv6Packet.parse(packet, verify=True)
    assert whole.payload == expected
    assert whole.to_bytes() == packet


def test_icmpv6_echo_reply_fields() -> None:
    reply = ICMPv6Message.parse(ECHO_REPLY, src=A2, dst=A1, verify=True)
    assert isinstance(reply, ICMPv6Echo)
    assert (reply.type, reply.code, reply.identifier, reply.sequence) == (129, 0, 0x4242, 1)
    assert reply.data == b"ping payload"
    assert not reply.is_request and not reply.is_error
    assert ICMPv6Echo(ICMPv6Echo.REPLY, 0x4242, 1, b"ping payload").to_bytes(src=A2, dst=A1) == ECHO_REPLY


def test_icmpv6_quoted_probe_decodes() -> None:
    error = IPv6Packet.parse(DEST_UNREACHABLE, verify=True).payload
    assert isinstance(error, ICMPv6DestUnreachable) and error.is_error
    quoted = IPv6Packet.parse(error.original, verify=True)
    assert (quoted.hop_limit, quoted.dst) == (1, IPv6Address("2001:db8::99"))
    assert quoted.payload == UDPDatagram(40000, 33434, b"probe")


def test_icmpv6_redirect_is_other_and_rdnss_is_an_unknown_option() -> None:
    redirect = ICMPv6Message.parse(REDIRECT, src=LL1, dst=LL2, verify=True)
    assert redirect == ICMPv6Other(137, 0, REDIRECT[4:])
    assert redirect.to_bytes(src=LL1, dst=LL2) == REDIRECT
    assert parse_ndp_options(REDIRECT[40:]) == (NDPTargetLinkLayerAddress(MACAddress.parse("02:00:00:00:00:03")),)
    ra = ICMPv6Message.parse(RA_WITH_RDNSS, src=LL1, dst=IPv6Address("ff02::1"), verify=True)
    assert isinstance(ra, ICMPv6RouterAdvertisement)
    assert (ra.cur_hop_limit, ra.router_lifetime) == (0, 1800)
    assert ra.options == (NDPUnknownOption(25, RA_WITH_RDNSS[18:40]),)
    assert ra.to_bytes(src=LL1, dst=IPv6Address("ff02::1")) == RA_WITH_RDNSS


# --- the checksum ------------------------------------------------------------------------------


def test_icmpv6_checksum_covers_the_pseudo_header() -> None:
    body, src, _ = _icmpv6(ECHO_REQUEST)
    with pytest.raises(ChecksumError) as caught:
        ICMPv6Message.parse(body, src=src, dst=IPv6Address("2001:db8::3"), verify=True)
    assert (caught.value.layer, caught.value.field, caught.value.reason) == ("icmpv6", "checksum", "bad-checksum")
    wrong = ICMPv6Message.parse(body, src=src, dst=IPv6Address("2001:db8::3"))
    assert wrong.checksum == 0xB36A  # kept as received, and re-emitted byte for byte
    assert wrong.to_bytes() == body


def test_icmpv6_without_addresses_keeps_the_checksum_as_read() -> None:
    body = ECHO_REQUEST[40:]
    parsed = ICMPv6Message.parse(body, verify=True)  # nothing to verify against
    assert parsed == ICMPv6Echo(128, 0x4242, 1, b"ping payload", checksum=0xB36A)
    assert parsed.to_bytes() == body
    with pytest.raises(ValueError, match="pseudo-header"):
        ICMPv6Echo(128).to_bytes()
    with pytest.raises(ValueError, match="pseudo-header"):
        ICMPv6NeighborSolicitation(LL1).to_bytes(src=LL1)


def test_icmpv6_zero_and_all_ones_checksums() -> None:
    # the identifier is summed as is, so setting it to identifier 0's checksum brings the sum to
    # 0 (mod 0xFFFF) and the computed checksum to 0; the other zero, 0xFFFF, also verifies and is kept
    identifier = int.from_bytes(ICMPv6Echo(128).to_bytes(src=A1, dst=A2)[2:4], "big")
    zero = ICMPv6Echo(128, identifier)
    assert zero.to_bytes(src=A1, dst=A2)[2:4] == b"\x00\x00"
    assert ICMPv6Message.parse(zero.to_bytes(src=A1, dst=A2), src=A1, dst=A2, verify=True) == zero
    ones = attrs.evolve(zero, checksum=0xFFFF)
    parsed = ICMPv6Message.parse(ones.to_bytes(), src=A1, dst=A2, verify=True)
    assert parsed == ones and parsed.to_bytes() == ones.to_bytes()


def test_icmpv6_error_quote_fits_the_minimum_mtu() -> None:
    assert ICMPV6_ERROR_QUOTE_LIMIT == 1232
    big = IPv6Packet(src=A1, dst=A2, next_header=17, payload=UDPDatagram(1, 2, bytes(3000))).to_bytes()
    error = IPv6Packet(src=ROUTER, dst=A1, next_header=58, payload=ICMPv6PacketTooBig(1280, quote_ipv6_packet(big)))
    assert len(error.to_bytes()) == 1280
    assert quote_ipv6_packet(PROBE) == PROBE


def test_icmpv6_enums_match_the_registries() -> None:
    assert (ICMPv6Type.NEIGHBOR_SOLICITATION, ICMPv6Type.ECHO_REQUEST, ICMPv6Type.PACKET_TOO_BIG) == (135, 128, 2)
    assert [int(code) for code in ICMPv6UnreachableCode] == list(range(8))
    assert (ICMPv6UnreachableCode.PORT, ICMPv6UnreachableCode.REJECT_ROUTE) == (4, 6)
    assert (int(NDPOptionType.PREFIX_INFORMATION), int(NDPOptionType.MTU)) == (3, 5)
    for cls in (ICMPv6DestUnreachable, ICMPv6PacketTooBig, ICMPv6TimeExceeded, ICMPv6ParameterProblem,
                ICMPv6RouterSolicitation, ICMPv6RouterAdvertisement, ICMPv6NeighborSolicitation,
                ICMPv6NeighborAdvertisement):
        assert ICMPv6Type(cls.type).name  # every class's type is in the enum


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "layer", "field", "error"),
    [
        (b"\x80\x00\x00", "icmpv6", "header", TruncatedError),
        (ECHO_REQUEST[40:47], "icmpv6", "header", TruncatedError),
        (NEIGHBOR_ADVERTISEMENT[40:63], "icmpv6", "header", TruncatedError),
        (ROUTER_ADVERTISEMENT[40:55], "icmpv6", "header", TruncatedError),
        (ROUTER_SOLICITATION[40:-1], "ndp", "option_length", TruncatedError),
        (ROUTER_SOLICITATION[40:-7], "ndp", "option_length", TruncatedError),
        (ROUTER_SOLICITATION[40:49] + b"\x00" + ROUTER_SOLICITATION[50:], "ndp", "option_length", WireError),
        (ROUTER_SOLICITATION[40:49] + b"\x02" + ROUTER_SOLICITATION[50:], "ndp", "option_length", TruncatedError),
        (ROUTER_SOLICITATION[40:] + b"\x01\x02" + bytes(14), "ndp", "option_length", WireError),
        (ROUTER_SOLICITATION[40:] + b"\x03\x01" + bytes(6), "ndp", "option_length", WireError),
        (ROUTER_SOLICITATION[40:] + b"\x05\x02" + bytes(14), "ndp", "option_length", WireError),
    ],
    ids=["short", "short-echo", "short-na", "short-ra", "option-past-end", "option-without-length", "option-length-0",
         "option-length-past-end", "link-layer-length-2", "prefix-length-1", "mtu-length-2"],
)
def test_icmpv6_malformed_names_layer_and_field(data: bytes, layer: str, field: str, error: type[WireError]) -> None:
    with pytest.raises(error) as caught:
        ICMPv6Message.parse(data)
    assert (caught.value.layer, caught.value.field) == (layer, field)
    assert str(caught.value).startswith(f"{layer}.{field}: ")


def test_ndp_option_parse_takes_exactly_one_option() -> None:
    assert NDPOption.parse(b"\x01\x01" + MAC1.packed) == NDPSourceLinkLayerAddress(MAC1)
    assert NDPMTU.parse(bytes.fromhex("05010000000005dc")) == NDPMTU(1500)
    with pytest.raises(WireError, match="option_length"):
        NDPOption.parse(b"\x01\x01" + MAC1.packed + b"\x00")
    with pytest.raises(TruncatedError):
        NDPOption.parse(b"\x01")
    with pytest.raises(WireError):
        NDPOption.parse(b"\x01\x01" + MAC1.packed + b"\x01\x01" + MAC2.packed)


# --- constructors ------------------------------------------------------------------------------


def test_icmpv6_constructors_reject_impossible_values() -> None:
    with pytest.raises(ValueError, match="128"):
        ICMPv6Echo(8)
    with pytest.raises(ValueError, match="own class"):
        ICMPv6Other(135)
    with pytest.raises(ValueError, match="own class"):
        NDPUnknownOption(1, bytes(6))
    with pytest.raises(ValueError, match="multiple of 8"):
        NDPUnknownOption(25, bytes(5))
    with pytest.raises(ValueError, match="NDP option"):
        ICMPv6RouterSolicitation(options=(b"\x01\x01" + bytes(6),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tuple"):
        ICMPv6RouterSolicitation(options=[NDPMTU(1500)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reserved"):
        ICMPv6NeighborAdvertisement(LL1, reserved=1 << 29)
    with pytest.raises(ValueError, match="router"):
        ICMPv6NeighborAdvertisement(LL1, router=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target"):
        ICMPv6NeighborSolicitation("fe80::1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="flags_reserved"):
        ICMPv6RouterAdvertisement(flags_reserved=64)
    with pytest.raises(ValueError, match="mac"):
        NDPSourceLinkLayerAddress(MAC1.packed)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="checksum"):
        ICMPv6Echo(128, checksum=0x10000)
    with pytest.raises(ValueError, match="next_header 58"):
        IPv6Packet(src=A1, dst=A2, next_header=17, payload=ICMPv6Echo(128))


# --- the codec contract ------------------------------------------------------------------------


@given(x=S6.icmpv6_messages, src=S.ipv6s, dst=S.ipv6s)
def test_icmpv6_roundtrip_value(x: ICMPv6Message, src: IPv6Address, dst: IPv6Address) -> None:
    data = x.to_bytes(src=src, dst=dst)
    parsed = ICMPv6Message.parse(data, src=src, dst=dst)
    assert same_modulo_correct_checksums(parsed, x)
    assert parsed.to_bytes(src=src, dst=dst) == data
    assert type(parsed).parse(data, src=src, dst=dst) == parsed  # every class's parse dispatches


@given(x=S6.icmpv6_messages, src=S.ipv6s, dst=S.ipv6s)
def test_icmpv6_roundtrip_without_addresses_keeps_the_checksum(x: ICMPv6Message, src: IPv6Address,
                                                               dst: IPv6Address) -> None:
    data = x.to_bytes(src=src, dst=dst)
    parsed = ICMPv6Message.parse(data)
    assert parsed.checksum == int.from_bytes(data[2:4], "big")
    assert parsed.to_bytes() == data


@given(option=S6.ndp_options)
def test_ndp_option_roundtrip(option: NDPOption) -> None:
    data = option.to_bytes()
    assert len(data) % 8 == 0 and data[1] * 8 == len(data) and data[0] == option.type
    assert NDPOption.parse(data) == option
    assert type(option).parse(data).to_bytes() == data


@given(options=S6.ndp_option_tuples)
def test_ndp_options_roundtrip(options: tuple[NDPOption, ...]) -> None:
    data = ndp_options_to_bytes(options)
    assert parse_ndp_options(data) == options
    assert ndp_options_to_bytes(parse_ndp_options(data)) == data


@given(options=S6.ndp_option_tuples.filter(bool), data=st.data())
def test_ndp_options_truncated_mid_option_is_truncated_error(options: tuple[NDPOption, ...],
                                                             data: st.DataObject) -> None:
    wire = ndp_options_to_bytes(options)
    cut = data.draw(st.integers(0, len(wire) - 1))
    boundaries = [0]
    for option in options:
        boundaries.append(boundaries[-1] + len(option.to_bytes()))
    if cut in boundaries:
        assert parse_ndp_options(wire[:cut]) == options[: boundaries.index(cut)]
    else:
        with pytest.raises(TruncatedError) as caught:
            parse_ndp_options(wire[:cut])
        assert (caught.value.layer, caught.value.field) == ("ndp", "option_length")


PARSERS: dict[str, Any] = {
    "icmpv6": lambda b, v: ICMPv6Message.parse(b, src=A1, dst=A2, verify=v),
    "icmpv6-no-addresses": lambda b, v: ICMPv6Message.parse(b, verify=v),
    "ndp-options": lambda b, v: parse_ndp_options(b),
    "ndp-option": lambda b, v: NDPOption.parse(b, verify=v),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@given(data=st.binary(max_size=300), verify=st.booleans())
def test_icmpv6_parse_arbitrary_bytes_gives_valid_value_or_wire_error(name: str, data: bytes, verify: bool) -> None:
    try:
        value = PARSERS[name](data, verify)
    except WireError:
        return
    if name == "ndp-options":
        assert ndp_options_to_bytes(value) == data
        return
    assert attrs.evolve(value) == value  # the validators accept what parse built
    if name == "icmpv6":
        assert value.to_bytes(src=A1, dst=A2) == data
    else:
        assert value.to_bytes() == data


_TYPES = [1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137]


@given(kind=st.sampled_from(_TYPES), rest=st.binary(max_size=120), verify=st.booleans())
def test_icmpv6_parse_arbitrary_body_of_every_type(kind: int, rest: bytes, verify: bool) -> None:
    # arbitrary bytes rarely start with an NDP type; these do, with options made of random bytes
    data = bytes((kind,)) + rest
    try:
        value: Any = ICMPv6Message.parse(data, src=LL1, dst=LL2, verify=verify)
    except WireError:
        return
    assert attrs.evolve(value) == value
    assert value.to_bytes(src=LL1, dst=LL2) == data


@st.composite
def _message_with_mutation(draw: st.DrawFn) -> tuple[bytes, bytes]:
    data = draw(S6.icmpv6_messages).to_bytes(src=A1, dst=A2)
    index = draw(st.integers(0, len(data) - 1))
    value = draw(st.integers(0, 255).filter(lambda v: v != data[index]))
    return data, data[:index] + bytes([value]) + data[index + 1 :]


@given(pair=_message_with_mutation())
def test_icmpv6_flipped_byte_is_error_or_different_value(pair: tuple[bytes, bytes]) -> None:
    original, mutated = pair
    try:
        parsed = ICMPv6Message.parse(mutated, src=A1, dst=A2, verify=True)
    except WireError:
        return
    assert parsed.to_bytes(src=A1, dst=A2) == mutated
    assert parsed != ICMPv6Message.parse(original, src=A1, dst=A2)


def _with_correct_checksum(message: Any) -> Any:
    return attrs.evolve(message, checksum=None)


@given(x=S6.icmpv6_messages.map(_with_correct_checksum), data=st.data())
def test_icmpv6_flipped_byte_of_a_correct_message_fails_verification(x: ICMPv6Message, data: st.DataObject) -> None:
    # one changed byte changes the one's-complement sum by (new - old) * 1 or 256, never 0 mod 0xFFFF
    wire = x.to_bytes(src=A1, dst=A2)
    index = data.draw(st.integers(0, len(wire) - 1))
    flip = data.draw(st.integers(1, 255))
    mutated = wire[:index] + bytes([wire[index] ^ flip]) + wire[index + 1 :]
    with pytest.raises(WireError):
        ICMPv6Message.parse(mutated, src=A1, dst=A2, verify=True)


@given(x=S6.icmpv6_messages.map(_with_correct_checksum), data=st.data())
def test_icmpv6_truncated_message_is_error_or_a_shorter_value(x: ICMPv6Message, data: st.DataObject) -> None:
    whole = x.to_bytes(src=A1, dst=A2)
    cut = data.draw(st.integers(0, len(whole) - 1))
    try:
        parsed = ICMPv6Message.parse(whole[:cut], src=A1, dst=A2)
    except WireError:
        return
    # an ICMPv6 message has no length field: a cut in echo data, a quote or between NDP options
    # still decodes (IPv6's Payload Length is what catches it, see test_ipv6), but never within
    # the fixed part, and the checksum no longer verifies (the pseudo-header's length changed)
    assert cut >= 4 and parsed.to_bytes(src=A1, dst=A2) == whole[:cut]
    assert parsed.checksum is not None
