"""A learning bridge with 802.1Q VLANs (IEEE 802.1D/802.1Q).

Frames are handled as bytes: the switch reads the addresses and the tag in place and adds or
removes the 4-byte tag at offset 12 on the way out, as hardware does.  Access ports carry one
VLAN untagged; trunk ports carry the allowed VLANs tagged, and their native VLAN (if any)
untagged.  A frame never leaves a port that is not in its VLAN.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from netsim.proto.mac_table import MACTable
from netsim.sim.interface import Interface
from netsim.sim.node import Node
from netsim.units import parse_duration
from netsim.wire.mac import mac_from_packed

if TYPE_CHECKING:
    from netsim.sim.network import Network
    from netsim.wire.tcp import TCPSegment

_TPID = b"\x81\x00"


class Switch(Node):
    kind = "switch"

    def __init__(self, network: Network, name: str, *, ageing_time: str | int = "300s",
                 ports: int | list[str] = 0) -> None:
        super().__init__(network, name)
        self.mac_table = MACTable(ageing_time=parse_duration(ageing_time))
        names = [f"p{i}" for i in range(1, ports + 1)] if isinstance(ports, int) else ports
        for port in names:
            self.add_interface(port)

    def set_access(self, port: str, vlan: int) -> None:
        """An access port: untagged frames in and out, all in ``vlan``."""
        iface = self.iface(port)
        _check_vid(vlan)
        iface.vlan_mode, iface.access_vlan = "access", vlan

    def set_trunk(self, port: str, vlans: list[int] | None = None, native: int | None = None) -> None:
        """A trunk port: ``vlans`` tagged (None: all), ``native`` untagged."""
        iface = self.iface(port)
        for vid in [*(vlans or []), *([native] if native is not None else [])]:
            _check_vid(vid)
        iface.vlan_mode = "trunk"
        iface.trunk_vlans = None if vlans is None else frozenset(vlans)
        iface.native_vlan = native

    def on_frame(self, iface: Interface, data: bytes, decoded: TCPSegment | None = None) -> None:
        if len(data) < 14:
            iface.drop("malformed", len(data))
            return
        tagged = data[12:14] == _TPID
        if tagged:
            if len(data) < 18:
                iface.drop("malformed", len(data))
                return
            vid = ((data[14] << 8) | data[15]) & 0xFFF
            untagged = data[:12] + data[16:]
        else:
            vid = 0
            untagged = data
        if iface.vlan_mode == "access":
            if tagged and vid not in (0, iface.access_vlan):
                iface.drop("vlan-not-allowed", len(data))
                return
            vlan = iface.access_vlan
        elif not tagged or vid == 0:
            if iface.native_vlan is None:
                iface.drop("untagged-on-trunk", len(data))
                return
            vlan = iface.native_vlan
        elif iface.trunk_vlans is not None and vid not in iface.trunk_vlans:
            iface.drop("vlan-not-allowed", len(data))
            return
        else:
            vlan = vid
        now = self.network.now
        src = data[6:12]
        if not src[0] & 1:
            self.mac_table.learn(vlan, mac_from_packed(src), iface.name, now)
        dst = data[:6]
        out: str | None = None
        if not dst[0] & 1:
            out = self.mac_table.lookup(vlan, mac_from_packed(dst), now)
        if out is not None:
            if out != iface.name:
                self._emit(self.interfaces[out], vlan, untagged, data if tagged else None)
            else:
                iface.drop("same-port", len(data))  # filtered: the destination is on the ingress side
            return
        for other in self.interfaces.values():  # flood in the VLAN
            if other is not iface and other.channel is not None and _carries(other, vlan):
                self._emit(other, vlan, untagged, data if tagged else None)

    @staticmethod
    def _emit(port: Interface, vlan: int, untagged: bytes, tagged: bytes | None) -> None:
        if port.vlan_mode == "access" or port.native_vlan == vlan:
            port.transmit(untagged)
        else:
            port.transmit(tagged if tagged is not None and ((tagged[14] << 8 | tagged[15]) & 0xFFF) == vlan
                          else untagged[:12] + _TPID + struct.pack("!H", vlan) + untagged[12:])

    def mac_entries(self) -> list[Any]:
        return self.mac_table.entries(self.network.now)


def _carries(port: Interface, vlan: int) -> bool:
    if port.vlan_mode == "access":
        return port.access_vlan == vlan
    return port.native_vlan == vlan or port.trunk_vlans is None or vlan in port.trunk_vlans


def _check_vid(vid: int) -> None:
    if not isinstance(vid, int) or not 1 <= vid <= 4094:
        raise ValueError(f"a VLAN id is 1..4094, got {vid!r}")
