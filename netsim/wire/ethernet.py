"""Ethernet II frames with an optional IEEE 802.1Q tag.

::

    0                   6                  12      14(+4)
    +-------------------+-------------------+-------+--------------...
    | destination MAC   | source MAC        | type  | payload
    +-------------------+-------------------+-------+--------------...
    802.1Q: after the source MAC, TPID 0x8100 then TCI = PCP(3) | DEI(1) | VID(12)

No FCS is carried and short frames are not padded to 60 bytes on encode (capture files of the
sending side look the same).  On decode the payload is cut at the length the IPv4/IPv6/ARP
header declares and any bytes beyond it (minimum-size padding) are kept as ``trailer``, so
``parse(data).to_bytes() == data`` for every frame.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar

import attrs

from netsim.wire._fields import is_bytes, need, u1, u3, u12, u16
from netsim.wire.arp import ARPPacket
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.mac import MACAddress
from netsim.wire.numbers import EtherType

_HEADER = struct.Struct("!6s6sH")
_TAG = struct.Struct("!HH")
_IPV4, _ARP, _VLAN, _IPV6 = 0x0800, 0x0806, 0x8100, 0x86DD

EthernetPayload = IPv4Packet | IPv6Packet | ARPPacket | bytes

_PAYLOAD_TYPE = {IPv4Packet: _IPV4, IPv6Packet: _IPV6, ARPPacket: _ARP}


@attrs.frozen
class VLANTag:
    """The 802.1Q tag control information: priority (PCP), drop eligible (DEI), VLAN id."""

    vid: int = attrs.field(validator=u12)
    pcp: int = attrs.field(default=0, validator=u3)
    dei: int = attrs.field(default=0, validator=u1)

    @property
    def tci(self) -> int:
        return (self.pcp << 13) | (self.dei << 12) | self.vid


def _check_payload(inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is bytes:
        return
    wanted = _PAYLOAD_TYPE.get(type(value))
    if wanted is None:
        raise ValueError(f"payload must be IPv4Packet, IPv6Packet, ARPPacket or bytes, got {type(value).__name__}")
    if inst.ethertype != wanted:
        raise ValueError(f"a {type(value).__name__} payload needs ethertype {wanted:#06x}, not {inst.ethertype:#06x}")


def _check_mac(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not MACAddress:
        raise ValueError(f"{attribute.name} must be a MACAddress, got {value!r}")


@attrs.frozen
class EthernetFrame:
    dst: MACAddress = attrs.field(validator=_check_mac)
    src: MACAddress = attrs.field(validator=_check_mac)
    ethertype: int = attrs.field(validator=u16)
    payload: EthernetPayload = attrs.field(default=b"", validator=_check_payload)
    vlan: VLANTag | None = attrs.field(default=None)
    trailer: bytes = attrs.field(default=b"", validator=is_bytes)

    HEADER_LEN: ClassVar[int] = 14

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> EthernetFrame:
        """Decode a frame; with ``decode`` the payload becomes an IPv4/IPv6/ARP value.

        Raises:
            WireError: the frame, or with ``decode`` a header inside it, is malformed; with
                ``verify``, also when a checksum inside it does not verify.
        """
        need(data, 14, "ethernet", "header")
        dst, src, ethertype = _HEADER.unpack_from(data)
        vlan = None
        offset = 14
        if ethertype == _VLAN:
            need(data, 18, "ethernet", "vlan")
            tci, ethertype = _TAG.unpack_from(data, 14)
            vlan = VLANTag(vid=tci & 0xFFF, pcp=tci >> 13, dei=(tci >> 12) & 1)
            offset = 18
        payload: EthernetPayload
        trailer = b""
        body = data[offset:]
        if not decode or ethertype not in (_IPV4, _IPV6, _ARP):
            payload = bytes(body)
        elif ethertype == _IPV4:
            need(body, 4, "ipv4", "header")
            end = (body[2] << 8) | body[3]
            payload = IPv4Packet.parse(body[:end] if end < len(body) else body, verify=verify)
            trailer = bytes(body[end:])
        elif ethertype == _IPV6:
            need(body, 6, "ipv6", "header")
            end = 40 + ((body[4] << 8) | body[5])
            payload = IPv6Packet.parse(body[:end] if end < len(body) else body, verify=verify)
            trailer = bytes(body[end:])
        else:
            payload = ARPPacket.parse(body[:28])
            trailer = bytes(body[28:])
        return cls(MACAddress(dst), MACAddress(src), ethertype, payload, vlan, trailer)

    def to_bytes(self) -> bytes:
        payload = self.payload
        body = payload if type(payload) is bytes else payload.to_bytes()  # type: ignore[union-attr]
        if self.vlan is None:
            header = _HEADER.pack(self.dst.packed, self.src.packed, self.ethertype)
        else:
            header = _HEADER.pack(self.dst.packed, self.src.packed, _VLAN) + _TAG.pack(self.vlan.tci, self.ethertype)
        return header + body + self.trailer

    def __attrs_post_init__(self) -> None:
        if self.vlan is not None and type(self.vlan) is not VLANTag:
            raise ValueError(f"vlan must be a VLANTag or None, got {self.vlan!r}")
        if self.ethertype == _VLAN:
            raise ValueError("ethertype 0x8100 is the 802.1Q TPID: give the tag as vlan=VLANTag(...)")
        if self.trailer and type(self.payload) is bytes:
            raise ValueError("a trailer follows a decoded payload only; append it to the bytes payload")


__all__ = ["EthernetFrame", "EthernetPayload", "EtherType", "VLANTag"]
