"""The NAT's per-packet rewrite: addresses and ports replaced with RFC 1624 incremental checksum
updates must give exactly the checksum a full recomputation gives (a correct one stays correct),
and a wrong one stays exactly as wrong."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.nat.flow import TCP, UDP, make_flow
from netsim.sim.nat import rewrite, rewrite_datagram, rewrite_ports
from netsim.wire.checksum import checksum_update_bytes, internet_checksum, pseudo_header_sum
from netsim.wire.ipv4 import IPv4Packet

addresses = st.integers(1, 2**32 - 1).map(IPv4Address)
ports = st.integers(0, 65535)


def _l4(protocol: int, src: IPv4Address, dst: IPv4Address, sport: int, dport: int, body: bytes,
        checksum: int | None) -> bytes:
    """A UDP or TCP header + ``body`` with the right checksum (``checksum``: a given one instead)."""
    if protocol == UDP:
        header = bytearray(sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + (8 + len(body)).to_bytes(2, "big")
                           + b"\0\0")
        at = 6
    else:
        header = bytearray(sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + bytes(8) + b"\x50\x10\xff\xff"
                           + b"\0\0\0\0")
        at = 16
    data = bytes(header) + body
    right = internet_checksum(data, pseudo_header_sum(src, dst, protocol, len(data)))
    if protocol == UDP and right == 0:
        right = 0xFFFF
    value = right if checksum is None else checksum
    return data[:at] + value.to_bytes(2, "big") + data[at + 2:]


def _valid(packet: IPv4Packet) -> bool:
    data = packet.payload_bytes()
    return internet_checksum(data, pseudo_header_sum(packet.src, packet.dst, packet.protocol, len(data))) == 0


@given(st.sampled_from([TCP, UDP]), addresses, addresses, ports, ports, addresses, addresses, ports, ports,
       st.binary(max_size=64), st.integers(1, 255))
def test_a_rewrite_keeps_a_correct_checksum_correct(protocol: int, src: IPv4Address, dst: IPv4Address, sport: int,
                                                     dport: int, new_src: IPv4Address, new_dst: IPv4Address,
                                                     new_sport: int, new_dport: int, body: bytes, ttl: int) -> None:
    payload = _l4(protocol, src, dst, sport, dport, body, None)
    packet = IPv4Packet(src, dst, protocol, payload, ttl=ttl, identification=7)
    out = rewrite_ports(packet, payload, new_src, new_dst, new_sport, new_dport, ttl - 1)
    assert (out.src, out.dst, out.ttl, out.identification) == (new_src, new_dst, ttl - 1, 7)
    data = out.payload_bytes()
    assert data[:4] == new_sport.to_bytes(2, "big") + new_dport.to_bytes(2, "big")
    assert _valid(out)
    # and the bytes are exactly those of a freshly built datagram
    assert data == _l4(protocol, new_src, new_dst, new_sport, new_dport, body, None)
    # rewrite() with a FlowTuple is the same function
    assert rewrite(packet, payload, make_flow(protocol, new_src, new_sport, new_dst, new_dport), ttl - 1) == out


@given(st.sampled_from([TCP, UDP]), addresses, addresses, ports, ports, addresses, addresses, ports, ports,
       st.binary(max_size=64), st.integers(2, 255), st.integers(0, 0xFFFF), st.sampled_from([0, 2]),
       st.integers(0, 63), st.integers(0, 3), st.sampled_from([b"", b"\x01\x01\x01\x00", bytes(8)]),
       st.none() | st.integers(0, 0xFFFF))
def test_the_encoded_form_is_the_packet_forwarded_and_encoded(
        protocol: int, src: IPv4Address, dst: IPv4Address, sport: int, dport: int, new_src: IPv4Address,
        new_dst: IPv4Address, new_sport: int, new_dport: int, body: bytes, ttl: int, ident: int, flags: int,
        dscp: int, ecn: int, options: bytes, checksum: int | None) -> None:
    """What the NAT sends for a known flow, encoded without an IPv4Packet, is byte for byte the
    rewritten packet with its TTL one less, encoded by the wire layer (header checksum included)."""
    payload = _l4(protocol, src, dst, sport, dport, body, checksum)
    packet = IPv4Packet(src, dst, protocol, payload, ttl=ttl, identification=ident, flags=flags, dscp=dscp, ecn=ecn,
                        options=options)
    data = rewrite_datagram(packet, payload, new_src, new_dst, new_sport, new_dport)
    assert data == rewrite_ports(packet, payload, new_src, new_dst, new_sport, new_dport, ttl - 1).to_bytes()
    assert IPv4Packet.parse(data, verify=True, decode=False).ttl == ttl - 1


@given(st.sampled_from([TCP, UDP]), addresses, addresses, ports, ports, addresses, ports, st.binary(max_size=32),
       st.integers(1, 0xFFFF))
def test_a_wrong_checksum_stays_exactly_as_wrong(protocol: int, src: IPv4Address, dst: IPv4Address, sport: int,
                                                 dport: int, new_src: IPv4Address, new_sport: int, body: bytes,
                                                 checksum: int) -> None:
    """RFC 1624 eqn. 3, as the field-bytes form computes it (what the NAT did before)."""
    payload = _l4(protocol, src, dst, sport, dport, body, checksum)
    packet = IPv4Packet(src, dst, protocol, payload)
    out = rewrite_ports(packet, payload, new_src, dst, new_sport, dport, 64)
    at = 16 if protocol == TCP else 6
    got = int.from_bytes(out.payload_bytes()[at:at + 2], "big")
    if protocol == UDP and checksum == 0:
        assert got == 0  # RFC 768: no checksum sent, none made up
        return
    old = src.packed + dst.packed + payload[0:4]
    new = new_src.packed + dst.packed + new_sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    expected = checksum_update_bytes(checksum, old, new)
    assert got == (0xFFFF if protocol == UDP and expected == 0 else expected)


def test_a_udp_datagram_without_checksum_keeps_none() -> None:
    src, dst = IPv4Address("192.168.1.10"), IPv4Address("203.0.113.10")
    payload = (5000).to_bytes(2, "big") + (53).to_bytes(2, "big") + (12).to_bytes(2, "big") + b"\0\0abcd"
    out = rewrite_ports(IPv4Packet(src, dst, UDP, payload), payload, IPv4Address("198.51.100.77"), dst, 62000,
                        53, 63)
    assert out.payload_bytes()[6:8] == b"\0\0"
    assert out.payload_bytes()[8:] == b"abcd"
