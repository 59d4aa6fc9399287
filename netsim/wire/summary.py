"""One-line, tcpdump-style summaries of frames, for traces, captures and test messages.

``IP 10.0.0.5.54321 > 203.0.113.10.9000: Flags [S], seq 1000, win 64240, options [mss 1460], length 0``
— the shape of ``tcpdump -nn`` output, so a reader of the lecture's labs recognises it.
"""

from __future__ import annotations

from netsim.errors import WireError
from netsim.wire.arp import ARPPacket
from netsim.wire.ethernet import EthernetFrame
from netsim.wire.icmpv4 import ICMPv4DestUnreachable, ICMPv4Echo, ICMPv4Message, ICMPv4TimeExceeded
from netsim.wire.icmpv6 import ICMPv6Echo, ICMPv6Message
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.tcp import TCPSegment, flags_text
from netsim.wire.tcp_options import TCPOptionMSS, TCPOptionSACKPermitted, TCPOptionTimestamps, TCPOptionWindowScale
from netsim.wire.udp import UDPDatagram

_UNREACHABLE = {0: "net", 1: "host", 2: "protocol", 3: "port", 4: "need to frag"}


def _tcp_options(segment: TCPSegment) -> str:
    parts = []
    for option in segment.options:
        if isinstance(option, TCPOptionMSS):
            parts.append(f"mss {option.mss}")
        elif isinstance(option, TCPOptionWindowScale):
            parts.append(f"wscale {option.shift}")
        elif isinstance(option, TCPOptionSACKPermitted):
            parts.append("sackOK")
        elif isinstance(option, TCPOptionTimestamps):
            parts.append(f"TS val {option.tsval} ecr {option.tsecr}")
        else:
            parts.append(type(option).__name__.removeprefix("TCPOption").lower())
    return f", options [{','.join(parts)}]" if parts else ""


def _transport(src: str, dst: str, payload: object, v6: bool) -> str:
    sep = "."  # tcpdump writes address.port for IPv4 and IPv6 alike
    if isinstance(payload, TCPSegment):
        text = f"{src}{sep}{payload.src_port} > {dst}{sep}{payload.dst_port}: Flags [{flags_text(payload.flags)}]"
        if payload.payload or payload.flags & 0x3:
            text += f", seq {payload.seq}" + (f":{payload.seq + len(payload.payload)}" if payload.payload else "")
        if payload.flags & 0x10:
            text += f", ack {payload.ack}"
        return text + f", win {payload.window}{_tcp_options(payload)}, length {len(payload.payload)}"
    if isinstance(payload, UDPDatagram):
        return f"{src}{sep}{payload.src_port} > {dst}{sep}{payload.dst_port}: UDP, length {len(payload.payload)}"
    if isinstance(payload, ICMPv4Echo):
        kind = "echo request" if payload.is_request else "echo reply"
        return (f"{src} > {dst}: ICMP {kind}, id {payload.identifier}, seq {payload.sequence}, "
                f"length {8 + len(payload.data)}")
    if isinstance(payload, ICMPv4DestUnreachable):
        what = _UNREACHABLE.get(payload.code, f"code {payload.code}")
        extra = f" (mtu {payload.next_hop_mtu})" if payload.code == 4 else ""
        return f"{src} > {dst}: ICMP {dst} unreachable - {what}{extra}, length {8 + len(payload.original)}"
    if isinstance(payload, ICMPv4TimeExceeded):
        what = "time exceeded in-transit" if payload.code == 0 else "ip reassembly time exceeded"
        return f"{src} > {dst}: ICMP {what}, length {8 + len(payload.original)}"
    if isinstance(payload, ICMPv4Message):
        return f"{src} > {dst}: ICMP type {payload.type}, code {payload.code}"
    if isinstance(payload, ICMPv6Echo):
        kind = "echo request" if payload.type == 128 else "echo reply"
        return f"{src} > {dst}: ICMP6, {kind}, id {payload.identifier}, seq {payload.sequence}"
    if isinstance(payload, ICMPv6Message):
        return f"{src} > {dst}: ICMP6, {type(payload).__name__.removeprefix('ICMPv6')}"
    return f"{src} > {dst}: length {len(payload) if isinstance(payload, bytes) else 0}"


def summarize(frame: EthernetFrame) -> str:
    """``tcpdump -nn``-like text for a decoded frame."""
    prefix = f"vlan {frame.vlan.vid}, " if frame.vlan is not None else ""
    payload = frame.payload
    if isinstance(payload, IPv4Packet):
        if payload.is_fragment:
            return (f"{prefix}IP {payload.src} > {payload.dst}: ip-proto-{payload.protocol} (frag "
                    f"{payload.identification}:{len(payload.payload_bytes())}@{payload.fragment_offset * 8}"
                    f"{'+' if payload.more_fragments else ''})")
        return f"{prefix}IP " + _transport(str(payload.src), str(payload.dst), payload.payload, False)
    if isinstance(payload, IPv6Packet):
        return f"{prefix}IP6 " + _transport(str(payload.src), str(payload.dst), payload.payload, True)
    if isinstance(payload, ARPPacket):
        if payload.operation == 1:
            return f"{prefix}ARP, Request who-has {payload.target_ip} tell {payload.sender_ip}, length 28"
        return f"{prefix}ARP, Reply {payload.sender_ip} is-at {payload.sender_mac}, length 28"
    return f"{prefix}{frame.src} > {frame.dst}, ethertype {frame.ethertype:#06x}, length {len(payload)}"


def summarize_bytes(data: bytes) -> str:
    try:
        return summarize(EthernetFrame.parse(data))
    except WireError as exc:
        return f"[malformed: {exc}]"
