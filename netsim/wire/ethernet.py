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

from netsim.errors import TruncatedError
from netsim.wire._fields import is_bytes, need, trusted_constructor, u1, u3, u12, u16
from netsim.wire.arp import ARPPacket
from netsim.wire.fastpath import decode_ipv4_tcp, encode_ipv4_tcp
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ipv4 import _decode as decode_ipv4
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.mac import _PAIR_CACHE as _MAC_PAIRS
from netsim.wire.mac import MACAddress, mac_pair_from_packed
from netsim.wire.numbers import EtherType

_HEADER = struct.Struct("!6s6sH")
_ETHERTYPE = struct.Struct("!12xH")
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
        if decode:
            fast = decode_ipv4_tcp(data, _make_frame)  # the common case in one pass (fastpath.py)
            if fast is not None:
                return fast
        return _parse(data, verify, decode)

    def to_bytes(self) -> bytes:
        fast = encode_ipv4_tcp(self)  # the common case in one pass (fastpath.py)
        return fast if fast is not None else _encode(self)

    def __attrs_post_init__(self) -> None:
        if self.vlan is not None and type(self.vlan) is not VLANTag:
            raise ValueError(f"vlan must be a VLANTag or None, got {self.vlan!r}")
        if self.ethertype == _VLAN and self.vlan is None:
            raise ValueError("ethertype 0x8100 is the 802.1Q TPID: give the tag as vlan=VLANTag(...)")
        if self.trailer and type(self.payload) is bytes:
            raise ValueError("a trailer follows a decoded payload only; append it to the bytes payload")


_make_frame = trusted_constructor(EthernetFrame)


def _parse(data: bytes, verify: bool, decode: bool) -> EthernetFrame:
    """The general decoder: every shape of frame, every error."""
    size = len(data)
    if size < 14:
        raise TruncatedError("ethernet", "header", f"needs 14 bytes, only {size} available")
    (ethertype,) = _ETHERTYPE.unpack_from(data)
    vlan = None
    offset = 14
    if ethertype == _VLAN:
        need(data, 18, "ethernet", "vlan")
        tci, ethertype = _TAG.unpack_from(data, 14)
        vlan = VLANTag(vid=tci & 0xFFF, pcp=tci >> 13, dei=(tci >> 12) & 1)
        offset = 18
    payload: EthernetPayload
    trailer = b""
    if not decode or ethertype not in (_IPV4, _IPV6, _ARP):
        payload = bytes(data[offset:])
    else:
        # Cut the payload at the length its header declares; the rest is padding/trailer.
        if ethertype == _IPV4:
            if size < offset + 4:
                raise TruncatedError("ipv4", "header", f"needs 20 bytes, only {size - offset} available")
            end = offset + ((data[offset + 2] << 8) | data[offset + 3])
            if end < offset + 20:
                end = size  # let IPv4 report the bad Total Length
            payload = decode_ipv4(data[offset:end], verify, True)
        elif ethertype == _IPV6:
            need(data, offset + 6, "ipv6", "header")
            end = offset + 40 + ((data[offset + 4] << 8) | data[offset + 5])
            payload = IPv6Packet.parse(data[offset:end], verify=verify)
        else:
            end = offset + 28
            payload = ARPPacket.parse(data[offset:end])
        if end < size:
            trailer = bytes(data[end:])
    macs = data[:12]
    pair = _MAC_PAIRS.get(macs)
    dst, src = pair if pair is not None else mac_pair_from_packed(macs)
    return _make_frame(dst, src, ethertype, payload, vlan, trailer)


def _encode(frame: EthernetFrame) -> bytes:
    """The general encoder: every shape of frame, layer by layer."""
    payload = frame.payload
    body = payload if type(payload) is bytes else payload.to_bytes()  # type: ignore[union-attr]
    if frame.vlan is None:
        header = _HEADER.pack(frame.dst.packed, frame.src.packed, frame.ethertype)
    else:
        header = _HEADER.pack(frame.dst.packed, frame.src.packed, _VLAN) + _TAG.pack(frame.vlan.tci, frame.ethertype)
    return header + body + frame.trailer


__all__ = ["EthernetFrame", "EthernetPayload", "EtherType", "VLANTag"]
