"""scapy, an independent implementation, reads netsim's bytes to the same field values and
computes the same checksums."""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import given, settings
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror
from scapy.layers.l2 import ARP, Dot1Q, Ether

from netsim.wire import (
    ARPPacket,
    EthernetFrame,
    ICMPv4DestUnreachable,
    ICMPv4Echo,
    ICMPv4TimeExceeded,
    IPv4Packet,
    TCPOptionMSS,
    TCPOptionNOP,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionWindowScale,
    TCPSegment,
    UDPDatagram,
)
from tests import strategies as S

SCAPY = settings(max_examples=150)


def _scapy_recomputed(packet: Any) -> bytes:
    """The bytes scapy builds after forgetting every checksum and length it can recompute."""
    for layer in (IP, TCP, UDP, ICMP):
        if packet.haslayer(layer):
            inner = packet[layer]
            if layer in (IP, UDP) or not isinstance(inner.underlayer, IPerror):
                del inner.chksum
            if layer in (IP, UDP):
                del inner.len
    return bytes(packet.__class__(bytes(packet)))


def _check_tcp(ours: TCPSegment, theirs: Any) -> None:
    assert (theirs.sport, theirs.dport, theirs.seq, theirs.ack) == (ours.src_port, ours.dst_port, ours.seq, ours.ack)
    assert (int(theirs.flags), theirs.window, theirs.urgptr) == (ours.flags & 0xFF | ours.flags & 0x100, ours.window,
                                                                 ours.urgent)
    assert theirs.dataofs * 4 == ours.header_len
    names = {
        TCPOptionMSS: "MSS", TCPOptionWindowScale: "WScale", TCPOptionSACKPermitted: "SAckOK",
        TCPOptionTimestamps: "Timestamp", TCPOptionNOP: "NOP",
    }
    expected = []
    for option in ours.options:
        name = names.get(type(option))
        if name == "MSS":
            expected.append((name, option.mss))  # type: ignore[union-attr]
        elif name == "WScale":
            expected.append((name, option.shift))  # type: ignore[union-attr]
        elif name == "Timestamp":
            expected.append((name, (option.tsval, option.tsecr)))  # type: ignore[union-attr]
        elif name is not None:
            expected.append((name, None))
    got = [(name, value if value not in (b"", None) else None) for name, value in theirs.options]
    assert got == expected
    assert bytes(theirs.payload) == ours.payload


@SCAPY
@given(frame=S.clean_ethernet_frames())
def test_scapy_reads_the_same_fields_and_checksums(frame: EthernetFrame) -> None:
    data = frame.to_bytes()
    # scapy folds Ethernet padding into the last layer's payload: compare fields without it
    theirs = Ether(attrs.evolve(frame, trailer=b"").to_bytes())
    assert (theirs.dst, theirs.src) == (str(frame.dst), str(frame.src))
    if frame.vlan is not None:
        tag = theirs[Dot1Q]
        assert (tag.vlan, tag.prio, tag.dei, tag.type) == (frame.vlan.vid, frame.vlan.pcp, frame.vlan.dei,
                                                           frame.ethertype)
    else:
        assert theirs.type == frame.ethertype
    payload = frame.payload
    if isinstance(payload, ARPPacket):
        arp = theirs[ARP]
        assert (arp.op, arp.hwsrc, arp.psrc, arp.hwdst, arp.pdst) == (
            payload.operation, str(payload.sender_mac), str(payload.sender_ip), str(payload.target_mac),
            str(payload.target_ip),
        )
        return
    assert isinstance(payload, IPv4Packet)
    ip = theirs[IP]
    wire = payload.to_bytes()
    assert (ip.version, ip.ihl, ip.tos, ip.len, ip.id, int(ip.flags), ip.frag, ip.ttl, ip.proto) == (
        4, payload.header_len // 4, payload.dscp << 2 | payload.ecn, len(wire), payload.identification,
        payload.flags, payload.fragment_offset, payload.ttl, payload.protocol,
    )
    assert (ip.src, ip.dst, ip.chksum) == (str(payload.src), str(payload.dst), int.from_bytes(wire[10:12], "big"))
    inner = payload.payload
    if isinstance(inner, TCPSegment):
        _check_tcp(inner, theirs[TCP])
        assert theirs[TCP].chksum == int.from_bytes(wire[payload.header_len + 16 : payload.header_len + 18], "big")
    elif isinstance(inner, UDPDatagram):
        udp = theirs[UDP]
        assert (udp.sport, udp.dport, udp.len, bytes(udp.payload)) == (
            inner.src_port, inner.dst_port, 8 + len(inner.payload), inner.payload,
        )
    elif isinstance(inner, ICMPv4Echo):
        icmp = theirs[ICMP]
        assert (icmp.type, icmp.code, icmp.id, icmp.seq, bytes(icmp.payload)) == (
            inner.type, inner.code, inner.identifier, inner.sequence, inner.data,
        )
    elif isinstance(inner, ICMPv4DestUnreachable | ICMPv4TimeExceeded):
        icmp = theirs[ICMP]
        assert (icmp.type, icmp.code) == (inner.type, inner.code)
        if isinstance(inner, ICMPv4DestUnreachable) and inner.code == 4:
            assert icmp.nexthopmtu == inner.next_hop_mtu
        assert bytes(icmp.payload)[: len(inner.original)] == inner.original
    # scapy recomputes every checksum and length to exactly our bytes, padding included
    assert _scapy_recomputed(Ether(data)) == data


@SCAPY
@given(segment=S.clean_tcp_segments(), src=S.ipv4s, dst=S.ipv4s)
def test_scapy_tcp_checksum_matches(segment: TCPSegment, src: Any, dst: Any) -> None:
    packet = IPv4Packet(src=src, dst=dst, protocol=6, payload=segment)
    theirs = IP(packet.to_bytes())
    ours_checksum = theirs[TCP].chksum
    del theirs[TCP].chksum
    assert IP(bytes(theirs))[TCP].chksum == ours_checksum


@SCAPY
@given(datagram=S.udp_datagrams, src=S.ipv4s, dst=S.ipv4s)
def test_scapy_udp_checksum_matches(datagram: UDPDatagram, src: Any, dst: Any) -> None:
    packet = IPv4Packet(src=src, dst=dst, protocol=17, payload=UDPDatagram(datagram.src_port, datagram.dst_port,
                                                                           datagram.payload))
    theirs = IP(packet.to_bytes())
    ours_checksum = theirs[UDP].chksum
    del theirs[UDP].chksum
    assert IP(bytes(theirs))[UDP].chksum == ours_checksum


def test_scapy_built_packet_parses_in_netsim() -> None:
    theirs = Ether(dst="02:42:ac:11:00:03", src="02:42:ac:11:00:02") / IP(src="10.0.0.5", dst="203.0.113.10",
                                                                          id=7, flags="DF") / TCP(
        sport=54321, dport=9000, seq=1, flags="S", window=64240,
        options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)],
    )
    frame = EthernetFrame.parse(bytes(theirs), verify=True)
    packet = frame.payload
    assert isinstance(packet, IPv4Packet) and packet.dont_fragment and packet.identification == 7
    segment = packet.payload
    assert isinstance(segment, TCPSegment)
    assert segment.options == (TCPOptionMSS(1460), TCPOptionSACKPermitted(), TCPOptionTimestamps(1, 0),
                               TCPOptionNOP(), TCPOptionWindowScale(7))
    assert segment.checksum is None  # scapy's checksum is the one we compute
    assert frame.to_bytes() == bytes(theirs)
