"""netsim.wire: protocol headers as frozen values, to bytes and back.

Every value class has ``parse(data)`` (a classmethod) and ``to_bytes()``.  The contract, held by
property tests: ``parse`` of any bytes returns a value or raises :class:`WireError`, nothing else;
``parse(x.to_bytes()) == x``; and ``parse(b).to_bytes() == b`` for every well-formed ``b``.
Checksums are ``None`` when correct: computed on ``to_bytes()``, reported as ``None`` by
``parse`` when the received value is exactly the computed one; any other value is kept.
This layer has no clock, no randomness and no SimPy.
"""

from netsim.errors import ChecksumError, TruncatedError, WireError
from netsim.wire.arp import ARPOperation, ARPPacket
from netsim.wire.checksum import checksum_update, checksum_update_bytes, internet_checksum
from netsim.wire.ethernet import EthernetFrame, VLANTag
from netsim.wire.icmpv4 import (
    ICMPv4DestUnreachable,
    ICMPv4Echo,
    ICMPv4Message,
    ICMPv4Other,
    ICMPv4TimeExceeded,
    ICMPv4Type,
    TimeExceededCode,
    UnreachableCode,
    quote_datagram,
)
from netsim.wire.icmpv6 import (
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
    quote_ipv6_packet,
)
from netsim.wire.ipv4 import IPv4Flags, IPv4Packet
from netsim.wire.ipv6 import (
    IPv6DestinationOptions,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Packet,
    IPv6Routing,
    pad_ipv6_options,
)
from netsim.wire.mac import MACAddress
from netsim.wire.ndp import (
    NDPMTU,
    NDPOption,
    NDPOptionType,
    NDPPrefixInformation,
    NDPSourceLinkLayerAddress,
    NDPTargetLinkLayerAddress,
    NDPUnknownOption,
    ndp_options_to_bytes,
    parse_ndp_options,
)
from netsim.wire.numbers import EtherType, IPProto
from netsim.wire.tcp import TCPFlags, TCPSegment, flags_text
from netsim.wire.tcp_options import (
    TCPOption,
    TCPOptionEOL,
    TCPOptionMSS,
    TCPOptionNOP,
    TCPOptionSACK,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionUnknown,
    TCPOptionWindowScale,
    pad_options,
)
from netsim.wire.udp import UDPDatagram

__all__ = [
    "ARPOperation",
    "ARPPacket",
    "ChecksumError",
    "EtherType",
    "EthernetFrame",
    "ICMPv4DestUnreachable",
    "ICMPv4Echo",
    "ICMPv4Message",
    "ICMPv4Other",
    "ICMPv4TimeExceeded",
    "ICMPv4Type",
    "ICMPv6DestUnreachable",
    "ICMPv6Echo",
    "ICMPv6Message",
    "ICMPv6NeighborAdvertisement",
    "ICMPv6NeighborSolicitation",
    "ICMPv6Other",
    "ICMPv6PacketTooBig",
    "ICMPv6ParameterProblem",
    "ICMPv6ParameterProblemCode",
    "ICMPv6RouterAdvertisement",
    "ICMPv6RouterSolicitation",
    "ICMPv6TimeExceeded",
    "ICMPv6TimeExceededCode",
    "ICMPv6Type",
    "ICMPv6UnreachableCode",
    "IPProto",
    "IPv4Flags",
    "IPv4Packet",
    "IPv6DestinationOptions",
    "IPv6Fragment",
    "IPv6HopByHop",
    "IPv6Packet",
    "IPv6Routing",
    "MACAddress",
    "NDPMTU",
    "NDPOption",
    "NDPOptionType",
    "NDPPrefixInformation",
    "NDPSourceLinkLayerAddress",
    "NDPTargetLinkLayerAddress",
    "NDPUnknownOption",
    "TCPFlags",
    "TCPOption",
    "TCPOptionEOL",
    "TCPOptionMSS",
    "TCPOptionNOP",
    "TCPOptionSACK",
    "TCPOptionSACKPermitted",
    "TCPOptionTimestamps",
    "TCPOptionUnknown",
    "TCPOptionWindowScale",
    "TCPSegment",
    "TimeExceededCode",
    "TruncatedError",
    "UDPDatagram",
    "UnreachableCode",
    "VLANTag",
    "WireError",
    "checksum_update",
    "checksum_update_bytes",
    "flags_text",
    "internet_checksum",
    "ndp_options_to_bytes",
    "pad_ipv6_options",
    "pad_options",
    "parse_ndp_options",
    "quote_datagram",
    "quote_ipv6_packet",
]
