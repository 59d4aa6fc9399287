"""The codec contract as properties, for every IPv4-side value class.

1. ``parse(x.to_bytes()) == x`` (an explicit checksum that is the correct one comes back None).
2. ``parse(b).to_bytes() == b`` for the bytes of any value (including wrong checksums).
3. ``parse`` of arbitrary bytes returns a value or raises ``WireError``, nothing else.
4. With ``verify=True``, one flipped byte gives a ``WireError`` or a different value, never a crash
   and never the same value.
"""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.errors import WireError
from netsim.wire.arp import ARPPacket
from netsim.wire.ethernet import EthernetFrame
from netsim.wire.icmpv4 import ICMPv4Message
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp_options import parse_options
from netsim.wire.udp import UDPDatagram
from tests import strategies as S
from tests.wire.helpers import same_modulo_correct_checksums


@given(x=S.any_ethernet_frames)
def test_ethernet_roundtrip_value(x: EthernetFrame) -> None:
    data = x.to_bytes()
    parsed = EthernetFrame.parse(data)
    assert same_modulo_correct_checksums(parsed, x)
    assert parsed.to_bytes() == data


@given(x=S.ipv4_packets())
def test_ipv4_roundtrip_value(x: IPv4Packet) -> None:
    data = x.to_bytes()
    parsed = IPv4Packet.parse(data)
    assert same_modulo_correct_checksums(parsed, x)
    assert parsed.to_bytes() == data


@given(x=S.ipv4_packets(decoded=False))
def test_ipv4_roundtrip_undecoded(x: IPv4Packet) -> None:
    data = x.to_bytes()
    parsed = IPv4Packet.parse(data, decode=False)
    assert same_modulo_correct_checksums(parsed, x)


@given(x=S.tcp_segments, src=S.ipv4s, dst=S.ipv4s)
def test_tcp_roundtrip_value(x: TCPSegment, src: IPv4Address, dst: IPv4Address) -> None:
    data = x.to_bytes(src=src, dst=dst)
    parsed = TCPSegment.parse(data, src=src, dst=dst)
    assert same_modulo_correct_checksums(parsed, x)
    assert parsed.to_bytes(src=src, dst=dst) == data


@given(x=S.tcp_segments, src=S.ipv6s, dst=S.ipv6s)
def test_tcp_roundtrip_over_ipv6_pseudo_header(x: TCPSegment, src: Any, dst: Any) -> None:
    data = x.to_bytes(src=src, dst=dst)
    assert same_modulo_correct_checksums(TCPSegment.parse(data, src=src, dst=dst), x)


@given(x=S.udp_datagrams, src=S.ipv4s, dst=S.ipv4s)
def test_udp_roundtrip_value(x: UDPDatagram, src: IPv4Address, dst: IPv4Address) -> None:
    data = x.to_bytes(src=src, dst=dst)
    parsed = UDPDatagram.parse(data, src=src, dst=dst)
    assert same_modulo_correct_checksums(parsed, x)
    assert parsed.to_bytes(src=src, dst=dst) == data


@given(x=S.icmpv4_messages)
def test_icmpv4_roundtrip_value(x: ICMPv4Message) -> None:
    data = x.to_bytes()
    parsed = ICMPv4Message.parse(data)
    assert same_modulo_correct_checksums(parsed, x)
    assert parsed.to_bytes() == data


@given(x=S.arp_packets)
def test_arp_roundtrip_value(x: ARPPacket) -> None:
    assert ARPPacket.parse(x.to_bytes()) == x


@given(options=S.tcp_options())
def test_tcp_options_roundtrip(options: tuple[Any, ...]) -> None:
    from netsim.wire.tcp_options import options_to_bytes

    data = options_to_bytes(options)  # type: ignore[arg-type]
    assert parse_options(data) == options
    assert options_to_bytes(parse_options(data)) == data


PARSERS = {
    "ethernet": lambda b, v: EthernetFrame.parse(b, verify=v),
    "ipv4": lambda b, v: IPv4Packet.parse(b, verify=v),
    "tcp": lambda b, v: TCPSegment.parse(b, src=IPv4Address("10.0.0.1"), dst=IPv4Address("10.0.0.2"), verify=v),
    "tcp-no-addresses": lambda b, v: TCPSegment.parse(b, verify=v),
    "udp": lambda b, v: UDPDatagram.parse(b, src=IPv4Address("10.0.0.1"), dst=IPv4Address("10.0.0.2"), verify=v),
    "icmpv4": lambda b, v: ICMPv4Message.parse(b, verify=v),
    "arp": lambda b, v: ARPPacket.parse(b, verify=v),
    "tcp-options": lambda b, v: parse_options(b),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@given(data=st.binary(max_size=400), verify=st.booleans())
def test_parse_arbitrary_bytes_gives_value_or_wire_error(name: str, data: bytes, verify: bool) -> None:
    with contextlib.suppress(WireError):
        PARSERS[name](data, verify)


def test_an_option_longer_than_any_option_area_is_a_wire_error() -> None:
    # found by the thorough profile: an unknown kind 41 bytes long (data beyond the 38 an
    # option can carry) raised the value class's ValueError instead of a WireError
    with pytest.raises(WireError, match="more than an option area holds"):
        parse_options(b"\x06\x29" + bytes(39))
    assert parse_options(b"\x06\x28" + bytes(38))[0].data == bytes(38)  # type: ignore[union-attr]


@st.composite
def _frame_with_mutation(draw: st.DrawFn) -> tuple[bytes, bytes]:
    frame = draw(S.any_ethernet_frames)
    data = frame.to_bytes()
    index = draw(st.integers(0, len(data) - 1))
    value = draw(st.integers(0, 255).filter(lambda v: v != data[index]))
    return data, data[:index] + bytes([value]) + data[index + 1 :]


@given(pair=_frame_with_mutation())
def test_flipped_byte_is_error_or_different_value(pair: tuple[bytes, bytes]) -> None:
    original, mutated = pair
    try:
        parsed = EthernetFrame.parse(mutated, verify=True)
    except WireError:
        return
    assert parsed.to_bytes() == mutated
    assert parsed != EthernetFrame.parse(original)


@given(frame=S.any_ethernet_frames, data=st.data())
def test_truncated_frames_raise_wire_error(frame: EthernetFrame, data: st.DataObject) -> None:
    whole = frame.to_bytes()
    cut = data.draw(st.integers(0, len(whole) - 1))
    try:
        parsed = EthernetFrame.parse(whole[:cut])
    except WireError:
        return
    # A cut that lands in an opaque payload or in the trailer still decodes, to something shorter.
    assert parsed.to_bytes() == whole[:cut]
