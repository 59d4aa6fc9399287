"""Network interfaces: a MAC, an MTU, addresses, counters, admin state, capture taps."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import TYPE_CHECKING

from netsim.sim.records import InterfaceCounters
from netsim.wire.mac import MACAddress

if TYPE_CHECKING:
    from netsim.sim.link import Channel
    from netsim.sim.node import Node
    from netsim.wire.tcp import TCPSegment

Tap = Callable[[int, str, bytes], None]  # (now, "tx" | "rx", frame bytes)


class Interface:
    """One port of a node.  ``transmit`` hands a frame to the link; the link calls ``receive``."""

    def __init__(self, node: Node, name: str, mac: MACAddress, mtu: int = 1500) -> None:
        if not 68 <= mtu <= 65535:
            raise ValueError(f"{node.name}:{name}: MTU {mtu} is outside 68..65535")
        self.node = node
        self.name = name
        self.full_name = f"{node.name}:{name}"
        self.mac = mac
        self.mtu = mtu
        self.addresses: list[IPv4Interface | IPv6Interface] = []
        self.up = True
        self.channel: Channel | None = None  # our transmit direction of the attached link (or the loopback)
        self.counters = InterfaceCounters()
        self.taps: list[Tap] = []
        self.multicast_macs: set[bytes] = set()
        #: directed-broadcast addresses of this interface's subnets (computed once: ``a.network``
        #: builds a new object on every access, too slow for every packet)
        self.broadcasts: frozenset[IPv4Address | IPv6Address] = frozenset()
        # 802.1Q switch-port settings (used by switches only)
        self.vlan_mode = "access"
        self.access_vlan = 1
        self.trunk_vlans: frozenset[int] | None = None  # None: all VLANs
        self.native_vlan: int | None = None
        #: whether the node takes a decoded packet beside a frame's bytes (hosts do; see receive)
        self.takes_decoded = bool(getattr(node, "takes_decoded", False))
        self._env = node.network.env
        # the trace's frame events of this interface, their labels encoded once (Trace.frame)
        self._trace = node.network.trace
        self._tx_label = self._trace.label("tx", self.full_name)
        self._rx_label = self._trace.label("rx", self.full_name)

    def __repr__(self) -> str:
        return f"<Interface {self.full_name} {self.mac}>"

    @property
    def ipv4(self) -> list[IPv4Interface]:
        return [a for a in self.addresses if isinstance(a, IPv4Interface)]

    def transmit(self, data: bytes, decoded: TCPSegment | None = None) -> None:
        """Send a frame; ``decoded`` is the TCP segment its IPv4 datagram carries, as the sending
        host built it, for a host at the other end to use instead of decoding ``data`` again
        (ignored unless the same bytes arrive)."""
        if not self.up:
            self.drop("admin-down", len(data))
            return
        channel = self.channel
        if channel is None:
            self.drop("no-carrier", len(data))
            return
        counters = self.counters
        counters.tx_frames += 1
        counters.tx_bytes += len(data)
        now = int(self._env._now)  # (Network.now, without its two calls)
        self._trace.record_frame(now, self._tx_label, "tx", self.full_name, data)
        for tap in self.taps:
            tap(now, "tx", data)
        channel.send(data, decoded)

    def receive(self, data: bytes, decoded: TCPSegment | None = None, as_sent: bool = False) -> None:
        """A frame arrives; ``as_sent``: it is the very bytes an interface transmitted (and traced),
        so the trace hashes it by reference (see Trace.record_frame)."""
        if not self.up:
            self.drop("admin-down", len(data))
            return
        now = int(self._env._now)
        counters = self.counters
        counters.rx_frames += 1
        counters.rx_bytes += len(data)
        self._trace.record_frame(now, self._rx_label, "rx", self.full_name, data, as_sent)
        for tap in self.taps:
            tap(now, "rx", data)
        if decoded is not None and self.takes_decoded:
            self.node.on_frame(self, data, decoded)
        else:
            self.node.on_frame(self, data)

    def drop(self, reason: str, length: int = 0) -> None:
        """Count and trace a dropped frame or packet; nothing is ever dropped silently."""
        self.counters.drops[reason] += 1
        self.node.network.trace.event(self.node.network.now, "drop", self.full_name, reason=reason, len=length)

    def set_up(self, up: bool) -> None:
        self.up = up
        self.node.network.trace.event(self.node.network.now, "link-state", self.full_name, up=up)
