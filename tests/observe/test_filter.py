"""Capture filters (pcap-filter(7) syntax): errors that say where and what, libpcap's precedence,
shorthand and VLAN rules on hand-made frames, and totality (matching never raises).

tcpdump itself is the oracle in ``test_filter_tcpdump.py``; these tests pin the behaviours one
by one, so a regression names the rule it broke, and they run where tcpdump is not installed.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.errors import NetsimError
from netsim.observe.filter import FilterError, PacketFilter, compile_filter
from netsim.wire import (
    ARPPacket,
    EthernetFrame,
    ICMPv4Echo,
    ICMPv6Echo,
    IPv4Packet,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Packet,
    MACAddress,
    TCPSegment,
    UDPDatagram,
    VLANTag,
)
from tests import strategies as S
from tests.observe.test_filter_tcpdump import EXPRESSIONS

A = MACAddress.parse("02:42:ac:11:00:02")
B = MACAddress.parse("02:42:ac:11:00:03")
H5, H6, H9 = IPv4Address("10.0.0.5"), IPv4Address("10.0.0.6"), IPv4Address("10.0.0.9")
V5, V6 = IPv6Address("2001:db8::5"), IPv6Address("2001:db8::6")


def eth(payload: Any, *, vlan: int | None = None, dst: MACAddress = B, src: MACAddress = A) -> EthernetFrame:
    ethertype = {IPv4Packet: 0x0800, IPv6Packet: 0x86DD, ARPPacket: 0x0806}[type(payload)]
    return EthernetFrame(dst, src, ethertype, payload, VLANTag(vlan) if vlan is not None else None)


def tcp4(src: IPv4Address = H5, dst: IPv4Address = H6, sport: int = 54321, dport: int = 80, flags: int = 0x10,
         **fields: Any) -> IPv4Packet:
    return IPv4Packet(src=src, dst=dst, protocol=6, payload=TCPSegment(sport, dport, flags=flags), **fields)


def udp4(src: IPv4Address = H5, dst: IPv4Address = H6, sport: int = 40000, dport: int = 53) -> IPv4Packet:
    return IPv4Packet(src=src, dst=dst, protocol=17, payload=UDPDatagram(sport, dport))


def matches(expression: str, frame: EthernetFrame) -> bool:
    compiled = compile_filter(expression)
    verdict = compiled.matches(frame)
    assert compiled.matches_bytes(frame.to_bytes()) is verdict, "matches and matches_bytes disagree"
    return verdict


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("port foo", "syntax error at 5: expected a port number after 'port', got 'foo'"),
        ("tcp and src port foo", "syntax error at 17: expected a port number after 'src port', got 'foo'"),
        ("(tcp", "syntax error at 4: the expression ends too early: expected ')' to close the '(' at 0"),
        ("tcp and", "syntax error at 7: the expression ends too early"),
        ("not", "the expression ends too early"),
        ("host", "syntax error at 4: the expression ends too early: expected an IPv4 or IPv6 address after 'host'"),
        ("tcp)", "syntax error at 3: ')' without a matching '('"),
        ("tcp udp", "syntax error at 4: expected 'and', 'or' or the end of the expression, got 'udp'"),
        ("host 10.0.0.300", "syntax error at 5: expected an IPv4 or IPv6 address after 'host', got '10.0.0.300'"),
        ("host 010.0.0.1", "leading zero"),
        ("host gateway1", "host names are not looked up"),
        ("net 10.0.0.1/8", "invalid filter at 4: non-network bits set in '10.0.0.1/8'"),
        ("net 10.0.0.1 mask 255.0.0.0", "non-network bits set"),
        ("net 10.0.0.0/33", "prefix length 33 is longer than an IPv4 address"),
        ("net ::/129", "prefix length 129 is out of range 0..128"),
        ("src 10.0.0.0/8", "is a network: say 'net 10.0.0.0/8'"),
        ("host 10.0.0.1 mask 255.0.0.0", "'mask' is for networks"),
        ("net 2001:db8:: mask ffff::", "'mask' is for IPv4 networks"),
        ("src 10.0.0", "not a whole IPv4 address"),
        ("tcp host 10.0.0.1", "invalid filter at 9: 'tcp' cannot qualify a host or network (only a port)"),
        ("ip port 80", "'ip' cannot qualify 'port'"),
        ("ip6 host 10.0.0.1", "'ip6' cannot qualify an IPv4 address"),
        ("arp host ::1", "'arp' cannot qualify an IPv6 address"),
        ("frobnicate", "syntax error at 0: expected a primitive such as 'host 10.0.0.1', 'port 80' or 'tcp'"),
        ("port 70000", "invalid filter at 5: port 70000 is out of range 0..65535"),
        ("port 08", "octal"),
        ("portrange 1-70000", "port 70000 is out of range"),
        ("vlan 4096", "VLAN id 4096 is out of range 0..4095"),
        ("tcp $", "syntax error at 4: unexpected character '$'"),
        ("tcp or 80", "syntax error at 7: expected a primitive such as 'host 80'"),
        ("vlan 10 or 20", "there is none here"),
        ("port 80 or 10.0.0.1", "expected a port number for 'port' (carried over from the primitive before)"),
        ("ip proto tcp", "'tcp' is a keyword: escape it as '\\tcp'"),
        ("ip proto \\frob", "unknown IP protocol 'frob'"),
        ("ip proto 256", "protocol 256 is out of range 0..255"),
        ("tcp proto 6", "'tcp proto' is not a filter"),
        ("host 02:42:ac:11:00:02", "a MAC address needs 'ether': say 'ether host 02:42:ac:11:00:02'"),
        ("ether host 10.0.0.1", "expected a MAC address such as 02:42:ac:11:00:02 after 'ether host'"),
        ("ether net 02:42:ac:11:00:02", "'ether net' is not a filter"),
        ("ether", "'ether' alone matches nothing"),
        ("ip6 broadcast", "'ip6 broadcast' is not a filter"),
        ("gateway router1", "'gateway' is not supported by netsim's filters"),
        ("tcp[12] = 5", "tcp[12] is not a field netsim's filters read"),
        ("tcp[tcpflags", "'[' without a matching ']'"),
        ("icmp[tcpflags] = 2", "'tcpflags' is a field of tcp, not of icmp"),
        ("len + 14 > 100", "arithmetic with '+' is not supported"),
        ("len ~ 5", "unexpected character '~'"),
        ("len 5", "expected a comparison"),
        ("less", "expected a length after 'less'"),
        ("ip proto \\", "a backslash must be followed by a name"),
    ],
)
def test_a_bad_filter_says_where_and_what(expression: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(expression)
    assert message in str(caught.value)


def test_filter_error_is_a_value_error_with_the_position_and_token() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter("tcp and port http")
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, NetsimError)
    assert (error.position, error.token, error.expression) == (13, "http", "tcp and port http")
    assert str(error).startswith("syntax error at 13: ")
    with pytest.raises(FilterError) as at_end:
        compile_filter("tcp and ")
    assert (at_end.value.position, at_end.value.token) == (8, "end of expression")


def test_a_filter_is_a_frozen_value_named_by_its_expression() -> None:
    first, second = compile_filter("tcp port 80"), compile_filter("tcp port 80")
    assert isinstance(first, PacketFilter)
    assert first == second
    assert first != compile_filter("udp port 80")
    assert "tcp port 80" in repr(first)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        first.expression = "udp"  # type: ignore[misc]
    assert first(eth(tcp4())) is True


# --- the empty filter, lengths, short and broken frames ---------------------------------------


@pytest.mark.parametrize("expression", ["", "   ", "\t\n"])
def test_the_empty_filter_keeps_everything(expression: str) -> None:
    compiled = compile_filter(expression)
    assert compiled.matches(eth(tcp4()))
    assert compiled.matches_bytes(b"\x00" * 5)
    assert compiled.matches_bytes(b"")


def test_len_less_and_greater_use_the_length_on_the_wire() -> None:
    frame = eth(tcp4())
    size = len(frame.to_bytes())
    assert matches(f"len = {size}", frame)
    assert matches(f"len <= {size} and len >= {size}", frame)
    assert not matches(f"len < {size} or len > {size}", frame)
    assert matches(f"less {size}", frame) and not matches(f"less {size - 1}", frame)
    assert matches(f"greater {size}", frame) and not matches(f"greater {size + 1}", frame)
    assert matches(f"len == {size:#x}", frame)  # numbers in C syntax
    assert matches(f"len == 0{size:o}", frame)


def test_a_frame_shorter_than_an_ethernet_header_matches_what_libpcap_can_read_of_it() -> None:
    runt = b"\xff" * 6 + b"\x02" * 5
    assert compile_filter("len < 14").matches_bytes(runt)
    assert compile_filter("ether broadcast").matches_bytes(runt)
    # a read past the end rejects the frame outright, even under 'not'
    assert not compile_filter("tcp").matches_bytes(runt)
    assert not compile_filter("not tcp").matches_bytes(runt)
    assert not compile_filter("ether src 02:02:02:02:02:02").matches_bytes(runt)


def test_headers_that_do_not_decode_are_read_as_raw_bytes_like_libpcap_does() -> None:
    # IPv4 header with a bad Total Length: netsim does not decode it, libpcap reads the fields
    header = b"\x45\x00\x00\xff" + bytes(5) + b"\x06" + bytes(2) + H5.packed + H6.packed + b"\x00\x50\x23\x28"
    data = B.packed + A.packed + b"\x08\x00" + header
    for expression in ("ip", "tcp", "host 10.0.0.5", "dst 10.0.0.6", "port 80", "dst port 9000", "net 10.0.0.0/8"):
        assert compile_filter(expression).matches_bytes(data), expression
    for expression in ("udp", "arp", "host 10.0.0.9", "dst port 80", "src port 9000", "vlan"):
        assert not compile_filter(expression).matches_bytes(data), expression


# --- precedence and shorthand -----------------------------------------------------------------


def test_and_and_or_have_equal_precedence_and_group_left_to_right() -> None:
    """pcap-filter(7): "Alternation and concatenation have equal precedence and associate left to right"."""
    tcp_80 = eth(tcp4(dport=80))
    assert not matches("tcp or udp and port 53", tcp_80)  # (tcp or udp) and port 53
    assert matches("tcp or (udp and port 53)", tcp_80)
    assert matches("udp and port 53 or tcp", tcp_80)
    other_443 = eth(tcp4(src=H9, dst=H9, dport=443))
    assert matches("host 10.0.0.5 and port 80 or 443", other_443)  # (host and port 80) or port 443
    assert matches("tcp && udp || tcp", tcp_80)


def test_not_binds_tightest() -> None:
    udp, tcp = eth(udp4()), eth(tcp4())
    assert matches("not tcp and udp", udp) and not matches("not tcp and udp", tcp)
    assert matches("not tcp or udp", udp) and not matches("not tcp or udp", tcp)
    assert matches("! tcp && ! arp", udp)
    assert matches("not not tcp", tcp)
    assert not matches("not (tcp or udp)", udp)


def test_a_bare_id_takes_the_qualifiers_of_the_primitive_before_it() -> None:
    from_5, from_6, from_9 = eth(udp4(src=H5, dst=H9)), eth(udp4(src=H6, dst=H9)), eth(udp4(src=H9, dst=H9))
    assert matches("host 10.0.0.5 or 10.0.0.6", from_5) and matches("host 10.0.0.5 or 10.0.0.6", from_6)
    assert not matches("host 10.0.0.5 or 10.0.0.6", from_9)
    assert matches("src 10.0.0.9 and dst 10.0.0.9", from_9)
    # pcap-filter(7): "not host vs and ace" is "not host vs and host ace"
    assert matches("not host 10.0.0.5 and 10.0.0.9", from_6)
    assert not matches("not host 10.0.0.5 and 10.0.0.9", from_5)
    assert matches("host 10.0.0.5 and not 10.0.0.6", from_5)
    # the carried qualifiers are all of them: proto, dir and type
    assert matches("tcp dst port 80 or 443", eth(tcp4(dport=443)))
    assert not matches("tcp dst port 80 or 443", eth(udp4(dport=443)))
    assert not matches("tcp dst port 80 or 443", eth(tcp4(sport=443, dport=1)))
    assert matches("port 80 or 443 or 53", eth(udp4(dport=53)))
    assert matches("ip proto 6 or 17", eth(udp4()))
    # a primitive with qualifiers of its own takes none from before
    assert matches("udp src port 53 or dst port 9000", eth(tcp4(dport=9000)))


def test_after_a_parenthesised_group_a_bare_id_takes_the_qualifiers_from_before_it() -> None:
    from_9 = eth(tcp4(src=H9, dst=H9, dport=1))
    assert matches("host 10.0.0.5 and (port 80) or 10.0.0.9", from_9)  # 10.0.0.9 is a host, not a port
    assert matches("host 10.0.0.9 and (10.0.0.6 or 10.0.0.9)", from_9)
    assert matches("host (10.0.0.1 or 10.0.0.9)", from_9)
    assert matches("host not 10.0.0.1", from_9)


# --- hosts, networks, ports --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("host 10.0.0.5", True), ("src host 10.0.0.5", True), ("dst host 10.0.0.5", False),
        ("src 10.0.0.5", True), ("dst 10.0.0.6", True), ("src or dst 10.0.0.6", True),
        ("src and dst host 10.0.0.5", False), ("ip host 10.0.0.5", True), ("arp host 10.0.0.5", False),
        ("net 10.0.0.0/8", True), ("net 10", True), ("net 10.0", True), ("net 10.0.0.0 mask 255.255.255.0", True),
        ("dst net 10.0.0.4/30", True), ("src net 10.0.0.6/31", False), ("net 11.0.0.0/8", False),
        ("port 80", True), ("src port 54321", True), ("dst port 54321", False), ("tcp port 80", True),
        ("udp port 80", False), ("sctp port 80", False), ("src and dst port 80", False),
        ("portrange 79-81", True), ("portrange 81-79", True), ("dst portrange 81-90", False),
        ("src portrange 50000-60000", True), ("tcp[0:2] = 54321", True), ("tcp[2:2] = 80", True),
    ],
)
def test_hosts_networks_and_ports(expression: str, expected: bool) -> None:
    assert matches(expression, eth(tcp4(src=H5, dst=H6, sport=54321, dport=80))) is expected


def test_ipv6_hosts_networks_and_protocols() -> None:
    tcp6 = eth(IPv6Packet(V5, V6, 6, TCPSegment(54321, 80, flags=0x02)))
    for expression in ("ip6", "tcp", "host 2001:db8::5", "src 2001:db8::5", "dst host 2001:db8::6",
                       "net 2001:db8::/32", "ip6 net 2001:db8::/64", "port 80", "tcp src port 54321",
                       "ip6 proto 6", "proto 6", "host 2001:db8::5 or 10.0.0.5"):
        assert matches(expression, tcp6), expression
    for expression in ("ip", "udp", "host 10.0.0.5", "host ::1", "net fe80::/10", "ip proto 6",
                       "tcp[tcpflags] & tcp-syn != 0", "ip6 multicast"):
        assert not matches(expression, tcp6), expression
    assert matches("ip6 multicast", eth(IPv6Packet(V5, IPv6Address("ff02::1"), 6, TCPSegment(1, 2))))
    echo = eth(IPv6Packet(V5, V6, 58, ICMPv6Echo(128, 1, 1)))
    assert matches("icmp6 and icmp6[icmp6type] == icmp6-echo", echo)
    assert not matches("icmp", echo)


def test_ipv6_protocols_look_at_the_base_header_and_a_first_fragment_header_only() -> None:
    """libpcap: ``tcp`` checks Next Header, and after a Fragment header (44) that header's; it
    chases no other extension header; ``port`` needs TCP/UDP right after the fixed header."""
    behind_fragment = eth(IPv6Packet(V5, V6, 6, TCPSegment(54321, 80), extensions=(IPv6Fragment(),)))
    assert matches("tcp", behind_fragment)
    assert matches("ip6 proto 44", behind_fragment)
    assert not matches("port 80", behind_fragment)
    behind_options = eth(IPv6Packet(V5, V6, 17, UDPDatagram(40000, 53), extensions=(IPv6HopByHop(),)))
    assert not matches("udp", behind_options)
    assert not matches("port 53", behind_options)
    assert matches("ip6 proto 0", behind_options)
    assert matches("host 2001:db8::6", behind_options)


def test_ipv4_fragments() -> None:
    whole = TCPSegment(54321, 80, flags=0x02).to_bytes(src=H5, dst=H6)
    first = eth(IPv4Packet(src=H5, dst=H6, protocol=6, payload=whole[:16], flags=1))
    later = eth(IPv4Packet(src=H5, dst=H6, protocol=6, payload=whole[16:], fragment_offset=2))
    assert matches("tcp", first) and matches("tcp", later)  # 'ip proto' does not care
    assert matches("port 80", first)  # the first fragment has the ports
    assert not matches("port 80", later) and not matches("port 80 or port 0", later)
    assert matches("tcp[tcpflags] & tcp-syn != 0", first)
    assert not matches("tcp[tcpflags] & tcp-syn != 0", later)
    # a first fragment too short for the port: the read fails and the whole filter rejects the frame
    tiny = eth(IPv4Packet(src=H5, dst=H6, protocol=17, payload=b"\x00", flags=1))
    assert not matches("port 80", tiny)
    assert not matches("not port 80", tiny)
    assert matches("udp", tiny)


def test_arp_addresses_count_as_hosts() -> None:
    """pcap-filter(7): ``src foo`` means ``(ip or arp or rarp) src foo``."""
    request = eth(ARPPacket(1, A, H5, MACAddress(bytes(6)), H6), dst=MACAddress.BROADCAST)
    for expression in ("arp", "host 10.0.0.5", "host 10.0.0.6", "src 10.0.0.5", "dst 10.0.0.6",
                       "arp host 10.0.0.5", "arp src 10.0.0.5", "net 10.0.0.0/24", "broadcast", "ether broadcast",
                       "multicast", "ether src 02:42:ac:11:00:02", "ether src 0242.ac11.0002",
                       "ether host 02-42-ac-11-00-02", "ether proto \\arp", "ether proto 0x806"):
        assert matches(expression, request), expression
    for expression in ("ip", "ip host 10.0.0.5", "src 10.0.0.6", "dst 10.0.0.5", "port 80", "tcp", "vlan",
                       "ip broadcast"):
        assert not matches(expression, request), expression


def test_tcp_flags_and_icmp_types() -> None:
    syn, syn_ack = eth(tcp4(flags=0x02)), eth(tcp4(flags=0x12))
    handshake = "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
    assert matches(handshake, syn) and not matches(handshake, syn_ack)
    assert matches("tcp[tcpflags] & tcp-syn != 0", syn_ack)
    assert matches("tcp[13] = 0x12", syn_ack)
    assert matches("tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)", syn_ack)
    assert not matches("tcp[tcpflags] & tcp-syn != 0", eth(udp4()))
    assert matches("not tcp[tcpflags] & tcp-syn != 0", eth(udp4()))  # the field's absence is a false comparison
    ping = eth(IPv4Packet(src=H5, dst=H6, protocol=1, payload=ICMPv4Echo(8, 1, 1)))
    assert matches("icmp[icmptype] == icmp-echo", ping)
    assert matches("icmp[icmptype] != icmp-echoreply and icmp[icmpcode] = 0", ping)
    assert not matches("icmp[icmptype] == icmp-echo", syn)


def test_ip_multicast_and_broadcast_follow_libpcap() -> None:
    """``ip multicast`` is ``ip[16] >= 224`` (class E and the broadcast address included);
    ``ip broadcast`` without a netmask is 0.0.0.0 or 255.255.255.255."""
    assert matches("ip multicast", eth(udp4(dst=IPv4Address("224.0.0.251"))))
    assert matches("ip multicast", eth(udp4(dst=IPv4Address("255.255.255.255"))))
    assert not matches("ip multicast", eth(udp4(dst=IPv4Address("223.255.255.255"))))
    assert matches("ip broadcast", eth(udp4(dst=IPv4Address("255.255.255.255"))))
    assert matches("ip broadcast", eth(udp4(dst=IPv4Address("0.0.0.0"))))
    assert not matches("ip broadcast", eth(udp4(dst=IPv4Address("10.0.0.255"))))


# --- VLAN ---------------------------------------------------------------------------------------


def test_vlan_moves_the_offsets_of_the_primitives_after_it() -> None:
    """pcap-filter(7): the first vlan keyword "changes the decoding offsets for the remainder of
    the expression"; a tagged frame's type field is 0x8100, so plain ``tcp`` does not match it."""
    tagged, untagged = eth(tcp4(), vlan=10), eth(tcp4())
    assert not matches("tcp", tagged)
    assert not matches("host 10.0.0.5", tagged)
    assert matches("vlan", tagged) and matches("vlan 10", tagged) and not matches("vlan 20", tagged)
    assert matches("vlan 10 and tcp and host 10.0.0.5 and port 80", tagged)
    assert matches("vlan and tcp[tcpflags] & tcp-ack != 0", tagged)
    assert not matches("vlan 20 and tcp", tagged)
    assert matches("ether host 02:42:ac:11:00:02", tagged)  # MAC addresses do not move
    assert matches("ether proto 0x8100", tagged)
    assert matches("tcp or vlan", untagged)
    # after 'vlan' even the untagged frame is read 4 bytes further on: its TCP is not seen
    assert not matches("vlan or tcp", untagged)
    assert not matches("not vlan and tcp", untagged)
    assert matches("not vlan", untagged)


def test_vlan_in_vlan() -> None:
    inner = tcp4().to_bytes()
    qinq = A.packed + B.packed + b"\x88\xa8\x00\x0a\x81\x00\x00\x14\x08\x00" + inner
    double = A.packed + B.packed + b"\x81\x00\x00\x0a\x81\x00\x00\x14\x08\x00" + inner
    for data in (qinq, double):
        assert compile_filter("vlan 10 and vlan 20 and tcp and port 80").matches_bytes(data)
        assert compile_filter("vlan and vlan and ip").matches_bytes(data)
        assert not compile_filter("vlan 20").matches_bytes(data)
        assert not compile_filter("vlan and ip").matches_bytes(data)
        assert not compile_filter("tcp").matches_bytes(data)


def test_a_compiled_filter_can_be_reused_and_is_independent_of_others() -> None:
    """Compiling is pure: a vlan in one expression does not shift another's offsets."""
    compile_filter("vlan and tcp")
    compiled = compile_filter("tcp")
    assert compiled.matches(eth(tcp4())) and compiled.matches(eth(tcp4()))


# --- totality -------------------------------------------------------------------------------

_COMPILED = [compile_filter(expression) for expression in ["", *EXPRESSIONS]]


@settings(max_examples=60, deadline=None)
@given(frame=st.one_of(S.any_ethernet_frames, S.any_clean_ethernet_frames))
def test_matching_any_frame_gives_a_bool_and_never_raises(frame: EthernetFrame) -> None:
    data = frame.to_bytes()
    for compiled in _COMPILED:
        verdict = compiled.matches(frame)
        assert type(verdict) is bool
        assert compiled.matches_bytes(data) is verdict, compiled.expression


@settings(max_examples=60, deadline=None)
@given(frame=S.any_ethernet_frames, cut=st.integers(0, 80), flip=st.integers(0, 200), bits=st.integers(1, 255))
def test_matching_damaged_bytes_gives_a_bool_and_never_raises(frame: EthernetFrame, cut: int, flip: int,
                                                              bits: int) -> None:
    data = bytearray(frame.to_bytes())
    if flip < len(data):
        data[flip] ^= bits
    damaged = bytes(data[: max(0, len(data) - cut)])
    for compiled in _COMPILED:
        assert type(compiled.matches_bytes(damaged)) is bool


_PIECES = ["tcp", "udp", "host", "net", "port", "portrange", "src", "dst", "and", "or", "not", "!", "&&", "||",
           "(", ")", "vlan", "10", "10.0.0.1", "::1", "10.0.0.0/8", "/", "mask", "ether", "02:42:ac:11:00:02",
           "proto", "\\tcp", "len", "<=", "==", "[", "]", "tcp[tcpflags]", "&", "|", "tcp-syn", "ip", "ip6", "arp",
           "80-90", "broadcast", "multicast", "less", "greater", "0x10", "-", "$", "icmp[icmptype]", "7"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=8))
def test_compiling_any_token_soup_gives_a_filter_or_a_filter_error(pieces: list[str]) -> None:
    expression = " ".join(pieces)
    try:
        compiled = compile_filter(expression)
    except FilterError as error:
        assert 0 <= error.position <= len(expression)
        return
    assert compiled.matches(eth(tcp4())) in (True, False)
    assert compiled.matches(eth(tcp4(), vlan=10)) in (True, False)
