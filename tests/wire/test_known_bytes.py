"""Known answers: frames captured from the Linux kernel, and hand-checked bytes.

``vectors/linux_loopback.pcap`` was captured with tshark on ``lo`` while Python sockets made a
TCP connection (handshake, 9 bytes each way, FIN/FIN), sent UDP to a closed port (the kernel
answered ICMP port unreachable), and did the same over IPv6.  Loopback leaves TCP and UDP
checksums partial (checksum offload), so those frames also show that a wrong checksum is kept
and re-emitted byte for byte, and caught with ``verify=True``.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from netsim.errors import ChecksumError, TruncatedError, WireError
from netsim.wire import (
    EthernetFrame,
    ICMPv4DestUnreachable,
    ICMPv4Echo,
    IPv4Packet,
    MACAddress,
    TCPFlags,
    TCPOptionMSS,
    TCPOptionNOP,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionWindowScale,
    TCPSegment,
    UDPDatagram,
)
from netsim.wire.pcap import read_pcap

VECTORS = Path(__file__).parent / "vectors"
LINUX = read_pcap(VECTORS / "linux_loopback.pcap")


def test_every_linux_frame_parses_and_reemits_byte_for_byte() -> None:
    assert len(LINUX) == 22
    for record in LINUX:
        assert EthernetFrame.parse(record.data).to_bytes() == record.data


def test_linux_syn_fields() -> None:
    frame = EthernetFrame.parse(LINUX[0].data)
    assert frame.dst == frame.src == MACAddress(bytes(6))
    packet = frame.payload
    assert isinstance(packet, IPv4Packet)
    assert (packet.src, packet.dst, packet.ttl, packet.dont_fragment, packet.checksum) == (
        IPv4Address("127.0.0.1"), IPv4Address("127.0.0.1"), 64, True, None,
    )
    syn = packet.payload
    assert isinstance(syn, TCPSegment)
    assert (syn.src_port, syn.dst_port, syn.flags, syn.window) == (38944, 9000, TCPFlags.SYN, 65495)
    assert syn.options == (
        TCPOptionMSS(65495), TCPOptionSACKPermitted(), TCPOptionTimestamps(2868072701, 0), TCPOptionNOP(),
        TCPOptionWindowScale(10),
    )
    assert syn.header_len == 40 and syn.seg_len == 1


def test_linux_loopback_tcp_checksum_is_partial_kept_and_caught() -> None:
    frame = EthernetFrame.parse(LINUX[3].data)
    segment = frame.payload.payload  # type: ignore[union-attr]
    assert isinstance(segment, TCPSegment)
    assert segment.payload == b"\x00\x00\x00\x05hello"
    assert segment.checksum is not None  # not the full checksum: offloaded on lo
    with pytest.raises(ChecksumError) as caught:
        EthernetFrame.parse(LINUX[3].data, verify=True)
    assert (caught.value.layer, caught.value.field, caught.value.reason) == ("tcp", "checksum", "bad-checksum")


def test_linux_icmp_port_unreachable_quotes_the_udp_datagram() -> None:
    frame = EthernetFrame.parse(LINUX[11].data, verify=True)
    packet = frame.payload
    assert isinstance(packet, IPv4Packet) and packet.protocol == 1
    error = packet.payload
    assert isinstance(error, ICMPv4DestUnreachable)
    assert (error.code, error.checksum) == (3, None)
    quoted = IPv4Packet.parse(error.original)  # the whole offending datagram fits: Linux quotes up to 548 bytes
    assert isinstance(quoted.payload, UDPDatagram)
    assert (quoted.payload.dst_port, quoted.payload.payload) == (9999, b"anyone there?")
    assert error.original == LINUX[10].data[14:]


# An echo request to 192.0.2.1 as scapy builds it (IPv4 header checksum 0x6edf, ICMP 0xf7fe).
ECHO = bytes.fromhex(
    "020000000002020000000001"  # dst, src MAC
    "0800"  # IPv4
    "4500001c0000400040016edf0a000001c0000201"  # IPv4: 28 bytes, DF, TTL 64, ICMP
    "0800f7fe00010000"  # echo request, id 1, seq 0
)


def test_echo_request_known_bytes_both_ways() -> None:
    frame = EthernetFrame(
        dst=MACAddress.parse("02:00:00:00:00:02"), src=MACAddress.parse("02:00:00:00:00:01"), ethertype=0x0800,
        payload=IPv4Packet(src=IPv4Address("10.0.0.1"), dst=IPv4Address("192.0.2.1"), protocol=1, flags=2,
                           payload=ICMPv4Echo(8, identifier=1, sequence=0)),
    )
    assert frame.to_bytes() == ECHO
    assert EthernetFrame.parse(ECHO, verify=True) == frame


@pytest.mark.parametrize(
    ("data", "layer", "field", "error"),
    [
        (ECHO[:13], "ethernet", "header", TruncatedError),
        (ECHO[:30], "ipv4", "header", TruncatedError),
        (ECHO[:14] + b"\x65" + ECHO[15:], "ipv4", "version", WireError),
        (ECHO[:14] + b"\x44" + ECHO[15:], "ipv4", "ihl", WireError),
        (ECHO[:16] + b"\x00\x40" + ECHO[18:], "ipv4", "total_length", TruncatedError),
        (ECHO[:16] + b"\x00\x10" + ECHO[18:], "ipv4", "total_length", WireError),
        (ECHO[:24] + b"\x00\x00" + ECHO[26:], "ipv4", "checksum", ChecksumError),
        (ECHO[:-1] + b"\x01", "icmp", "checksum", ChecksumError),
    ],
    ids=["short-ethernet", "short-ipv4", "version-6", "ihl-4", "total-length-past-end", "total-length-below-header",
         "ipv4-checksum", "icmp-checksum"],
)
def test_malformed_echo_names_layer_and_field(data: bytes, layer: str, field: str, error: type[WireError]) -> None:
    with pytest.raises(error) as caught:
        EthernetFrame.parse(data, verify=True)
    assert (caught.value.layer, caught.value.field) == (layer, field)
    assert str(caught.value).startswith(f"{layer}.{field}: ")
    assert isinstance(caught.value, ValueError)


def test_tcp_option_errors_name_the_field() -> None:
    base = TCPSegment(src_port=1, dst_port=2, options=(TCPOptionMSS(1460),)).to_bytes(
        src=IPv4Address("10.0.0.1"), dst=IPv4Address("10.0.0.2"))
    for bad_option in (b"\x02\x03\x05\xb4", b"\x02\x00\x00\x00", b"\x05\x06\x00\x00", b"\x03\x09\x00\x00"):
        with pytest.raises(WireError) as caught:
            TCPSegment.parse(base[:20] + bad_option)
        assert (caught.value.layer, caught.value.field) == ("tcp", "options")
    with pytest.raises(WireError, match="data_offset"):
        TCPSegment.parse(base[:12] + b"\x40" + base[13:])


def test_constructors_reject_impossible_values() -> None:
    src, dst = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
    with pytest.raises(ValueError, match="src_port"):
        TCPSegment(src_port=70000, dst_port=1)
    with pytest.raises(ValueError, match="multiple of 4"):
        TCPSegment(src_port=1, dst_port=2, options=(TCPOptionNOP(),))
    with pytest.raises(ValueError, match="protocol 6"):
        IPv4Packet(src=src, dst=dst, protocol=17, payload=TCPSegment(src_port=1, dst_port=2))
    with pytest.raises(ValueError, match="fragment"):
        IPv4Packet(src=src, dst=dst, protocol=6, flags=1, payload=TCPSegment(src_port=1, dst_port=2))
    with pytest.raises(ValueError, match="ttl"):
        IPv4Packet(src=src, dst=dst, protocol=6, ttl=256)
    with pytest.raises(ValueError, match="src"):
        IPv4Packet(src="10.0.0.1", dst=dst, protocol=6)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="MAC"):
        MACAddress.parse("02:42:ac:11:00")
    with pytest.raises(ValueError, match="pseudo-header"):
        TCPSegment(src_port=1, dst_port=2).to_bytes()


def test_mac_address_text_and_bits() -> None:
    mac = MACAddress.parse("02:42:AC:11:00:02")
    assert str(mac) == "02:42:ac:11:00:02"
    assert mac.is_locally_administered and not mac.is_multicast and not mac.is_broadcast
    assert MACAddress.BROADCAST.is_broadcast and MACAddress.BROADCAST.is_multicast
    assert MACAddress.parse("01:00:5e:00:00:fb").is_multicast
    assert MACAddress.from_int(int(mac)) == mac


def test_udp_zero_checksum_means_none_over_ipv4() -> None:
    src, dst = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
    data = UDPDatagram(1000, 2000, b"x", checksum=0).to_bytes()
    parsed = UDPDatagram.parse(data, src=src, dst=dst, verify=True)
    assert parsed.checksum == 0 and parsed.to_bytes() == data
