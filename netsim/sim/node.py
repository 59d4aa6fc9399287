"""What every device has: a name, interfaces, and a frame input."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from netsim.sim.interface import Interface
from netsim.wire.mac import MACAddress

if TYPE_CHECKING:
    from netsim.sim.network import Network
    from netsim.wire.tcp import TCPSegment


def default_mac(node: str, interface: str) -> MACAddress:
    """A stable, locally administered unicast MAC derived from the names (not from the seed, so a
    capture's addresses do not change when the seed does)."""
    digest = hashlib.blake2b(f"{node}/{interface}".encode(), digest_size=5).digest()
    return MACAddress(b"\x02" + digest)


class Node:
    kind = "node"

    def __init__(self, network: Network, name: str) -> None:
        if not name or not isinstance(name, str) or any(c in name for c in " :/"):
            raise ValueError(f"a node name is a non-empty word without spaces, ':' or '/', got {name!r}")
        self.network = network
        self.name = name
        self.interfaces: dict[str, Interface] = {}
        network.register(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def add_interface(self, name: str, *, mac: MACAddress | str | None = None, mtu: int = 1500) -> Interface:
        from netsim.sim.network import TopologyError

        if name in self.interfaces:
            raise TopologyError(f"{self.name} already has an interface {name!r}")
        if isinstance(mac, str):
            mac = MACAddress.parse(mac)
        iface = Interface(self, name, mac or default_mac(self.name, name), mtu)
        self.interfaces[name] = iface
        return iface

    def iface(self, name: str) -> Interface:
        from netsim.sim.network import TopologyError

        try:
            return self.interfaces[name]
        except KeyError:
            raise TopologyError(f"{self.name} has no interface {name!r} (it has {sorted(self.interfaces)})") from None

    def __getitem__(self, name: str) -> Interface:
        return self.iface(name)

    def on_frame(self, iface: Interface, data: bytes, decoded: TCPSegment | None = None) -> None:  # pragma: no cover
        """A frame from ``iface``; ``decoded``: what the sender decoded of it already, if anything
        (see Interface.transmit; only hosts use it)."""
        raise NotImplementedError
