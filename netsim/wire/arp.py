"""ARP for IPv4 over Ethernet (RFC 826).

::

    htype(2)=1 | ptype(2)=0x0800 | hlen(1)=6 | plen(1)=4 | oper(2)
    sender MAC(6) | sender IPv4(4) | target MAC(6) | target IPv4(4)      = 28 bytes

Only the Ethernet/IPv4 combination is decoded; any other hardware or protocol type is a
:class:`WireError` naming the field, because its addresses would not fit these fields.
"""

from __future__ import annotations

import enum
import struct
from ipaddress import IPv4Address
from typing import Any, ClassVar

import attrs

from netsim.errors import WireError
from netsim.wire._fields import is_ipv4, need, u16
from netsim.wire.mac import MACAddress

_ARP = struct.Struct("!HHBBH6s4s6s4s")


class ARPOperation(enum.IntEnum):
    REQUEST = 1
    REPLY = 2


def _mac(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not MACAddress:
        raise ValueError(f"{attribute.name} must be a MACAddress, got {value!r}")


@attrs.frozen
class ARPPacket:
    operation: int = attrs.field(validator=u16)
    sender_mac: MACAddress = attrs.field(validator=_mac)
    sender_ip: IPv4Address = attrs.field(validator=is_ipv4)
    target_mac: MACAddress = attrs.field(validator=_mac)
    target_ip: IPv4Address = attrs.field(validator=is_ipv4)

    LENGTH: ClassVar[int] = 28

    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> ARPPacket:
        """Decode exactly 28 bytes (``verify``/``decode`` are accepted for symmetry)."""
        need(data, 28, "arp", "packet")
        if len(data) > 28:
            raise WireError("arp", "packet", f"an Ethernet/IPv4 ARP packet is 28 bytes, got {len(data)}")
        htype, ptype, hlen, plen, oper, sha, spa, tha, tpa = _ARP.unpack(data)
        if htype != 1:
            raise WireError("arp", "htype", f"hardware type {htype} is not Ethernet (1)")
        if ptype != 0x0800:
            raise WireError("arp", "ptype", f"protocol type {ptype:#06x} is not IPv4")
        if hlen != 6 or plen != 4:
            raise WireError("arp", "hlen", f"address lengths {hlen}/{plen} are not 6/4")
        return cls(oper, MACAddress(sha), IPv4Address(spa), MACAddress(tha), IPv4Address(tpa))

    def to_bytes(self) -> bytes:
        return _ARP.pack(
            1, 0x0800, 6, 4, self.operation,
            self.sender_mac.packed, self.sender_ip.packed, self.target_mac.packed, self.target_ip.packed,
        )

    @property
    def is_gratuitous(self) -> bool:
        """A gratuitous ARP announces its own address: sender and target IP are the same."""
        return self.sender_ip == self.target_ip
