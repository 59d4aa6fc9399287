"""Hosts and routers: Ethernet, ARP, IPv4 (routing, fragmentation, reassembly, PMTUD), ICMP
and UDP, and the sockets applications use.

The decisions live in the sans-I/O engines of :mod:`netsim.proto` (routing table, neighbour
cache, reassembler, PMTU cache, rate limiter); this module moves bytes between them, the links
and the sockets, on the SimPy clock.  A malformed or unexpected frame never raises: it is
dropped and counted on the interface with a reason, and answered the way Linux would (ICMP
port or protocol unreachable, time exceeded, fragmentation needed).
"""

from __future__ import annotations

import errno
from functools import partial
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv6Address,
    IPv6Interface,
    ip_address,
    ip_interface,
    ip_network,
)
from typing import TYPE_CHECKING, Any, Literal, overload

from netsim.errors import WireError
from netsim.proto.arp_cache import NeighborCache
from netsim.proto.fragment import IPv4Reassembler, fragment_ipv4
from netsim.proto.pmtu import PMTUCache
from netsim.proto.ports import PortRange, choose_ephemeral_port
from netsim.proto.ratelimit import ICMPRateLimiter
from netsim.proto.routing import Route, RoutingTable
from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.interface import Interface
from netsim.sim.link import Channel
from netsim.sim.node import Node
from netsim.sim.sockets import (
    IP_PMTUDISC_DONT,
    ICMPErrorReport,
    ICMPSocket,
    Socket,
    UDPSocket,
    error,
    socket_name,
)
from netsim.wire._fields import _PAIR_CACHE as _ADDRESS_PAIRS
from netsim.wire._fields import fast_ipv4, ipv4_pair_from_packed
from netsim.wire.arp import ARPPacket
from netsim.wire.fastpath import decode_ipv4_tcp_packet, encode_tcp_datagram
from netsim.wire.icmpv4 import (
    ICMPv4DestUnreachable,
    ICMPv4Echo,
    ICMPv4Message,
    ICMPv4TimeExceeded,
    quote_datagram,
)
from netsim.wire.icmpv6 import ICMPv6DestUnreachable, ICMPv6UnreachableCode
from netsim.wire.ipv4 import IPv4Packet, _make_packet
from netsim.wire.mac import MACAddress
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp_options import options_to_bytes
from netsim.wire.udp import UDPDatagram

if TYPE_CHECKING:
    from netsim.sim.ipv6 import IPv6Stack
    from netsim.sim.network import Network
    from netsim.sim.tcp import TCPSocket
    from netsim.wire.ipv6 import IPv6Packet

BROADCAST = IPv4Address("255.255.255.255")
ANY = IPv4Address("0.0.0.0")
_ZERO_MAC = bytes(6)
_BROADCAST_MAC = b"\xff" * 6
_ETHERTYPE_IPV4 = b"\x08\x00"
_ETHERTYPE_ARP = b"\x08\x06"

UNRESOLVED_QUEUE_LEN = 212992 // 2096  # unres_qlen_bytes / truesize of a 1500-byte frame

#: the Destination Unreachable codes Linux's icmp_err_convert calls fatal (hard errors: reported to
#: a connected UDP socket even without IP_RECVERR)
UNREACHABLE_FATAL = frozenset({2, 3, 6, 7, 8, 9, 10, 13, 14, 15})
#: ICMP destination-unreachable code -> the errno a connected socket sees (Linux icmp_err_convert)
UNREACHABLE_ERRNO = {
    0: errno.ENETUNREACH, 1: errno.EHOSTUNREACH, 2: errno.ENOPROTOOPT, 3: errno.ECONNREFUSED,
    4: errno.EMSGSIZE, 5: errno.EOPNOTSUPP, 6: errno.ENETUNREACH, 7: errno.EHOSTDOWN, 8: errno.ENONET,
    9: errno.ENETUNREACH, 10: errno.EHOSTUNREACH, 11: errno.ENETUNREACH, 12: errno.EHOSTUNREACH,
    13: errno.EHOSTUNREACH, 14: errno.EHOSTUNREACH, 15: errno.EHOSTUNREACH,
}


class _LoopbackChannel(Channel):
    """``lo``: what is sent comes back in on the same interface, at once (after the current event).
    (A Channel, so that an interface's channel has one type; it has no link.)"""

    def __init__(self, iface: Interface) -> None:  # (no Channel.__init__: there is no link)
        self.iface = iface
        self._timeout = iface.node.network.env.timeout

    def send(self, data: bytes, decoded: object = None) -> None:
        event = self._timeout(0, data)
        event.callbacks.append(lambda ev: self.iface.receive(ev.value, None, True))


class Host(Node):
    """An end host: no forwarding, ICMP errors for what it cannot deliver."""

    kind = "host"
    forwarding = False
    takes_decoded = True  # on_frame takes the sender's decoded packet beside the bytes (Interface.transmit)

    def __init__(
        self,
        network: Network,
        name: str,
        *,
        ip_local_port_range: tuple[int, int] = (32768, 60999),
        ttl: int = 64,
        icmp_msgs_per_sec: int = 1000,
        icmp_msgs_burst: int = 50,
        icmp_echo_ignore_broadcasts: bool = True,
        unprivileged_port_start: int = 1024,
        tcp: TCPSettings | None = None,
        fd_limit: int = 1024,
    ) -> None:
        super().__init__(network, name)
        self.routes = RoutingTable()
        self.ttl = ttl
        self.port_range = PortRange(*ip_local_port_range)
        self.icmp_echo_ignore_broadcasts = icmp_echo_ignore_broadcasts
        self.unprivileged_port_start = unprivileged_port_start  # net.ipv4.ip_unprivileged_port_start
        self.rng = network.stream(f"host/{name}")
        self.local: dict[IPv4Address, Interface] = {}
        self.local_packed: frozenset[bytes] = frozenset()  # the same addresses as bytes, for the fast path
        self.neighbors: dict[str, NeighborCache[bytes]] = {}
        self.reassembler = IPv4Reassembler()
        self.pmtu = PMTUCache()
        self.icmp_limiter = ICMPRateLimiter(msgs_per_sec=icmp_msgs_per_sec, msgs_burst=icmp_msgs_burst)
        self.ip_id = self.rng.getrandbits(16)
        from netsim.sim.sockets import FileDescriptors

        self.fds = FileDescriptors(fd_limit)
        self.udp_ports: dict[int, list[Socket]] = {}
        self.icmp_ids: dict[int, list[Socket]] = {}
        self.counters: dict[str, int] = {}
        self.groups: dict[str, set[IPv4Address]] = {}  # joined IPv4 multicast groups per interface
        self._timer_at: int | None = None
        #: the scenario's settings last applied to this host by a sysctl action (netsim.scenario)
        self.scenario_settings: object = None
        from netsim.sim.tcp import TCPLayer

        self.tcp = TCPLayer(self, tcp)
        self.ip6: IPv6Stack | None = None  # made by the first IPv6 address (see ipv6())
        lo = self.add_interface("lo", mac=MACAddress(_ZERO_MAC), mtu=65535)
        lo.channel = _LoopbackChannel(lo)
        self.add_address("lo", "127.0.0.1/8")
        self._init_node()

    def _init_node(self) -> None:
        """What a kind of host adds once the host's own state exists (a hook rather than an
        ``__init__`` of its own: a mypyc build cannot pass ``**settings`` on through
        ``super().__init__``); a plain host adds nothing."""

    # --- configuration ------------------------------------------------------------------------

    def add_interface(self, name: str, *, mac: MACAddress | str | None = None, mtu: int = 1500) -> Interface:
        iface = super().add_interface(name, mac=mac, mtu=mtu)
        # Linux queues up to unres_qlen_bytes = 212992 bytes per unresolved neighbour: about 101
        # full-size frames (the old unres_qlen of 3 would drop most fragments of a datagram)
        self.neighbors[name] = NeighborCache(queue_len=UNRESOLVED_QUEUE_LEN)
        return iface

    def add_address(self, iface: str, address: str | IPv4Interface) -> IPv4Interface:
        """Give ``iface`` an address with its prefix (``"10.0.0.5/24"``) and the connected route."""
        interface = self.iface(iface)
        value = ip_interface(address) if isinstance(address, str) else address
        if isinstance(value, IPv6Interface):
            return self.ipv6().add_address(interface, value)  # type: ignore[return-value]
        if not isinstance(value, IPv4Interface):
            raise ValueError(f"{self.name}:{iface}: not an interface address: {address}")
        if value.ip in self.local:
            from netsim.sim.network import TopologyError

            raise TopologyError(f"{self.name} already has the address {value.ip}")
        interface.addresses.append(value)
        if value.network.prefixlen < 31:  # RFC 3021: /31 and /32 have no broadcast address
            interface.broadcasts = interface.broadcasts | {value.network.broadcast_address}
        self.local[fast_ipv4(value.ip)] = interface
        self.local_packed = self.local_packed | {value.ip.packed}
        self.routes.add(Route(prefix=value.network, interface=iface, source=value.ip, kind="connected"))
        # every IPv4 interface belongs to the all-hosts group (RFC 1112 §4; Linux's ip_mc_up)
        self.join_multicast(iface, "224.0.0.1")
        return value

    def add_route(self, prefix: str, *, via: str | None = None, dev: str | None = None, metric: int = 0,
                  src: str | None = None) -> Route:
        """``ip route add PREFIX [via GW] [dev IFACE] [metric N] [src ADDR]``, IPv4 or IPv6
        (``ip -6 route add``; a link-local gateway, ``via fe80::1``, needs ``dev``)."""
        network = ip_network(prefix)
        if via is not None and "%" in via:
            raise ValueError(f"{self.name}: a gateway takes no zone ({via}): give the interface as dev")
        gateway = ip_address(via) if via is not None else None
        source = ip_address(src) if src else None
        for what, value in (("gateway", gateway), ("source", source)):
            if value is not None and value.version != network.version:
                raise ValueError(f"{self.name}: {what} {value} is not of the family of {prefix}")
        if dev is None:
            if gateway is None:
                raise ValueError(f"{self.name}: a route to {prefix} needs a gateway (via) or an interface (dev)")
            if gateway.version == 6 and gateway.is_link_local:
                raise ValueError(f"{self.name}: the link-local gateway {gateway} needs an interface (dev)")
            connected = self.routes.lookup(gateway)
            if connected is None or connected.gateway is not None:
                raise ValueError(f"{self.name}: gateway {gateway} is not on a connected network")
            dev = connected.interface
        self.iface(dev)
        route = Route(prefix=network, interface=dev, gateway=gateway, metric=metric, source=source, kind="static")
        self.routes.add(route)
        return route

    def add_blackhole(self, prefix: str, *, metric: int = 0) -> Route:
        """``ip route add blackhole PREFIX``: matching packets vanish without an ICMP error."""
        route = Route(prefix=ip_network(prefix), interface="lo", metric=metric, kind="blackhole")
        self.routes.add(route)
        return route

    def ipv6(self) -> IPv6Stack:
        """The host's IPv6 stack (RFC 8200), made on first use."""
        if self.ip6 is None:
            from netsim.sim.ipv6 import IPv6Stack

            self.ip6 = IPv6Stack(self)
        return self.ip6

    def autoconfigure(self, iface: str) -> None:
        """Run IPv6 on ``iface`` from its link-local address and take global addresses and a
        default route from router advertisements (SLAAC, RFC 4862; netsim.sim.slaac): router
        solicitations go out after a random 0-1 s."""
        if self.forwarding:
            raise ValueError(f"{self.name} forwards: a router takes no router advertisements (accept_ra)")
        interface = self.iface(iface)
        stack = self.ipv6()
        stack.enable(interface)
        stack.discovery().solicit(interface)

    def advertise(self, iface: str, *, router_lifetime: int = 1800) -> None:
        """Send router advertisements on ``iface`` for its /64 prefixes, as radvd with its
        defaults (RFC 4861 §6.2; netsim.sim.slaac): one now, then every 198-600 s, and one
        answering each router solicitation (see netsim.sim.slaac for the exact timing)."""
        if not self.forwarding:
            raise ValueError(f"{self.name} does not forward: only a router advertises itself as one")
        interface = self.iface(iface)
        stack = self.ipv6()
        stack.enable(interface)
        stack.discovery().advertise(interface, router_lifetime=router_lifetime)

    def interface_index(self, name: str) -> int:
        """``if_nametoindex``: lo is 1, then interfaces in the order they were added."""
        return list(self.interfaces).index(name) + 1

    def interface_name(self, index: int) -> str | None:
        names = list(self.interfaces)
        return names[index - 1] if 1 <= index <= len(names) else None

    def join_multicast(self, iface: str, group: str) -> None:
        """Join an IPv4 multicast group on ``iface`` (IP_ADD_MEMBERSHIP): accept its datagrams and
        the MAC it maps to, 01:00:5e + the low 23 bits of the group (RFC 1112 §6.4).  No IGMP is
        sent: switches flood multicast anyway."""
        address = IPv4Address(group)
        if not address.is_multicast:
            raise ValueError(f"{group} is not an IPv4 multicast group")
        interface = self.iface(iface)
        interface.multicast_macs.add(_multicast_mac(address))
        self.groups.setdefault(iface, set()).add(address)

    def set_default_gateway(self, gateway: str, *, metric: int = 0) -> Route:
        return self.add_route("0.0.0.0/0", via=gateway, metric=metric)

    # --- the socket API -----------------------------------------------------------------------

    @overload
    def socket(self, kind: Literal["tcp", "tcp6"], *, privileged: bool = True) -> TCPSocket: ...

    @overload
    def socket(self, kind: Literal["udp", "udp6", "icmp", "icmp6"] = "udp", *, privileged: bool = True) -> Socket: ...

    @overload
    def socket(self, kind: str, *, privileged: bool = True) -> Socket | TCPSocket: ...

    def socket(self, kind: str = "udp", *, privileged: bool = True) -> Socket | TCPSocket:
        """A new socket: ``"tcp"``, ``"udp"`` or ``"icmp"`` (a ping socket); ``"tcp6"``, ``"udp6"``
        or ``"icmp6"`` for AF_INET6.

        ``privileged=False`` models a process without CAP_NET_BIND_SERVICE: binding a port below
        ``unprivileged_port_start`` (1024) fails with EACCES.
        """
        if kind in ("udp", "udp6"):
            sock: Socket = UDPSocket(self, family=6 if kind == "udp6" else 4)
        elif kind in ("icmp", "icmp6"):
            sock = ICMPSocket(self, family=6 if kind == "icmp6" else 4)
        elif kind in ("tcp", "tcp6"):
            from netsim.sim.tcp import TCPSocket as _TCPSocket

            tcp_sock = _TCPSocket(self, family=6 if kind == "tcp6" else 4)
            tcp_sock.privileged = privileged
            self.syscall("socket", tcp_sock.fd if tcp_sock.fd is not None else -1, tcp_sock.fd, kind=kind)
            return tcp_sock
        else:
            self.syscall("socket", -1, "EPROTONOSUPPORT", kind=kind)
            raise error(errno.EPROTONOSUPPORT)
        sock.privileged = privileged
        self.syscall("socket", sock.fd, sock.fd, kind=kind)
        return sock

    def syscall(self, call: str, fd: int, result: Any, /, **args: Any) -> None:
        """One line of the socket-call trace (the strace of the simulation)."""
        network = self.network
        if args:
            network.trace.event(network.now, "syscall", self.name, call=call, fd=fd, result=result, **args)
        else:  # (most calls: recv and send with their result alone)
            network.trace.syscall(int(network.env._now), self.name, call, fd, result)

    def _bindings(self, sock: Socket) -> dict[int, list[Socket]]:
        return self.icmp_ids if sock.protocol == "icmp" else self.udp_ports

    def bind_socket(self, sock: Socket, ip: IPv4Address | None, port: int) -> int:
        """Bind (``port`` 0: ephemeral, RFC 6056 random start as Linux); returns an errno or 0."""
        if ip is not None and ip not in self.local and ip != BROADCAST and not (
                self.ip6 is not None and ip in self.ip6.local):
            return errno.EADDRNOTAVAIL
        bindings = self._bindings(sock)
        if port == 0:
            def in_use(candidate: int) -> bool:
                return bool(bindings.get(candidate))

            chosen = choose_ephemeral_port(self.port_range, in_use, self.rng)
            if chosen is None:
                return errno.EAGAIN  # Linux: "Resource temporarily unavailable" when the range is exhausted
            port = chosen
        else:
            if port < self.unprivileged_port_start and not sock.privileged and sock.protocol != "icmp":
                return errno.EACCES
            for other in bindings.get(port, []):
                overlap = other.local_ip is None or ip is None or other.local_ip == ip
                if overlap and not (sock.reuse_address and other.reuse_address):
                    return errno.EADDRINUSE
        sock.local_ip, sock.local_port = ip, port
        bindings.setdefault(port, []).append(sock)
        return 0

    def unbind_socket(self, sock: Socket) -> None:
        if sock.local_port is None:
            return
        bound = self._bindings(sock).get(sock.local_port, [])
        if sock in bound:
            bound.remove(sock)
            if not bound:
                del self._bindings(sock)[sock.local_port]

    # --- routing ------------------------------------------------------------------------------

    def is_broadcast(self, address: IPv4Address) -> bool:
        """The limited broadcast or a directed broadcast of one of our subnets."""
        return address == BROADCAST or any(address in iface.broadcasts for iface in self.interfaces.values())

    def route_to(self, dst: IPv4Address | IPv6Address) -> Route | None:
        """Linux's local table first (our own addresses, IPv4 or IPv6, go via ``lo``), then the
        main table."""
        if dst in self.local or (self.ip6 is not None and dst in self.ip6.local):
            return Route(prefix=ip_network((dst, dst.max_prefixlen)), interface="lo", source=dst, kind="local")
        return self.routes.lookup(dst)

    def source_address_for(self, dst: IPv4Address) -> IPv4Address | None:
        """RFC 1122 §3.3.4.3 / Linux: the route's preferred source, else the outgoing
        interface's address on the next hop's network, else its first address."""
        route = self.route_to(dst)
        if route is None:
            return None
        if route.source is not None:
            return fast_ipv4(route.source)  # type: ignore[arg-type]
        iface = self.interfaces[route.interface]
        hop = route.gateway or dst
        for address in iface.ipv4:
            if hop in address.network:
                return fast_ipv4(address.ip)
        return fast_ipv4(iface.ipv4[0].ip) if iface.ipv4 else None

    # --- receive path -------------------------------------------------------------------------

    def on_frame(self, iface: Interface, data: bytes, decoded: TCPSegment | None = None) -> None:
        """A frame from ``iface``; ``decoded``, when the sending host gives it, is the TCP segment
        these very bytes carry (see Interface.transmit)."""
        if len(data) < 14:
            iface.drop("ethernet-truncated", len(data))
            return
        dst = data[:6]
        if dst not in (iface.mac.packed, _BROADCAST_MAC) and iface.name != "lo" and not (
            dst[0] & 1 and dst in iface.multicast_macs
        ):
            iface.drop("other-host", len(data))
            return
        ethertype = data[12:14]
        if ethertype == _ETHERTYPE_IPV4:
            if (not self.forwarding and len(data) > 54 and data[23] == 6 and data[30:34] in self.local_packed
                    and (dst == iface.mac.packed or iface.name == "lo")):
                # a TCP segment for us (in a frame sent to our own MAC): decoded already by the
                # host that sent these very bytes (the addresses read from them), or Ethernet,
                # IPv4 and TCP decoded and verified in one pass; for one of our addresses and
                # never a fragment either way: what ip_input and local_deliver would do, without them
                if decoded is not None:
                    addresses = data[26:34]
                    pair = _ADDRESS_PAIRS.get(addresses)
                    src, dst_ip, _ = pair if pair is not None else ipv4_pair_from_packed(addresses)
                    self.tcp.input(src, dst_ip, decoded, iface)
                    return
                fast = decode_ipv4_tcp_packet(data)
                if fast is not None:
                    self.tcp.input(fast.src, fast.dst, fast.payload, iface)  # type: ignore[arg-type]
                    return
            try:
                if len(data) < 18:
                    raise WireError("ipv4", "header", "truncated")
                end = 14 + ((data[16] << 8) | data[17])
                packet = IPv4Packet.parse(data[14:end] if 34 <= end < len(data) else data[14:], verify=True,
                                          decode=False)
            except WireError as exc:
                iface.drop(f"{exc.layer}-{exc.reason}", len(data))
                return
            # Linux's pkt_type: a frame not sent to our own MAC (link-layer broadcast or
            # multicast) is never forwarded, never reaches TCP and never draws an ICMP error
            self.ip_input(packet, iface, dst != iface.mac.packed and iface.name != "lo")
        elif ethertype == _ETHERTYPE_ARP:
            try:
                arp = ARPPacket.parse(data[14:42])
            except WireError as exc:
                iface.drop(f"{exc.layer}-{exc.reason}", len(data))
                return
            self.arp_input(arp, iface)
        elif ethertype == b"\x81\x00":
            iface.drop("vlan-tagged", len(data))
        elif ethertype == b"\x86\xdd":
            if self.ip6 is None:
                iface.drop("ipv6-not-configured", len(data))
            else:
                self.ip6.input(iface, data)
        else:
            iface.drop("unknown-ethertype", len(data))

    def arp_input(self, arp: ARPPacket, iface: Interface) -> None:
        """RFC 826's merge: update a known sender from any ARP; learn it and answer when we are
        the target."""
        now = self.network.now
        cache = self.neighbors[iface.name]
        target_is_us = any(a.ip == arp.target_ip for a in iface.ipv4)
        known = cache.state(arp.sender_ip, now) is not None
        if arp.sender_ip != ANY and (known or target_is_us):
            # Linux's arp_process: create only when we are the target; only a reply confirms
            # reachability; a gratuitous ARP overrides the lock time
            released = cache.fill(arp.sender_ip, arp.sender_mac, now, create=target_is_us,
                                  confirmed=arp.operation == 2, override=arp.is_gratuitous)
            for queued in released:
                self._transmit_ip(iface, arp.sender_mac.packed, queued)
        if target_is_us and arp.operation == 1:
            reply = ARPPacket(2, iface.mac, arp.target_ip, arp.sender_mac, arp.sender_ip)
            iface.transmit(arp.sender_mac.packed + iface.mac.packed + _ETHERTYPE_ARP + reply.to_bytes())
        elif not target_is_us and not known:
            iface.drop("arp-not-for-us", 28)

    def ip_input(self, packet: IPv4Packet, iface: Interface, link_broadcast: bool = False) -> None:
        """``link_broadcast``: the frame came to a link-layer broadcast or multicast address
        (Linux's pkt_type other than PACKET_HOST)."""
        dst = packet.dst
        if dst in self.local or dst == BROADCAST or dst in iface.broadcasts:
            self.local_deliver(packet, iface, broadcast=dst not in self.local, link_broadcast=link_broadcast)
        elif dst.is_multicast and dst in self.groups.get(iface.name, ()):
            self.local_deliver(packet, iface, broadcast=True, link_broadcast=link_broadcast)
        elif link_broadcast or dst.is_multicast:
            iface.drop("not-for-host", len(packet.payload_bytes()) + packet.header_len)
        elif self.forwarding:
            self.forward(packet, iface)
        else:
            iface.drop("not-for-host", packet.header_len + len(packet.payload_bytes()))

    def local_deliver(self, packet: IPv4Packet, iface: Interface, *, broadcast: bool = False,
                      link_broadcast: bool = False) -> None:
        """Deliver a datagram for us.  ``broadcast``: its IP destination is a broadcast or
        multicast address; ``link_broadcast``: its frame's MAC destination was.  Either way TCP
        never sees it (RFC 1122 §4.2.3.10; Linux's tcp_v4_rcv wants PACKET_HOST) and no ICMP
        error answers it (RFC 1122 §3.2.2; Linux's __icmp_send)."""
        if packet.is_fragment:
            whole = self.reassembler.on_fragment(packet, self.network.now)
            self._arm(self.reassembler.next_deadline())
            if whole is None:
                return
            packet = whole
        protocol = packet.protocol
        segment = packet.payload
        if type(segment) is TCPSegment:  # decoded and verified by the fast path
            if broadcast or link_broadcast:
                iface.drop("tcp-broadcast", segment.seg_len)
            else:
                self.tcp.input(packet.src, packet.dst, segment, iface)
            return
        payload = packet.payload_bytes()
        try:
            if protocol == 17:
                datagram = UDPDatagram.parse(payload, src=packet.src, dst=packet.dst, verify=True)
                self.udp_input(packet, datagram, iface, broadcast or link_broadcast)
            elif protocol == 1:
                self.icmp_input(packet, ICMPv4Message.parse(payload, verify=True), iface, broadcast)
            elif protocol == 6:
                if broadcast or link_broadcast:
                    iface.drop("tcp-broadcast", len(payload))  # RFC 1122 §4.2.3.10
                else:
                    segment = TCPSegment.parse(payload, src=packet.src, dst=packet.dst, verify=True)
                    self.tcp.input(packet.src, packet.dst, segment, iface)
            else:
                iface.drop("unknown-protocol", len(payload))
                if not (broadcast or link_broadcast):
                    self.icmp_error(packet, ICMPv4DestUnreachable(2))  # protocol unreachable
        except WireError as exc:
            iface.drop(f"{exc.layer}-{exc.reason}", len(payload))

    def udp_input(self, packet: IPv4Packet | IPv6Packet, datagram: UDPDatagram, iface: Interface,
                  broadcast: bool) -> None:
        sock = self._udp_lookup(packet.dst, datagram.dst_port, packet.src, datagram.src_port)
        if sock is None:
            iface.drop("udp-no-socket", len(datagram.payload))
            if broadcast:
                return
            if isinstance(packet, IPv4Packet):
                self.icmp_error(packet, ICMPv4DestUnreachable(3))  # port unreachable, RFC 1122 §4.1.3.1
            elif self.ip6 is not None:
                self.ip6.icmp_error(packet.to_bytes(), ICMPv6DestUnreachable(ICMPv6UnreachableCode.PORT), iface)
            return
        sender = socket_name(self, getattr(sock, "family", 4), packet.src, datagram.src_port, packet.dst)
        if not sock.deliver(datagram.payload, sender):
            iface.drop("udp-rcvbuf-full", len(datagram.payload))

    def _udp_lookup(self, local: IPv4Address | IPv6Address, port: int, remote: IPv4Address | IPv6Address,
                    remote_port: int) -> Socket | None:
        """Linux's scoring, simplified: a connected socket to this peer beats one bound to the
        local address, which beats a wildcard one."""
        best, best_score = None, -1
        family = local.version
        for sock in self.udp_ports.get(port, ()):
            if sock.local_ip is not None and sock.local_ip != local:
                continue
            mine = getattr(sock, "family", 4)
            if mine != family and not (mine == 6 and family == 4 and not sock.v6only):
                continue  # an IPv4 socket never sees IPv6; an IPv6 one sees IPv4 only in dual stack
            if sock.remote is not None and sock.remote != (remote, remote_port):
                continue
            score = (2 if sock.remote is not None else 0) + (1 if sock.local_ip is not None else 0)
            if score > best_score:
                best, best_score = sock, score
        return best

    def icmp_input(self, packet: IPv4Packet, message: ICMPv4Message, iface: Interface, broadcast: bool) -> None:
        if isinstance(message, ICMPv4Echo):
            if message.is_request:
                if broadcast and self.icmp_echo_ignore_broadcasts:
                    iface.drop("icmp-echo-broadcast-ignored", len(message.data))
                    return
                reply = ICMPv4Echo(0, message.identifier, message.sequence, message.data)
                source = packet.dst if packet.dst in self.local else self.source_address_for(packet.src)
                if source is not None:
                    self.send_ip(source, packet.src, 1, reply, df=False)
                return
            for sock in self.icmp_ids.get(message.identifier, ()):
                if sock.family == 4 and (sock.remote is None or sock.remote[0] == packet.src):
                    sock.deliver(message.to_bytes(), (str(packet.src), 0), ttl=packet.ttl)
                    return
            iface.drop("icmp-echo-reply-unexpected", len(message.data))
            return
        if isinstance(message, ICMPv4DestUnreachable | ICMPv4TimeExceeded):
            self._icmp_error_input(packet, message, iface)
            return
        iface.drop("icmp-type-ignored", 8)

    def _icmp_error_input(self, packet: IPv4Packet, message: ICMPv4DestUnreachable | ICMPv4TimeExceeded,
                          iface: Interface) -> None:
        """An error about a datagram we sent: PMTU update (RFC 1191), and the socket it concerns."""
        quoted = message.original
        if len(quoted) < 28 or quoted[0] >> 4 != 4:
            iface.drop("icmp-error-short-quote", len(quoted))
            return
        hlen = (quoted[0] & 15) * 4
        if len(quoted) < hlen + 8:
            iface.drop("icmp-error-short-quote", len(quoted))
            return
        protocol = quoted[9]
        original_src, original_dst = IPv4Address(quoted[12:16]), IPv4Address(quoted[16:20])
        if original_src not in self.local:
            iface.drop("icmp-error-not-ours", len(quoted))
            return
        now = self.network.now
        frag_needed = message.next_hop_mtu if isinstance(message, ICMPv4DestUnreachable) and message.code == 4 else 0
        l4 = quoted[hlen : hlen + 8]
        if protocol == 6:
            if isinstance(message, ICMPv4DestUnreachable) and message.code == 4:
                if frag_needed:  # RFC 1191; TCP lowers the PMTU once the segment is known in flight
                    self.tcp.icmp_error(original_src, original_dst, l4, 0, frag_needed)
                return
            code = UNREACHABLE_ERRNO.get(message.code, errno.EHOSTUNREACH) if message.type == 3 else errno.EHOSTUNREACH
            self.tcp.icmp_error(original_src, original_dst, l4, code, None)
            return
        sock: Socket | None = None
        if protocol == 17:
            sport, dport = (l4[0] << 8) | l4[1], (l4[2] << 8) | l4[3]
            sock = self._udp_lookup(original_src, sport, original_dst, dport)
            if sock is not None and frag_needed:
                self.pmtu.update(original_dst, frag_needed, now)  # (ipv4_sk_update_pmtu: a socket of ours)
        elif protocol == 1:
            if frag_needed:
                self.pmtu.update(original_dst, frag_needed, now)  # icmp_err: whatever sent the ICMP
            if l4[0] == 8:
                identifier = (l4[4] << 8) | l4[5]
                sock = next((c for c in self.icmp_ids.get(identifier, ()) if c.family == 4), None)
        if sock is None:
            return
        # Linux's __udp4_lib_err and ping_err: "fragmentation needed" is a hard EMSGSIZE unless
        # the socket does no PMTU discovery (then it is not reported at all); other unreachables
        # take icmp_err_convert's errno and fatality; time exceeded is a soft EHOSTUNREACH
        if message.type != 3:
            code, hard = errno.EHOSTUNREACH, False
        elif message.code == 4:
            if sock.pmtudisc == IP_PMTUDISC_DONT:
                return
            code, hard = errno.EMSGSIZE, True
        else:
            code = UNREACHABLE_ERRNO.get(message.code, errno.EHOSTUNREACH)
            hard = message.code in UNREACHABLE_FATAL
        report = ICMPErrorReport(
            offender=str(packet.src), type=message.type, code=message.code, original_dst=str(original_dst),
            original_dst_port=(l4[2] << 8) | l4[3] if protocol == 17 else 0,
            next_hop_mtu=getattr(message, "next_hop_mtu", 0), errno=code,
        )
        self.report_icmp_error(sock, report, code, hard=hard)

    @staticmethod
    def report_icmp_error(sock: Socket, report: ICMPErrorReport, code: int, *, hard: bool) -> None:
        """Give a UDP or ping socket an ICMP error about one of its datagrams, as Linux's
        ``__udp4_lib_err``/``__udp6_lib_err``/``ping_err`` do (checked against Linux by
        tests/oracles/test_linux_ipv6.py).

        With IP_RECVERR (IPV6_RECVERR) every error is queued for :meth:`Socket.recv_error` and
        also becomes the socket's pending error, connected or not: its next send or receive
        fails with ``code`` (``sk_err``; what iputils ping prints "From ..." for, and why
        traceroute reads the queue before it sends again).  Without it only a ``hard`` error
        (RFC 1122 §4.1.3.3; icmp_err_convert's "fatal") reaches a connected socket."""
        if sock.recv_errors:
            sock.push_error(report)
            sock.report_error(code)
        elif hard and sock.remote is not None:
            sock.report_error(code)

    # --- forwarding ---------------------------------------------------------------------------

    def forward(self, packet: IPv4Packet, iface: Interface) -> None:
        """RFC 1812 §5.2 in Linux's order (``ip_route_input``, then ``ip_forward``; checked
        against Linux by tests/oracles/test_linux_ipv6.py): the route (none: net unreachable; a
        blackhole: silence), the TTL (time exceeded), the MTU, then out."""
        size = packet.header_len + len(packet.payload_bytes())
        route = self.routes.lookup(packet.dst)
        if route is None:
            iface.drop("no-route", size)
            self.icmp_error(packet, ICMPv4DestUnreachable(0))  # net unreachable
            return
        if route.kind == "blackhole":
            iface.drop("blackhole", size)
            return
        if packet.ttl <= 1:
            iface.drop("ttl-exceeded", size)
            self.icmp_error(packet, ICMPv4TimeExceeded(0))
            return
        out = self.interfaces[route.interface]
        forwarded = packet.forwarded()
        if size > out.mtu and packet.dont_fragment:
            iface.drop("fragmentation-needed", size)
            self.icmp_error(packet, ICMPv4DestUnreachable(4, next_hop_mtu=out.mtu))
            return
        self.counters["forwarded"] = self.counters.get("forwarded", 0) + 1
        self._output(forwarded, route, out)

    # --- send path ----------------------------------------------------------------------------

    def send_ip(self, src: Any, dst: Any, protocol: int, payload: Any, *,
                ttl: int | None = None, df: bool | None = None, probe: bool = False,
                flow_label: int | None = None) -> int:
        """Route and send a datagram we originate; returns an errno (0 when sent or queued).

        DF follows Linux's IP_PMTUDISC_WANT: set when the datagram fits the path MTU, and a
        larger one is fragmented here instead (so PMTUD can lower the MTU for later ones).
        ``flow_label``: an IPv6 datagram's (RFC 6437; None: the flow's own, IPv6Stack.auto_flow_label;
        IPv4 has none).
        """
        if isinstance(dst, IPv6Address):
            if self.ip6 is None:
                return errno.ENETUNREACH
            # (over IPv6 ``df`` is IPV6_DONTFRAG: the datagram is never fragmented, RFC 3542 §11.2)
            return self.ip6.send(src, dst, protocol, payload, hop_limit=ttl, flow_label=flow_label,
                                 dontfrag=bool(df))
        if df and ttl is None and not probe and type(payload) is TCPSegment and payload.checksum is None:
            return self._send_tcp(src, dst, payload)
        route = self.route_to(dst)
        if route is None:
            return errno.ENETUNREACH
        if route.kind == "blackhole":
            return errno.EINVAL  # what Linux's sendmsg says for a blackhole route
        out = self.interfaces[route.interface]
        size = 20 + _encoded_length(payload)
        mtu = out.mtu if probe else self.path_mtu(dst, out)
        if df is None:
            entry = None if probe else self.pmtu.entry(dst, self.network.now)
            # below min_pmtu Linux stops setting DF towards the destination (the entry is "locked")
            df = size <= mtu and not (entry is not None and entry.locked)
        if df and size > mtu:
            return errno.EMSGSIZE
        if ttl is not None and not 1 <= ttl <= 255:
            raise ValueError(f"ttl must be 1..255, got {ttl}")
        # (TCP's own segments go the way of _send_tcp, encoded in one pass; this is everything else)
        # the trusted constructor: addresses are ours or parsed, the rest in range by construction
        packet = _make_packet(src, dst, protocol, payload, self.ttl if ttl is None else ttl, self._next_id(),
                              2 if df else 0, 0, 0, 0, b"", None)
        self._output(packet, route, out, mtu)
        return 0

    def _send_tcp(self, src: Any, dst: Any, segment: TCPSegment) -> int:
        """send_ip for TCP's own segments (DF set, the host's TTL, IPv4): the same decisions in
        the same order — route, path MTU (EMSGSIZE over it), identification, one-pass encoding —
        and, for a unicast next hop whose MAC is known, straight onto the wire; anything else
        goes the general way (_output_datagram)."""
        route = self.route_to(dst)
        if route is None:
            return errno.ENETUNREACH
        if route.kind == "blackhole":
            return errno.EINVAL
        out = self.interfaces[route.interface]
        tcp_options = options_to_bytes(segment.options) if segment.options else b""
        size = 40 + len(tcp_options) + len(segment.payload)
        now = int(self.network.env._now)
        mtu = out.mtu
        entry = self.pmtu._entries.get(dst)  # (PMTUCache.lookup written out)
        if entry is not None and now < entry.expires_at and entry.mtu < mtu:
            mtu = entry.mtu
        if size > mtu:
            return errno.EMSGSIZE  # (so size <= 65535 below: mtu is)
        ttl = self.ttl
        ident = self.ip_id = (self.ip_id + 1) & 0xFFFF
        data = encode_tcp_datagram(src._ip, dst._ip, ttl, ident, 2, segment, tcp_options)
        next_hop: Any = route.gateway or dst  # (an address with its int, _ip: IPv4Address's own slot)
        address = next_hop._ip
        if out.name != "lo" and address != 0xFFFFFFFF and address >> 28 != 14 and next_hop not in out.broadcasts:
            mac = self.neighbors[out.name].use(next_hop, now)
            if mac is not None:
                # (the segment rides beside the bytes: the receiving host need not decode them)
                out.transmit(b"".join((mac.packed, out.mac.packed, _ETHERTYPE_IPV4, data)), segment)
                return 0
        self._output_datagram(data, True, dst, route, out, mtu, segment)
        return 0

    def path_mtu(self, dst: IPv4Address | IPv6Address, out: Interface) -> int:
        cached = self.pmtu.lookup(dst, int(self.network.env.now))  # (Network.now, without its call)
        return out.mtu if cached is None else min(cached, out.mtu)

    def _next_id(self) -> int:
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        return self.ip_id

    def _output(self, packet: IPv4Packet, route: Route, out: Interface, mtu: int | None = None) -> None:
        self._output_datagram(packet.to_bytes(), packet.dont_fragment, packet.dst, route, out, mtu)

    def _output_datagram(self, data: bytes, dont_fragment: bool, dst: IPv4Address, route: Route, out: Interface,
                         mtu: int | None = None, decoded: TCPSegment | None = None) -> None:
        """Send an encoded datagram to ``dst`` on ``route``: fragmented to ``mtu`` if it allows;
        ``decoded``, if given, is the TCP segment ``data`` carries (see Interface.transmit)."""
        if mtu is None:
            mtu = out.mtu
        if len(data) > mtu:
            if dont_fragment:
                out.drop("fragmentation-needed", len(data))
                return
            try:
                fragments = fragment_ipv4(IPv4Packet.parse(data, decode=False), mtu)
            except ValueError:
                out.drop("cannot-fragment", len(data))  # an offset + length past 65535, or an MTU below 68
                return
            pieces = [piece.to_bytes() for piece in fragments]
        else:
            self._send_to_neighbor(out, route.gateway or dst, data, decoded)  # type: ignore[arg-type]
            return
        next_hop = route.gateway or dst
        for piece in pieces:
            self._send_to_neighbor(out, next_hop, piece)  # type: ignore[arg-type]

    def _send_to_neighbor(self, out: Interface, next_hop: IPv4Address, data: bytes,
                          decoded: TCPSegment | None = None) -> None:
        if out.name == "lo":
            self._transmit_ip(out, _ZERO_MAC, data)
            return
        address = next_hop._ip  # type: ignore[attr-defined]  # the int: cheaper than IPv4Address's Python methods
        if address == 0xFFFFFFFF or next_hop in out.broadcasts:
            self._transmit_ip(out, _BROADCAST_MAC, data)
            return
        if address >> 28 == 14:  # 224.0.0.0/4: a multicast group
            self._transmit_ip(out, _multicast_mac(next_hop), data)  # no ARP for groups (RFC 1112 §6.4)
            return
        cache = self.neighbors[out.name]
        now = int(self.network.env.now)
        mac = cache.use(next_hop, now)
        if mac is not None:
            # (a known neighbour changes no resolution in progress: no timer to arm)
            self._transmit_ip(out, mac.packed, data, decoded)
            return
        result = cache.resolve(next_hop, data, now)  # queued until ARP answers (use() found no MAC)
        if result.dropped is not None:
            out.drop("arp-queue-full", len(result.dropped))
        if result.request:
            self._arp_request(out, next_hop)
        self._arm(cache.next_deadline())

    def _transmit_ip(self, out: Interface, mac: bytes, data: bytes, decoded: TCPSegment | None = None) -> None:
        out.transmit(b"".join((mac, out.mac.packed, _ETHERTYPE_IPV4, data)), decoded)

    def _arp_request(self, out: Interface, target: IPv4Address) -> None:
        source = next((a.ip for a in out.ipv4 if target in a.network), out.ipv4[0].ip if out.ipv4 else ANY)
        request = ARPPacket(1, out.mac, source, MACAddress(_ZERO_MAC), target)
        out.transmit(_BROADCAST_MAC + out.mac.packed + _ETHERTYPE_ARP + request.to_bytes())

    def announce(self, iface: str) -> None:
        """Send a gratuitous ARP for each address of ``iface`` (RFC 5227 §3 announcement)."""
        out = self.iface(iface)
        for address in out.ipv4:
            arp = ARPPacket(1, out.mac, address.ip, MACAddress(_ZERO_MAC), address.ip)
            out.transmit(_BROADCAST_MAC + out.mac.packed + _ETHERTYPE_ARP + arp.to_bytes())

    # --- ICMP errors --------------------------------------------------------------------------

    def icmp_error(self, offending: IPv4Packet, message: ICMPv4DestUnreachable | ICMPv4TimeExceeded) -> None:
        """Send an ICMP error about ``offending``, within RFC 1122 §3.2.2's rules and Linux's rate limit."""
        src = offending.src
        if offending.fragment_offset or src in (ANY, BROADCAST) or src.is_multicast or (
            src.is_loopback and src not in self.local
        ):
            return
        if offending.protocol == 1:
            payload = offending.payload_bytes()
            if payload and payload[0] not in (0, 8, 13, 14, 15, 16, 17, 18):
                return  # never an error about an error
        now = self.network.now
        if not self.icmp_limiter.allow(src, message.type, message.code, now, loopback=src in self.local):
            self.counters["icmp-ratelimited"] = self.counters.get("icmp-ratelimited", 0) + 1
            return
        source = self.source_address_for(src)
        if source is None:
            return
        quoted = quote_datagram(offending.to_bytes())
        if isinstance(message, ICMPv4DestUnreachable):
            error_message: ICMPv4Message = ICMPv4DestUnreachable(message.code, quoted,
                                                                 next_hop_mtu=message.next_hop_mtu)
        else:
            error_message = ICMPv4TimeExceeded(message.code, quoted)
        self.send_ip(source, src, 1, error_message, df=False)

    # --- timers -------------------------------------------------------------------------------

    def _arm(self, deadline: int | None) -> None:
        """Make sure the engines' timers run at ``deadline`` (one pending wake-up at a time)."""
        if deadline is None or (self._timer_at is not None and self._timer_at <= deadline):
            return
        self._timer_at = deadline
        env = self.network.env
        event = env.timeout(max(0, deadline - self.network.now))
        event.callbacks.append(partial(self._on_timer, deadline))

    def _on_timer(self, at: int, _event: object = None) -> None:
        if self._timer_at != at:
            return  # superseded by an earlier wake-up
        self._timer_at = None
        now = self.network.now
        for name, cache in self.neighbors.items():
            actions = cache.on_timer(now)
            iface = self.interfaces[name]
            for target in actions.retransmit:
                if isinstance(target, IPv4Address):
                    self._arp_request(iface, target)
                elif self.ip6 is not None:
                    self.ip6.solicit(iface, target)
            for _target, queued in actions.failed:
                for data in queued:
                    if data[0] >> 4 == 6 and self.ip6 is not None:
                        # RFC 4861 §7.2.2: address unreachable, to the sender (ourselves included)
                        iface.drop("ndp-failed", len(data))
                        self.ip6.icmp_error(data, ICMPv6DestUnreachable(ICMPv6UnreachableCode.ADDRESS), iface)
                        continue
                    iface.drop("arp-failed", len(data))
                    try:
                        offending = IPv4Packet.parse(data, decode=False)
                    except WireError:
                        continue
                    self.icmp_error(offending, ICMPv4DestUnreachable(1))  # host unreachable
        for expired in self.reassembler.on_timer(now):
            first = getattr(expired, "first_fragment", None)
            if first is not None:
                self.icmp_error(first, ICMPv4TimeExceeded(1))  # reassembly time exceeded
        # (PMTU entries expire lazily, on lookup: they need no timer)
        deadlines = [c.next_deadline() for c in self.neighbors.values()]
        deadlines.append(self.reassembler.next_deadline())
        if self.ip6 is not None:
            self.ip6.on_timer(now)
            deadlines.append(self.ip6.reassembler.next_deadline())
        pending = [d for d in deadlines if d is not None]
        if pending:
            self._arm(max(min(pending), now))


def _multicast_mac(group: IPv4Address) -> bytes:
    return b"\x01\x00\x5e" + (int(group) & 0x7FFFFF).to_bytes(3, "big")


def _encoded_length(payload: Any) -> int:
    """The length of an upper-layer value once encoded, without encoding the common ones."""
    if isinstance(payload, UDPDatagram):
        return 8 + len(payload.payload)
    if isinstance(payload, ICMPv4Echo):
        return 8 + len(payload.data)
    if isinstance(payload, TCPSegment):
        return payload.header_len + len(payload.payload)
    if isinstance(payload, bytes):
        return len(payload)
    return len(payload.to_bytes())


class Router(Host):
    """A host that forwards (net.ipv4.ip_forward = 1)."""

    kind = "router"
    forwarding = True

