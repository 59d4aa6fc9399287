"""IPv6 on a host (RFC 8200, RFC 4861, RFC 4291): addresses, neighbour discovery, ICMPv6 echo,
and the IPv6 side of TCP and UDP.

A host runs IPv6 once it has an IPv6 address (hosts that have none drop IPv6 frames, counted as
``ipv6-not-configured``, so IPv4-only networks are unchanged).  The first IPv6 address on an
interface also gives it its link-local address, ``fe80::/64`` with the interface identifier made
from the MAC (modified EUI-64, RFC 4291 §2.5.1 — Linux's ``addr_gen_mode eui64``), and the
interface joins the all-nodes group and each address's solicited-node group (RFC 4291 §2.7.1),
whose MACs (``33:33:...``, RFC 2464 §7) its filter then accepts.  Link-local addresses need a
scope: a packet to ``fe80::...`` leaves by the interface its (link-local) source belongs to,
which is how a socket's scope id (``%eth0``) reaches the wire.

Neighbour discovery reuses the host's per-interface :class:`NeighborCache` (the same state
machine as ARP: RFC 4861 §7.3's states, 3 solicitations a second apart): a Neighbor
Solicitation goes to the target's solicited-node group with our link-layer address (§7.2.2),
and is answered with a solicited, override Neighbor Advertisement (§7.2.4).

Simplified (documented): no duplicate address detection, no router advertisements or SLAAC, no
forwarding by routers, no extension headers on received packets (dropped and counted), no
fragmentation (a datagram larger than the link MTU fails with EMSGSIZE), no ICMPv6 errors to
sockets (no ICMPv6 port unreachable for UDP either), ping sockets over IPv6 not yet.
"""

from __future__ import annotations

import errno
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from typing import TYPE_CHECKING, Any

from netsim.errors import WireError
from netsim.proto.routing import Route
from netsim.wire.icmpv6 import (
    ICMPv6Echo,
    ICMPv6Message,
    ICMPv6NeighborAdvertisement,
    ICMPv6NeighborSolicitation,
)
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.mac import MACAddress
from netsim.wire.ndp import NDPSourceLinkLayerAddress, NDPTargetLinkLayerAddress
from netsim.wire.tcp import TCPSegment
from netsim.wire.udp import UDPDatagram

if TYPE_CHECKING:
    from netsim.sim.host import Host
    from netsim.sim.interface import Interface

ETHERTYPE_IPV6 = b"\x86\xdd"
ALL_NODES = IPv6Address("ff02::1")
LINK_LOCAL = IPv6Network("fe80::/64")
_ICMPV6, _TCP, _UDP = 58, 6, 17


def link_local_for(mac: MACAddress) -> IPv6Address:
    """fe80::/64 with the modified EUI-64 interface identifier of ``mac`` (RFC 4291 §2.5.1)."""
    b = mac.packed
    identifier = bytes([b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]])
    return IPv6Address(b"\xfe\x80" + bytes(6) + identifier)


def solicited_node(address: IPv6Address) -> IPv6Address:
    """ff02::1:ffXX:XXXX (RFC 4291 §2.7.1)."""
    return IPv6Address(b"\xff\x02" + bytes(9) + b"\x01\xff" + address.packed[13:])


def multicast_mac(group: IPv6Address) -> bytes:
    """33:33 and the group's low 32 bits (RFC 2464 §7)."""
    return b"\x33\x33" + group.packed[12:]


class IPv6Stack:
    """The IPv6 half of one host."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.local: dict[IPv6Address, Interface] = {}
        self.groups: dict[str, set[IPv6Address]] = {}
        self.counters: dict[str, int] = {}

    # --- configuration ---------------------------------------------------------------------

    def add_address(self, iface: Interface, value: IPv6Interface) -> IPv6Interface:
        from netsim.sim.network import TopologyError

        if value.ip in self.local:
            raise TopologyError(f"{self.host.name} already has the address {value.ip}")
        if not any(isinstance(a, IPv6Interface) for a in iface.addresses):
            link_local = IPv6Interface(f"{link_local_for(iface.mac)}/64")
            if value.ip not in LINK_LOCAL:
                self._configure(iface, link_local)
        self._configure(iface, value)
        return value

    def _configure(self, iface: Interface, value: IPv6Interface) -> None:
        iface.addresses.append(value)
        self.local[value.ip] = iface
        groups = self.groups.setdefault(iface.name, set())
        for group in (ALL_NODES, solicited_node(value.ip)):
            groups.add(group)
            iface.multicast_macs.add(multicast_mac(group))
        if value.network != LINK_LOCAL or not any(r.prefix == LINK_LOCAL and r.interface == iface.name
                                                  for r in self.host.routes.routes()):
            self.host.routes.add(Route(prefix=value.network, interface=iface.name, source=value.ip,
                                       kind="connected"))

    def addresses(self, iface: Interface) -> list[IPv6Interface]:
        return [a for a in iface.addresses if isinstance(a, IPv6Interface)]

    def scope_address(self, iface: Interface) -> IPv6Address | None:
        """The link-local address of ``iface`` (what a packet to a scoped fe80:: leaves from)."""
        return next((a.ip for a in self.addresses(iface) if a.ip in LINK_LOCAL), None)

    def source_for(self, dst: IPv6Address, scope: Interface | None = None) -> IPv6Address | None:
        """RFC 6724 in brief: link-local for a link-local destination (on the scope's interface),
        else an address of the outgoing interface in the destination's prefix, else its first
        global address."""
        if dst in self.local:
            return dst
        if dst in LINK_LOCAL:
            return self.scope_address(scope) if scope is not None else None
        route = self.host.routes.lookup(dst)
        if route is None:
            return None
        out = self.host.interfaces[route.interface]
        globals_ = [a for a in self.addresses(out) if a.ip not in LINK_LOCAL]
        for address in globals_:
            if dst in address.network:
                return address.ip
        return globals_[0].ip if globals_ else None

    def interface_for(self, src: IPv6Address, dst: IPv6Address) -> tuple[Interface, IPv6Address] | None:
        """The interface and next hop of a datagram from ``src`` to ``dst``."""
        if dst in LINK_LOCAL or dst.is_multicast:
            iface = self.local.get(src)
            return None if iface is None else (iface, dst)
        route = self.host.routes.lookup(dst)
        if route is None:
            return None
        hop = route.gateway if route.gateway is not None else dst
        return self.host.interfaces[route.interface], hop  # type: ignore[return-value]

    # --- output -------------------------------------------------------------------------------

    def send(self, src: IPv6Address, dst: IPv6Address, next_header: int, payload: Any, *,
             hop_limit: int | None = None) -> int:
        """Send a datagram we originate; an errno, or 0 when sent or queued for resolution."""
        if dst in self.local:
            iface = self.host.interfaces["lo"]
            data = IPv6Packet(src=src, dst=dst, next_header=next_header, payload=payload,
                              hop_limit=hop_limit or 64).to_bytes()
            iface.transmit(bytes(6) + bytes(6) + ETHERTYPE_IPV6 + data)
            return 0
        where = self.interface_for(src, dst)
        if where is None:
            return errno.ENETUNREACH
        out, hop = where
        data = IPv6Packet(src=src, dst=dst, next_header=next_header, payload=payload,
                          hop_limit=hop_limit or (255 if next_header == _ICMPV6 and isinstance(
                              payload, ICMPv6NeighborSolicitation | ICMPv6NeighborAdvertisement) else 64)).to_bytes()
        if len(data) > out.mtu:
            return errno.EMSGSIZE
        self._to_neighbor(out, hop, data)
        return 0

    def _to_neighbor(self, out: Interface, hop: IPv6Address, data: bytes) -> None:
        host = self.host
        if hop.is_multicast:
            out.transmit(multicast_mac(hop) + out.mac.packed + ETHERTYPE_IPV6 + data)
            return
        now = host.network.now
        cache = host.neighbors[out.name]
        result = cache.resolve(hop, data, now)
        if result.mac is not None:
            out.transmit(result.mac.packed + out.mac.packed + ETHERTYPE_IPV6 + data)
        elif result.dropped is not None:
            out.drop("ndp-queue-full", len(result.dropped))
        if result.request:
            self.solicit(out, hop)
        host._arm(cache.next_deadline())

    def solicit(self, out: Interface, target: IPv6Address) -> None:
        """A Neighbor Solicitation for ``target`` (RFC 4861 §7.2.2)."""
        source = self.scope_address(out)
        if source is None:
            return
        message = ICMPv6NeighborSolicitation(target=target, options=(NDPSourceLinkLayerAddress(out.mac),))
        group = solicited_node(target)
        data = IPv6Packet(src=source, dst=group, next_header=_ICMPV6, payload=message, hop_limit=255).to_bytes()
        out.transmit(multicast_mac(group) + out.mac.packed + ETHERTYPE_IPV6 + data)

    # --- input --------------------------------------------------------------------------------

    def input(self, iface: Interface, data: bytes) -> None:
        try:
            packet = IPv6Packet.parse(data[14:], decode=False)
        except WireError as exc:
            iface.drop(f"{exc.layer}-{exc.reason}", len(data))
            return
        dst = packet.dst
        ours = self.local.get(dst) is not None or dst in self.groups.get(iface.name, ())
        if not ours:
            iface.drop("ipv6-not-for-host", len(data))
            return
        if packet.extensions:
            iface.drop("ipv6-extension-headers", len(data))
            return
        payload = packet.payload if isinstance(packet.payload, bytes) else b""
        try:
            if packet.next_header == _ICMPV6:
                self._icmp_input(packet, ICMPv6Message.parse(payload, src=packet.src, dst=dst, verify=True), iface)
            elif packet.next_header == _TCP and not dst.is_multicast:
                segment = TCPSegment.parse(payload, src=packet.src, dst=dst, verify=True)
                self.host.tcp.input(packet, segment, iface)  # type: ignore[arg-type]
            elif packet.next_header == _UDP:
                # RFC 8200 §8.1: the checksum is mandatory over IPv6 (a zero one is refused)
                datagram = UDPDatagram.parse(payload, src=packet.src, dst=dst, verify=True)
                self.host.udp_input(packet, datagram, iface, dst.is_multicast)  # type: ignore[arg-type]
            else:
                iface.drop("ipv6-protocol-not-served", len(payload))
        except WireError as exc:
            iface.drop(f"{exc.layer}-{exc.reason}", len(payload))

    def _icmp_input(self, packet: IPv6Packet, message: ICMPv6Message, iface: Interface) -> None:
        host = self.host
        now = host.network.now
        cache = host.neighbors[iface.name]
        if isinstance(message, ICMPv6NeighborSolicitation):
            if self.local.get(message.target) is not iface:
                iface.drop("ndp-not-our-target", 0)
                return
            for option in message.options:
                if isinstance(option, NDPSourceLinkLayerAddress) and not packet.src.is_unspecified:
                    for queued in cache.fill(packet.src, option.mac, now, create=True, confirmed=False,
                                             override=False):
                        iface.transmit(option.mac.packed + iface.mac.packed + ETHERTYPE_IPV6 + queued)
            answer = ICMPv6NeighborAdvertisement(target=message.target, solicited=not packet.src.is_unspecified,
                                                 override=True, options=(NDPTargetLinkLayerAddress(iface.mac),))
            reply_to = ALL_NODES if packet.src.is_unspecified else packet.src
            self.send(message.target, reply_to, _ICMPV6, answer)
        elif isinstance(message, ICMPv6NeighborAdvertisement):
            mac = next((o.mac for o in message.options if isinstance(o, NDPTargetLinkLayerAddress)), None)
            if mac is None:
                return
            for queued in cache.fill(message.target, mac, now, create=False, confirmed=message.solicited,
                                     override=message.override):
                iface.transmit(mac.packed + iface.mac.packed + ETHERTYPE_IPV6 + queued)
        elif isinstance(message, ICMPv6Echo) and message.type == 128:
            if packet.dst.is_multicast:
                source = self.scope_address(iface) if packet.src in LINK_LOCAL else self.source_for(packet.src)
                if source is None:
                    return
            else:
                source = packet.dst
            reply = ICMPv6Echo(129, message.identifier, message.sequence, message.data)
            self.send(source, packet.src, _ICMPV6, reply)
        else:
            self.counters["icmpv6-ignored"] = self.counters.get("icmpv6-ignored", 0) + 1
