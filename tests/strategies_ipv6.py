"""Hypothesis strategies for the IPv6 side of netsim.wire: IPv6 and its extension headers, ICMPv6,
NDP options.  Written out field by field, like ``tests/strategies.py`` (to be merged into it).

The "clean" strategies at the end draw only what a real stack sends (correct checksums, padded
option TLVs, routes that list whole addresses), for oracles such as scapy.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

from hypothesis import strategies as st

from netsim.wire.icmpv6 import (
    ICMPv6DestUnreachable,
    ICMPv6Echo,
    ICMPv6NeighborAdvertisement,
    ICMPv6NeighborSolicitation,
    ICMPv6Other,
    ICMPv6PacketTooBig,
    ICMPv6ParameterProblem,
    ICMPv6RouterAdvertisement,
    ICMPv6RouterSolicitation,
    ICMPv6TimeExceeded,
    quote_ipv6_packet,
)
from netsim.wire.ipv6 import (
    IPv6DestinationOptions,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Packet,
    IPv6Routing,
    pad_ipv6_options,
)
from netsim.wire.ndp import (
    NDPMTU,
    NDPPrefixInformation,
    NDPSourceLinkLayerAddress,
    NDPTargetLinkLayerAddress,
    NDPUnknownOption,
)
from tests.strategies import (
    checksums,
    clean_tcp_segments,
    clean_udp_datagrams,
    ipv6s,
    macs,
    payloads,
    tcp_segments,
    u8,
    u16,
    u32,
    udp_datagrams,
)

_CHAIN_TYPES = (0, 43, 44, 60)
_DECODED_TYPES = (6, 17, 58)

booleans = st.booleans()


def _padded(min_units: int = 0, max_units: int = 4, fixed: int = 2) -> st.SearchStrategy[bytes]:
    """Bytes whose length plus ``fixed`` is a whole number of 8-byte units (at least one)."""
    return st.integers(min_units, max_units).flatmap(
        lambda units: st.binary(min_size=8 * (units + 1) - fixed, max_size=8 * (units + 1) - fixed)
    )


# --- NDP options -------------------------------------------------------------------------------

ndp_options = st.one_of(
    st.builds(NDPSourceLinkLayerAddress, macs),
    st.builds(NDPTargetLinkLayerAddress, macs),
    st.builds(
        NDPPrefixInformation,
        prefix=ipv6s, prefix_length=u8, on_link=booleans, autonomous=booleans, valid_lifetime=u32,
        preferred_lifetime=u32, flags_reserved=st.integers(0, 63), reserved2=u32,
    ),
    st.builds(NDPMTU, u32, u16),
    st.builds(NDPUnknownOption, u8.filter(lambda t: t not in (1, 2, 3, 5)), _padded(0, 3)),
)
ndp_option_tuples = st.lists(ndp_options, max_size=4).map(tuple)

# --- ICMPv6 ------------------------------------------------------------------------------------

icmpv6_errors = st.one_of(
    st.builds(ICMPv6DestUnreachable, u8, payloads, u32, checksums),
    st.builds(ICMPv6PacketTooBig, u32, payloads, u8, checksums),
    st.builds(ICMPv6TimeExceeded, u8, payloads, u32, checksums),
    st.builds(ICMPv6ParameterProblem, u8, u32, payloads, checksums),
)
icmpv6_ndp_messages = st.one_of(
    st.builds(ICMPv6RouterSolicitation, u32, ndp_option_tuples, u8, checksums),
    st.builds(
        ICMPv6RouterAdvertisement,
        cur_hop_limit=u8, managed=booleans, other=booleans, flags_reserved=st.integers(0, 63), router_lifetime=u16,
        reachable_time=u32, retrans_timer=u32, options=ndp_option_tuples, code=u8, checksum=checksums,
    ),
    st.builds(ICMPv6NeighborSolicitation, ipv6s, u32, ndp_option_tuples, u8, checksums),
    st.builds(
        ICMPv6NeighborAdvertisement,
        target=ipv6s, router=booleans, solicited=booleans, override=booleans, reserved=st.integers(0, 2**29 - 1),
        options=ndp_option_tuples, code=u8, checksum=checksums,
    ),
)
icmpv6_messages = st.one_of(
    st.builds(ICMPv6Echo, st.sampled_from([128, 129]), u16, u16, payloads, u8, checksums),
    icmpv6_errors,
    icmpv6_ndp_messages,
    st.builds(
        ICMPv6Other, u8.filter(lambda t: t not in (1, 2, 3, 4, 128, 129, 133, 134, 135, 136)), u8, payloads, checksums
    ),
)

# --- IPv6 extension headers --------------------------------------------------------------------

hop_by_hop_headers = st.builds(
    IPv6HopByHop, st.one_of(_padded(0, 3), st.binary(max_size=13).map(pad_ipv6_options))
)
destination_options_headers = st.builds(
    IPv6DestinationOptions, st.one_of(_padded(0, 3), st.binary(max_size=13).map(pad_ipv6_options))
)


@st.composite
def routing_headers(draw: st.DrawFn) -> IPv6Routing:
    """Any routing type and data, or a type 0/2/4 route listing whole addresses (which moves the
    upper-layer pseudo-header's destination when segments are left)."""
    if draw(st.integers(0, 2)) == 0:
        return IPv6Routing(draw(u8), draw(u8), draw(_padded(0, 4, fixed=4)))
    routing_type = draw(st.sampled_from([0, 2, 4]))
    addresses = draw(st.lists(ipv6s, min_size=1, max_size=3))
    prefix = draw(st.binary(min_size=4, max_size=4))
    segments_left = draw(st.one_of(st.integers(1, len(addresses)), st.just(0)))
    return IPv6Routing(routing_type, segments_left, prefix + b"".join(a.packed for a in addresses))


atomic_fragments = st.builds(IPv6Fragment, st.just(0), st.just(False), u32, u8, st.integers(0, 3))
first_fragments = st.builds(IPv6Fragment, st.just(0), st.just(True), u32, u8, st.integers(0, 3))
later_fragments = st.builds(IPv6Fragment, st.integers(1, 0x1FFF), booleans, u32, u8, st.integers(0, 3))
fragment_headers = st.one_of(atomic_fragments, first_fragments, later_fragments)
extension_headers = st.one_of(hop_by_hop_headers, routing_headers(), fragment_headers, destination_options_headers)


@st.composite
def extension_chains(draw: st.DrawFn) -> tuple[Any, ...]:
    """A chain ``parse`` can give back: Hop-by-Hop only first, a later fragment only last.

    Most chains have no Fragment header, so that most packets carry a decoded payload.
    """
    chain: list[Any] = []
    if draw(st.integers(0, 3)) == 0:
        chain.append(draw(hop_by_hop_headers))
    chain.extend(draw(st.lists(st.one_of(routing_headers(), destination_options_headers), max_size=3)))
    fragment = draw(st.sampled_from(["none"] * 6 + ["atomic", "first", "first", "later", "later"]))
    if fragment == "later":
        chain.append(draw(later_fragments))
    elif fragment != "none":
        header = draw(atomic_fragments if fragment == "atomic" else first_fragments)
        chain.insert(draw(st.integers(1 if chain and type(chain[0]) is IPv6HopByHop else 0, len(chain))), header)
    return tuple(chain)


# --- IPv6 packets ------------------------------------------------------------------------------


@st.composite
def ipv6_packets(draw: st.DrawFn, decoded: bool = True) -> IPv6Packet:
    """An IPv6 packet; with ``decoded`` a whole one carries a TCP/UDP/ICMPv6 value as payload."""
    chain = draw(extension_chains())
    later = bool(chain) and type(chain[-1]) is IPv6Fragment and chain[-1].offset != 0
    fragmented = any(type(h) is IPv6Fragment and (h.offset or h.more_fragments) for h in chain)
    kind = draw(st.sampled_from(["tcp", "udp", "icmpv6", "raw"])) if decoded and not fragmented else "raw"
    payload: object
    if kind == "tcp":
        next_header, payload = 6, draw(tcp_segments)
    elif kind == "udp":
        next_header, payload = 17, draw(udp_datagrams)
    elif kind == "icmpv6":
        next_header, payload = 58, draw(icmpv6_messages)
    else:
        # after a later fragment any value (the chain stops there); otherwise not an extension
        # header type, and (for a decodable packet) not a protocol parse would decode
        next_header = draw(u8.filter(
            lambda nh: later or (nh not in _CHAIN_TYPES and (fragmented or not decoded or nh not in _DECODED_TYPES))
        ))
        payload = draw(payloads)
    return IPv6Packet(
        src=draw(ipv6s), dst=draw(ipv6s), next_header=next_header, payload=payload,
        hop_limit=draw(u8), traffic_class=draw(u8), flow_label=draw(st.integers(0, 2**20 - 1)), extensions=chain,
    )


# --- what a real stack sends (for oracles) -----------------------------------------------------

_PADN = b"\x01\x04\x00\x00\x00\x00"
_ROUTER_ALERT = b"\x05\x02\x00\x00\x01\x00"  # RFC 2711: only ever in a Hop-by-Hop header
_clean_hop_by_hop_options = st.sampled_from([_PADN, _ROUTER_ALERT])
unicast_ipv6s = ipv6s.filter(lambda a: not a.is_multicast)
clean_ndp_options = st.one_of(
    st.builds(NDPSourceLinkLayerAddress, macs),
    st.builds(NDPTargetLinkLayerAddress, macs),
    st.builds(NDPMTU, st.integers(1280, 9000)),
    st.builds(
        NDPPrefixInformation,
        prefix=st.integers(0, 2**64 - 1).map(lambda n: IPv6Address(n << 64)),
        prefix_length=st.just(64), on_link=booleans, autonomous=booleans, valid_lifetime=u32,
        preferred_lifetime=u32,
    ),
)


@st.composite
def clean_icmpv6_messages(draw: st.DrawFn, allow_errors: bool = True) -> Any:
    kinds = ["echo", "ns", "na", "rs", "ra"] + (["unreach", "too-big", "time", "param"] if allow_errors else [])
    kind = draw(st.sampled_from(kinds))
    options = tuple(draw(st.lists(clean_ndp_options, max_size=3)))
    if kind == "echo":
        return ICMPv6Echo(draw(st.sampled_from([128, 129])), draw(u16), draw(u16), draw(payloads))
    if kind == "ns":
        return ICMPv6NeighborSolicitation(draw(ipv6s), options=options)
    if kind == "na":
        return ICMPv6NeighborAdvertisement(draw(ipv6s), draw(booleans), draw(booleans), draw(booleans), options=options)
    if kind == "rs":
        return ICMPv6RouterSolicitation(options=options)
    if kind == "ra":
        return ICMPv6RouterAdvertisement(
            draw(u8), draw(booleans), draw(booleans), router_lifetime=draw(u16), reachable_time=draw(u32),
            retrans_timer=draw(u32), options=options,
        )
    inner = quote_ipv6_packet(draw(clean_ipv6_packets(allow_icmp_errors=False)).to_bytes())
    if kind == "unreach":
        return ICMPv6DestUnreachable(draw(st.integers(0, 7)), inner)
    if kind == "too-big":
        return ICMPv6PacketTooBig(draw(st.integers(1280, 9000)), inner)
    if kind == "time":
        return ICMPv6TimeExceeded(draw(st.integers(0, 1)), inner)
    return ICMPv6ParameterProblem(draw(st.integers(0, 2)), draw(st.integers(0, 40)), inner)


@st.composite
def clean_ipv6_packets(draw: st.DrawFn, allow_icmp_errors: bool = True) -> IPv6Packet:
    chain: list[Any] = []
    if draw(booleans):
        chain.append(IPv6HopByHop(draw(_clean_hop_by_hop_options)))
    if draw(booleans):
        chain.append(IPv6DestinationOptions(_PADN))
    # Wireshark moves the pseudo-header destination for a Routing header in the packet itself but
    # not inside the packet an ICMPv6 error quotes: keep routes out of quoted packets.
    if allow_icmp_errors and draw(booleans):
        addresses = draw(st.lists(unicast_ipv6s, min_size=1, max_size=3))
        route = bytes(4) + b"".join(a.packed for a in addresses)
        chain.append(IPv6Routing(0, draw(st.integers(0, len(addresses))), route))
    if draw(booleans):
        chain.append(IPv6Fragment(identification=draw(u32)))  # atomic
    kind = draw(st.sampled_from(["tcp", "udp", "icmpv6"]))
    payload: Any
    if kind == "tcp":
        next_header, payload = 6, draw(clean_tcp_segments())
    elif kind == "udp":
        next_header, payload = 17, draw(clean_udp_datagrams)
    else:
        next_header, payload = 58, draw(clean_icmpv6_messages(allow_errors=allow_icmp_errors))
    return IPv6Packet(
        src=draw(ipv6s), dst=draw(ipv6s), next_header=next_header, payload=payload, hop_limit=draw(u8),
        traffic_class=draw(u8), flow_label=draw(st.integers(0, 2**20 - 1)), extensions=tuple(chain),
    )
