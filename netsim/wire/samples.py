"""A fixed set of frames, one or more of every protocol the wire layer encodes.

Used by ``netsim frames`` (the quick-start demo), by the tshark cross-check and by the
benchmark.  The values are spelled out, not drawn at random, so the file is the same every run.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from netsim.wire.arp import ARPPacket
from netsim.wire.ethernet import EthernetFrame, VLANTag
from netsim.wire.icmpv4 import ICMPv4DestUnreachable, ICMPv4Echo, ICMPv4TimeExceeded, quote_datagram
from netsim.wire.icmpv6 import (
    ICMPv6DestUnreachable,
    ICMPv6Echo,
    ICMPv6NeighborAdvertisement,
    ICMPv6NeighborSolicitation,
    ICMPv6PacketTooBig,
    ICMPv6RouterAdvertisement,
    ICMPv6RouterSolicitation,
    quote_ipv6_packet,
)
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ipv6 import IPv6DestinationOptions, IPv6HopByHop, IPv6Packet
from netsim.wire.mac import MACAddress
from netsim.wire.ndp import NDPMTU, NDPPrefixInformation, NDPSourceLinkLayerAddress, NDPTargetLinkLayerAddress
from netsim.wire.tcp import TCPFlags, TCPSegment
from netsim.wire.tcp_options import (
    TCPOptionMSS,
    TCPOptionNOP,
    TCPOptionSACK,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionWindowScale,
)
from netsim.wire.udp import UDPDatagram

CLIENT_MAC = MACAddress.parse("02:42:ac:11:00:02")
SERVER_MAC = MACAddress.parse("02:42:ac:11:00:03")
CLIENT = IPv4Address("10.0.0.5")
SERVER = IPv4Address("203.0.113.10")
CLIENT6 = IPv6Address("2001:db8::5")
SERVER6 = IPv6Address("2001:db8::10")


def _eth(payload: IPv4Packet | ARPPacket | bytes, ethertype: int, vlan: VLANTag | None = None) -> EthernetFrame:
    return EthernetFrame(dst=SERVER_MAC, src=CLIENT_MAC, ethertype=ethertype, payload=payload, vlan=vlan)


def _ip4(payload: TCPSegment | UDPDatagram | ICMPv4Echo | ICMPv4DestUnreachable | ICMPv4TimeExceeded,
         protocol: int, src: IPv4Address = CLIENT, dst: IPv4Address = SERVER, ttl: int = 64) -> IPv4Packet:
    return IPv4Packet(src=src, dst=dst, protocol=protocol, payload=payload, ttl=ttl, flags=2, identification=0x1234)


def ipv4_frames() -> list[EthernetFrame]:
    """ARP, IPv4 with TCP (handshake and data), UDP, ICMP echo and errors, a VLAN tag, fragments."""
    syn = TCPSegment(
        src_port=54321, dst_port=9000, seq=1000, flags=TCPFlags.SYN, window=64240,
        options=(TCPOptionMSS(1460), TCPOptionSACKPermitted(), TCPOptionTimestamps(100, 0),
                 TCPOptionNOP(), TCPOptionWindowScale(7)),
    )
    synack = TCPSegment(
        src_port=9000, dst_port=54321, seq=5000, ack=1001, flags=TCPFlags.SYN | TCPFlags.ACK, window=65160,
        options=(TCPOptionMSS(1460), TCPOptionSACKPermitted(), TCPOptionTimestamps(200, 100),
                 TCPOptionNOP(), TCPOptionWindowScale(7)),
    )
    data = TCPSegment(
        src_port=54321, dst_port=9000, seq=1001, ack=5001, flags=TCPFlags.PSH | TCPFlags.ACK, window=502,
        options=(TCPOptionNOP(), TCPOptionNOP(), TCPOptionTimestamps(110, 200)), payload=b"hello, netsim\n",
    )
    sack = TCPSegment(
        src_port=9000, dst_port=54321, seq=5001, ack=1015, flags=TCPFlags.ACK, window=509,
        options=(TCPOptionNOP(), TCPOptionNOP(), TCPOptionSACK(((2463, 3923),))),
    )
    dns_query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
    udp = UDPDatagram(src_port=40000, dst_port=53, payload=dns_query)
    probe = _ip4(UDPDatagram(src_port=40001, dst_port=33434, payload=b"netsim"), 17, ttl=1)
    refused = _ip4(UDPDatagram(src_port=40002, dst_port=9999, payload=b"x" * 20), 17)
    whole = UDPDatagram(src_port=40003, dst_port=7, payload=bytes(range(100))).to_bytes(src=CLIENT, dst=SERVER)
    big = IPv4Packet(src=CLIENT, dst=SERVER, protocol=17, identification=7, flags=1, payload=whole[:64])
    tail = IPv4Packet(src=CLIENT, dst=SERVER, protocol=17, identification=7, fragment_offset=8, payload=whole[64:])
    return [
        _eth(ARPPacket(1, CLIENT_MAC, CLIENT, MACAddress(bytes(6)), IPv4Address("10.0.0.1")), 0x0806),
        _eth(ARPPacket(2, SERVER_MAC, IPv4Address("10.0.0.1"), CLIENT_MAC, CLIENT), 0x0806),
        _eth(_ip4(syn, 6), 0x0800),
        _eth(_ip4(synack, 6, SERVER, CLIENT), 0x0800),
        _eth(_ip4(data, 6), 0x0800),
        _eth(_ip4(sack, 6, SERVER, CLIENT), 0x0800),
        _eth(_ip4(udp, 17), 0x0800, VLANTag(vid=10, pcp=5)),
        _eth(_ip4(ICMPv4Echo(8, 0x4242, 1, b"ping payload"), 1), 0x0800),
        _eth(_ip4(ICMPv4Echo(0, 0x4242, 1, b"ping payload"), 1, SERVER, CLIENT), 0x0800),
        _eth(_ip4(ICMPv4TimeExceeded(0, quote_datagram(probe.to_bytes())), 1, IPv4Address("10.0.0.1"), CLIENT),
             0x0800),
        _eth(_ip4(ICMPv4DestUnreachable(3, quote_datagram(refused.to_bytes())), 1, SERVER, CLIENT), 0x0800),
        _eth(_ip4(ICMPv4DestUnreachable(4, quote_datagram(_ip4(data, 6).to_bytes(), 28), next_hop_mtu=576), 1,
                  IPv4Address("10.0.0.1"), CLIENT), 0x0800),
        _eth(big, 0x0800),
        _eth(tail, 0x0800),
    ]


def _eth6(packet: IPv6Packet, dst: MACAddress = SERVER_MAC, src: MACAddress = CLIENT_MAC) -> EthernetFrame:
    return EthernetFrame(dst=dst, src=src, ethertype=0x86DD, payload=packet)


def ipv6_frames() -> list[EthernetFrame]:
    """NDP (NS/NA, RS/RA), ICMPv6 echo and errors, TCP and UDP over IPv6, an extension chain."""
    router = IPv6Address("fe80::1")
    client_ll = IPv6Address("fe80::42:acff:fe11:2")
    solicited = IPv6Address("ff02::1:ff00:10")  # solicited-node multicast of 2001:db8::10
    all_routers, all_nodes = IPv6Address("ff02::2"), IPv6Address("ff02::1")
    syn = TCPSegment(
        src_port=54322, dst_port=9000, seq=7000, flags=TCPFlags.SYN, window=64800,
        options=(TCPOptionMSS(1440), TCPOptionSACKPermitted(), TCPOptionTimestamps(300, 0),
                 TCPOptionNOP(), TCPOptionWindowScale(7)),
    )
    refused = IPv6Packet(src=CLIENT6, dst=SERVER6, next_header=17,
                         payload=UDPDatagram(src_port=40004, dst_port=9999, payload=b"closed?"))
    big = IPv6Packet(src=CLIENT6, dst=SERVER6, next_header=17,
                     payload=UDPDatagram(src_port=40005, dst_port=40006, payload=bytes(1400)))
    return [
        _eth6(IPv6Packet(src=CLIENT6, dst=solicited, next_header=58, hop_limit=255,
                         payload=ICMPv6NeighborSolicitation(SERVER6, options=(NDPSourceLinkLayerAddress(CLIENT_MAC),))),
              dst=MACAddress.parse("33:33:ff:00:00:10")),
        _eth6(IPv6Packet(src=SERVER6, dst=CLIENT6, next_header=58, hop_limit=255,
                         payload=ICMPv6NeighborAdvertisement(SERVER6, solicited=True, override=True,
                                                             options=(NDPTargetLinkLayerAddress(SERVER_MAC),))),
              dst=CLIENT_MAC, src=SERVER_MAC),
        _eth6(IPv6Packet(src=client_ll, dst=all_routers, next_header=58, hop_limit=255,
                         payload=ICMPv6RouterSolicitation(options=(NDPSourceLinkLayerAddress(CLIENT_MAC),))),
              dst=MACAddress.parse("33:33:00:00:00:02")),
        _eth6(IPv6Packet(src=router, dst=all_nodes, next_header=58, hop_limit=255,
                         payload=ICMPv6RouterAdvertisement(
                             64, router_lifetime=1800,
                             options=(NDPSourceLinkLayerAddress(SERVER_MAC), NDPMTU(1500),
                                      NDPPrefixInformation(IPv6Address("2001:db8::"), 64)))),
              dst=MACAddress.parse("33:33:00:00:00:01"), src=SERVER_MAC),
        _eth6(IPv6Packet(src=CLIENT6, dst=SERVER6, next_header=58, payload=ICMPv6Echo(128, 0x4343, 1, b"ping6"))),
        _eth6(IPv6Packet(src=SERVER6, dst=CLIENT6, next_header=58, payload=ICMPv6Echo(129, 0x4343, 1, b"ping6")),
              dst=CLIENT_MAC, src=SERVER_MAC),
        _eth6(IPv6Packet(src=CLIENT6, dst=SERVER6, next_header=6, payload=syn, flow_label=0x12345)),
        _eth6(refused),
        _eth6(IPv6Packet(src=SERVER6, dst=CLIENT6, next_header=58,
                         payload=ICMPv6DestUnreachable(4, quote_ipv6_packet(refused.to_bytes()))),
              dst=CLIENT_MAC, src=SERVER_MAC),
        _eth6(IPv6Packet(src=IPv6Address("2001:db8:ffff::1"), dst=CLIENT6, next_header=58,
                         payload=ICMPv6PacketTooBig(1280, quote_ipv6_packet(big.to_bytes()))),
              dst=CLIENT_MAC, src=SERVER_MAC),
        _eth6(IPv6Packet(src=CLIENT6, dst=SERVER6, next_header=17, hop_limit=1,
                         extensions=(IPv6HopByHop(b"\x05\x02\x00\x00\x01\x00"), IPv6DestinationOptions()),
                         payload=UDPDatagram(src_port=40007, dst_port=40008, payload=b"extension headers"))),
    ]


def sample_frames() -> list[EthernetFrame]:
    """Every sample frame, IPv4 and IPv6."""
    return ipv4_frames() + ipv6_frames()
