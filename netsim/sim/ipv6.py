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

Routers forward IPv6 as Linux's ``ip6_forward`` does (see :meth:`IPv6Stack.forward`): hop
limit, Packet Too Big instead of fragmentation, link-local scope; fragments and other extension
headers pass untouched.  ICMPv6 errors (RFC 4443) are sent within §2.4's rules and the host's
rate limit, and received ones reach their socket with Linux's errnos (the quoted datagram's
extension headers skipped, a first fragment's Fragment header among them); Packet Too Big
lowers the path MTU (RFC 8201).  Ping sockets work over IPv6.

Fragmentation happens at the source only (RFC 8200 §4.5; :mod:`netsim.proto.fragment6`): a UDP
or ICMPv6 datagram larger than the path MTU leaves as fragments cut as Linux's ``ip6_fragment``
cuts them, under a random identification, unless the socket set IPV6_DONTFRAG (then EMSGSIZE,
RFC 3542 §11.2); TCP never needs it.  Received fragments are put back together as Linux's
``ipv6_frag_rcv`` does (60 s, Time Exceeded code 1, Parameter Problem for bad lengths and for a
first fragment without the whole header chain, overlaps fatal, atomic fragments taken at once,
4 MiB held at most), every refusal counted on the interface as ``ipv6-frag-...``, and the whole
datagram goes to UDP, ICMPv6 or TCP as an unfragmented one would.

Router advertisements and SLAAC are in :mod:`netsim.sim.slaac`.

Simplified (documented): no duplicate address detection, no redirects, no extension headers
but the Fragment header on received packets (the others are dropped and counted as
``ipv6-extension-headers``; routers forward them untouched), no IPV6_MTU_DISCOVER, and
datagrams to one of our own addresses go through ``lo`` whole, whatever their size (Linux's
loopback MTU would fragment one over 65536 bytes).
"""

from __future__ import annotations

import errno
import hashlib
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from typing import TYPE_CHECKING, Any

import attrs

from netsim.errors import WireError
from netsim.proto.fragment6 import FragmentRefused, IPv6Reassembler, fragment_ipv6
from netsim.proto.routing import Route
from netsim.sim.sockets import ICMPErrorReport, socket_name
from netsim.wire.icmpv6 import (
    ICMPv6DestUnreachable,
    ICMPv6Echo,
    ICMPv6Message,
    ICMPv6NeighborAdvertisement,
    ICMPv6NeighborSolicitation,
    ICMPv6PacketTooBig,
    ICMPv6ParameterProblem,
    ICMPv6RouterAdvertisement,
    ICMPv6RouterSolicitation,
    ICMPv6TimeExceeded,
    ICMPv6TimeExceededCode,
    ICMPv6UnreachableCode,
    quote_ipv6_packet,
)
from netsim.wire.ipv6 import IPv6Fragment, IPv6Packet
from netsim.wire.mac import MACAddress
from netsim.wire.ndp import NDPSourceLinkLayerAddress, NDPTargetLinkLayerAddress
from netsim.wire.tcp import TCPSegment
from netsim.wire.udp import UDPDatagram

if TYPE_CHECKING:
    from netsim.sim.host import Host
    from netsim.sim.interface import Interface
    from netsim.sim.slaac import RouterDiscovery
    from netsim.sim.sockets import Socket

ETHERTYPE_IPV6 = b"\x86\xdd"
ALL_NODES = IPv6Address("ff02::1")
LINK_LOCAL = IPv6Network("fe80::/64")
LINK_LOCAL_SCOPE = IPv6Network("fe80::/10")  # the whole link-local unicast block (RFC 4291 §2.5.6)
_ICMPV6, _TCP, _UDP = 58, 6, 17
MIN_MTU = 1280  # RFC 8200 §5

ICMPv6Error = ICMPv6DestUnreachable | ICMPv6PacketTooBig | ICMPv6TimeExceeded | ICMPv6ParameterProblem
_ERRORS = (ICMPv6DestUnreachable, ICMPv6PacketTooBig, ICMPv6TimeExceeded, ICMPv6ParameterProblem)

#: Linux's ``icmpv6_err_convert``: (errno, fatal) of each Destination Unreachable code
_UNREACHABLE: dict[int, tuple[int, bool]] = {
    ICMPv6UnreachableCode.NO_ROUTE: (errno.ENETUNREACH, False),
    ICMPv6UnreachableCode.ADMIN_PROHIBITED: (errno.EACCES, True),
    ICMPv6UnreachableCode.BEYOND_SCOPE: (errno.EHOSTUNREACH, False),
    ICMPv6UnreachableCode.ADDRESS: (errno.EHOSTUNREACH, False),
    ICMPv6UnreachableCode.PORT: (errno.ECONNREFUSED, True),
    ICMPv6UnreachableCode.SOURCE_POLICY_FAILED: (errno.EACCES, True),
    ICMPv6UnreachableCode.REJECT_ROUTE: (errno.EACCES, True),
}


_EXTENSION_HEADERS = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options (RFC 8200 §4)


def _upper_layer(packet: bytes) -> tuple[int, int]:
    """The upper-layer protocol of ``packet`` (an IPv6 datagram, perhaps cut short) and where
    its header starts, the extension headers skipped as Linux's ``ipv6_skip_exthdr`` does:
    -1 when an extension header is cut short, 44 (Fragment) for a fragment other than the
    first, which carries no upper-layer header."""
    next_header, offset = packet[6], 40
    while True:
        if next_header in _EXTENSION_HEADERS:
            if len(packet) < offset + 2:
                return -1, offset
            next_header, offset = packet[offset], offset + (packet[offset + 1] + 1) * 8
        elif next_header == 44:  # fragment
            if len(packet) < offset + 8:
                return -1, offset
            if (packet[offset + 2] << 8 | packet[offset + 3]) & 0xFFF8:
                return 44, offset
            next_header, offset = packet[offset], offset + 8
        else:
            return next_header, offset


def _is_icmpv6_error(packet: bytes) -> bool:
    """Whether ``packet`` carries an ICMPv6 error message, or one cut too short to tell (Linux's
    ``is_ineligible``; a fragment other than the first carries no ICMPv6 header, so it is not
    an error message)."""
    next_header, offset = _upper_layer(packet)
    if next_header == _ICMPV6:
        return len(packet) <= offset or packet[offset] < 128
    return next_header == -1


def icmpv6_errno(icmp_type: int, code: int) -> tuple[int, bool]:
    """The errno an ICMPv6 error gives a socket, and whether it is fatal (a hard error, RFC 1122
    §4.1.3.3's sense), as Linux's ``icmpv6_err_convert``."""
    if icmp_type == 1:
        return _UNREACHABLE.get(code, (errno.EPROTO, True))
    if icmp_type == 2:
        return errno.EMSGSIZE, False
    if icmp_type == 3:
        return errno.EHOSTUNREACH, False
    if icmp_type == 4:
        return errno.EPROTO, True
    return errno.EPROTO, False


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
        self.hop_limit = 64  # net.ipv6.conf.*.hop_limit; a router advertisement may change it
        self._flow_secret = host.network.stream(f"host/{host.name}/flowlabel").getrandbits(128).to_bytes(16, "big")
        self._flow_labels: dict[tuple[Any, ...], int] = {}  # (computed once per flow)
        self.router_discovery: RouterDiscovery | None = None  # made by the first advertise/autoconfigure
        self.reassembler = IPv6Reassembler()
        self._fragment_ids = host.network.stream(f"host/{host.name}/fragment-id")

    def auto_flow_label(self, src: IPv6Address, dst: IPv6Address, next_header: int, payload: Any) -> int:
        """The flow label of a datagram we send (RFC 6437 §3), as Linux's auto_flowlabels give it:
        a hash of the flow with a boot-time secret (``skb_get_hash_flowi6``; for TCP the socket's
        random ``sk_txhash``, just as constant), 20 bits of it, never 0 ("no label"), so every
        datagram of a flow carries the same label and other flows others.  Neighbour discovery
        (RFC 4861: ``ndisc_send_skb``) carries none."""
        if next_header == _ICMPV6 and 133 <= getattr(payload, "type", 0) <= 137:
            return 0
        ports = (payload.src_port, payload.dst_port) if isinstance(payload, TCPSegment | UDPDatagram) else (0, 0)
        key = (src, dst, next_header, *ports)
        label = self._flow_labels.get(key)
        if label is None:
            material = b"".join((src.packed, dst.packed, bytes((next_header,)), ports[0].to_bytes(2, "big"),
                                 ports[1].to_bytes(2, "big")))
            digest = hashlib.blake2b(material, key=self._flow_secret, digest_size=4).digest()
            label = (int.from_bytes(digest, "big") & 0xFFFFF) or 1
            if len(self._flow_labels) >= 4096:
                self._flow_labels.clear()
            self._flow_labels[key] = label
        return label

    def discovery(self) -> RouterDiscovery:
        """Router advertisements and SLAAC (netsim.sim.slaac), made on first use."""
        if self.router_discovery is None:
            from netsim.sim.slaac import RouterDiscovery

            self.router_discovery = RouterDiscovery(self)
        return self.router_discovery

    def enable(self, iface: Interface) -> None:
        """Run IPv6 on ``iface`` with only its link-local address (until SLAAC adds more)."""
        if not self.addresses(iface):
            self._configure(iface, IPv6Interface(f"{link_local_for(iface.mac)}/64"))

    def join(self, iface: Interface, group: IPv6Address) -> None:
        """Accept ``group``'s datagrams on ``iface`` (and the MAC it maps to, RFC 2464 §7)."""
        self.groups.setdefault(iface.name, set()).add(group)
        iface.multicast_macs.add(multicast_mac(group))

    # --- configuration ---------------------------------------------------------------------

    def add_address(self, iface: Interface, value: IPv6Interface, *, route: bool = True) -> IPv6Interface:
        """Give ``iface`` an address (and, first, its link-local one); ``route``: with the
        connected route of its prefix (SLAAC leaves it out for a prefix that is not on-link)."""
        from netsim.sim.network import TopologyError

        if value.ip in self.local:
            raise TopologyError(f"{self.host.name} already has the address {value.ip}")
        if value.ip not in LINK_LOCAL:
            self.enable(iface)
        self._configure(iface, value, route=route)
        return value

    def _configure(self, iface: Interface, value: IPv6Interface, *, route: bool = True) -> None:
        iface.addresses.append(value)
        self.local[value.ip] = iface
        groups = self.groups.setdefault(iface.name, set())
        for group in (ALL_NODES, solicited_node(value.ip)):
            groups.add(group)
            iface.multicast_macs.add(multicast_mac(group))
        if route and (value.network != LINK_LOCAL or not any(r.prefix == LINK_LOCAL and r.interface == iface.name
                                                             for r in self.host.routes.routes())):
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
             hop_limit: int | None = None, flow_label: int | None = None, dontfrag: bool = False) -> int:
        """Send a datagram we originate; an errno, or 0 when sent or queued for resolution.

        A datagram larger than the path MTU is fragmented (RFC 8200 §4.5, Linux's
        ``ip6_fragment``: :func:`~netsim.proto.fragment6.fragment_ipv6`) under a fresh
        identification, unless ``dontfrag`` (IPV6_DONTFRAG, RFC 3542 §11.2, and TCP's segments,
        which their MSS makes fit): then EMSGSIZE.  A payload over 65535 bytes is EMSGSIZE
        either way (no jumbograms).  ``flow_label`` None: the flow's own
        (:meth:`auto_flow_label`), as Linux's auto_flowlabels give every datagram but neighbour
        discovery's."""
        if flow_label is None:
            flow_label = self.auto_flow_label(src, dst, next_header, payload)
        local = dst in self.local
        if local:
            out, hop = self.host.interfaces["lo"], dst
        else:
            where = self.interface_for(src, dst)
            if where is None:
                return errno.ENETUNREACH
            out, hop = where
        if hop_limit is None:
            neighbour_discovery = next_header == _ICMPV6 and isinstance(
                payload, ICMPv6NeighborSolicitation | ICMPv6NeighborAdvertisement)
            hop_limit = 255 if neighbour_discovery else self.hop_limit
        packet = IPv6Packet(src=src, dst=dst, next_header=next_header, payload=payload, hop_limit=hop_limit,
                            flow_label=flow_label)
        try:
            data = packet.to_bytes()
        except ValueError:
            return errno.EMSGSIZE  # a payload over 65535 bytes (what to_bytes refuses)
        if local:
            out.transmit(bytes(12) + ETHERTYPE_IPV6 + data)  # (whole, whatever its size: see the module docstring)
            return 0
        mtu = self.host.path_mtu(dst, out)
        if len(data) <= mtu:
            self._to_neighbor(out, hop, data)
            return 0
        if dontfrag:
            return errno.EMSGSIZE
        try:
            pieces = fragment_ipv6(data, mtu, self.fragment_id())
        except ValueError:
            return errno.EMSGSIZE  # a link too narrow for 8 bytes of data a fragment (ip6_fragment)
        for piece in pieces:
            self._to_neighbor(out, hop, piece)
        return 0

    def fragment_id(self) -> int:
        """The identification of a datagram we fragment: random, non-zero, as Linux's
        ``ipv6_select_ident`` draws it since 5.15 (``get_random_u32_above(0)``; RFC 7739 §5
        asks for unpredictable ones), from the host's own seeded stream."""
        while True:
            identification = self._fragment_ids.getrandbits(32)
            if identification:
                return identification

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
            if self.host.forwarding and not dst.is_multicast and data[:6] == iface.mac.packed:
                self.forward(packet, data, iface)
            else:
                iface.drop("ipv6-not-for-host", len(data))
            return
        if packet.extensions:
            if type(packet.extensions[0]) is IPv6Fragment:
                whole = self._defragment(iface, data[14:])
                if whole is None:
                    return
                packet = whole
            if packet.extensions:  # (beyond the Fragment header: not served)
                iface.drop("ipv6-extension-headers", len(data))
                return
        payload = packet.payload if isinstance(packet.payload, bytes) else b""
        try:
            if packet.next_header == _ICMPV6:
                self._icmp_input(packet, ICMPv6Message.parse(payload, src=packet.src, dst=dst, verify=True), iface)
            elif packet.next_header == _TCP:
                if dst.is_multicast or (data[:6] != iface.mac.packed and iface.name != "lo"):
                    # Linux's tcp_v6_rcv: only what came to our own MAC (pkt_type PACKET_HOST)
                    iface.drop("tcp-broadcast", len(payload))
                    return
                segment = TCPSegment.parse(payload, src=packet.src, dst=dst, verify=True)
                self.host.tcp.input(packet.src, dst, segment, iface)
            elif packet.next_header == _UDP:
                # RFC 8200 §8.1: the checksum is mandatory over IPv6 (a zero one is refused)
                datagram = UDPDatagram.parse(payload, src=packet.src, dst=dst, verify=True)
                # RFC 4443 §2.4 (e.3): no error about a packet that came as a link-layer multicast
                # or broadcast (Linux: pkt_type != PACKET_HOST)
                link_other = data[:6] != iface.mac.packed and iface.name != "lo"
                self.host.udp_input(packet, datagram, iface, dst.is_multicast or link_other)
            else:
                iface.drop("ipv6-protocol-not-served", len(payload))
        except WireError as exc:
            iface.drop(f"{exc.layer}-{exc.reason}", len(payload))

    def _defragment(self, iface: Interface, datagram: bytes) -> IPv6Packet | None:
        """A datagram whose first extension header is a Fragment header, to the reassembler
        (:class:`~netsim.proto.fragment6.IPv6Reassembler`, RFC 8200 §4.5): the whole datagram
        once its last fragment is in (or at once for an atomic fragment, RFC 6946), None
        meanwhile; a refused fragment is counted on ``iface`` (``ipv6-frag-...``) and answered
        with the Parameter Problem the reassembler asks for."""
        result = self.reassembler.on_fragment(datagram, self.host.network.now, iface.name)
        self.host._arm(self.reassembler.next_deadline())
        if result is None:
            return None
        if isinstance(result, FragmentRefused):
            iface.drop(f"ipv6-{result.reason}", len(datagram))
            if result.problem is not None:
                self.icmp_error(datagram, result.problem, iface)
            return None
        try:
            return IPv6Packet.parse(result, decode=False)
        except WireError as exc:  # (extension headers behind the Fragment header, cut short)
            iface.drop(f"{exc.layer}-{exc.reason}", len(result))
            return None

    def on_timer(self, now: int) -> None:
        """Datagrams whose 60 s are up (``ip6frag_time``): dropped, and answered with Time
        Exceeded code 1 quoting fragment zero when that had arrived (RFC 8200 §4.5; Linux's
        ``ip6frag_expire_frag_queue``, from the interface the last fragment came in on)."""
        for expired in self.reassembler.on_timer(now):
            iface = self.host.interfaces.get(expired.interface)
            if iface is None:
                continue
            iface.drop("ipv6-frag-timeout", expired.received_bytes)
            if expired.first_fragment is not None:
                self.icmp_error(expired.first_fragment, ICMPv6TimeExceeded(ICMPv6TimeExceededCode.REASSEMBLY), iface)

    def _icmp_input(self, packet: IPv6Packet, message: ICMPv6Message, iface: Interface) -> None:
        host = self.host
        if isinstance(message, ICMPv6NeighborSolicitation):
            if self.local.get(message.target) is not iface:
                iface.drop("ndp-not-our-target", 0)
                return
            if not packet.src.is_unspecified:
                self.learn_from(message.options, packet.src, iface, override=False)
            answer = ICMPv6NeighborAdvertisement(target=message.target, solicited=not packet.src.is_unspecified,
                                                 override=True, options=(NDPTargetLinkLayerAddress(iface.mac),))
            reply_to = ALL_NODES if packet.src.is_unspecified else packet.src
            self.send(message.target, reply_to, _ICMPV6, answer)
        elif isinstance(message, ICMPv6NeighborAdvertisement):
            mac = next((o.mac for o in message.options if isinstance(o, NDPTargetLinkLayerAddress)), None)
            if mac is not None:
                self.learn(iface, message.target, mac, create=False, confirmed=message.solicited,
                           override=message.override)
        elif isinstance(message, ICMPv6Echo) and message.type == 128:
            if packet.dst.is_multicast:
                source = self.scope_address(iface) if packet.src in LINK_LOCAL else self.source_for(packet.src)
                if source is None:
                    return
            else:
                source = packet.dst
            reply = ICMPv6Echo(129, message.identifier, message.sequence, message.data)
            self.send(source, packet.src, _ICMPV6, reply)
        elif isinstance(message, ICMPv6Echo):
            # an echo reply: to the ping socket whose identifier it carries (Linux's ping_v6_rcv)
            for sock in host.icmp_ids.get(message.identifier, ()):
                if sock.family == 6 and (sock.remote is None or sock.remote[0] == packet.src):
                    sender = socket_name(host, 6, packet.src, 0, packet.dst)
                    sock.deliver(message.to_bytes(src=packet.src, dst=packet.dst), sender, ttl=packet.hop_limit)
                    return
            iface.drop("icmpv6-echo-reply-unexpected", len(message.data))
        elif isinstance(message, _ERRORS):
            self._error_input(packet, message, iface)
        elif isinstance(message, ICMPv6RouterAdvertisement):
            self.discovery().advertisement(packet, message, iface)  # (accept_ra = 1, as Linux's default)
        elif isinstance(message, ICMPv6RouterSolicitation):
            if self.router_discovery is not None:
                self.router_discovery.solicitation(packet, message, iface)
            else:
                iface.drop("rs-ignored", 0)
        else:
            self.counters["icmpv6-ignored"] = self.counters.get("icmpv6-ignored", 0) + 1

    def learn(self, iface: Interface, ip: IPv6Address, mac: MACAddress, *, create: bool, confirmed: bool,
              override: bool) -> None:
        """Put what a neighbour discovery message said about ``ip`` in ``iface``'s neighbour cache
        (RFC 4861 §7.2.5, §7.3.3), and send what was waiting for its MAC."""
        for queued in self.host.neighbors[iface.name].fill(ip, mac, self.host.network.now, create=create,
                                                           confirmed=confirmed, override=override):
            iface.transmit(mac.packed + iface.mac.packed + ETHERTYPE_IPV6 + queued)

    def learn_from(self, options: tuple[Any, ...], source: IPv6Address, iface: Interface, *, override: bool) -> None:
        """The Source Link-Layer Address option of a solicitation or advertisement from ``source``:
        a STALE entry, created if need be (RFC 4861 §6.2.6, §6.3.4, §7.2.3)."""
        for option in options:
            if isinstance(option, NDPSourceLinkLayerAddress):
                self.learn(iface, source, option.mac, create=True, confirmed=False, override=override)

    def _error_input(self, packet: IPv6Packet, message: ICMPv6Error, iface: Interface) -> None:
        """An ICMPv6 error about a datagram we sent (RFC 4443 §2.4(e) and §3): Packet Too Big
        lowers the path MTU (RFC 8201 §4, never below 1280) — for TCP and UDP only when the
        datagram was a socket's of ours, as Linux's protocol handlers do — and the error reaches
        the socket it concerns with the errno of Linux's ``icmpv6_err_convert``."""
        host = self.host
        quoted = message.original
        if len(quoted) < 48 or quoted[0] >> 4 != 6:
            iface.drop("icmpv6-error-short-quote", len(quoted))
            return
        original_src, original_dst = IPv6Address(quoted[8:24]), IPv6Address(quoted[24:40])
        if original_src not in self.local:
            iface.drop("icmpv6-error-not-ours", len(quoted))
            return
        now = host.network.now
        # (an MTU of 0 says nothing: RFC 8201 §4 gives no way to guess one)
        mtu = message.mtu if isinstance(message, ICMPv6PacketTooBig) else 0
        code, hard = icmpv6_errno(message.type, message.code)
        # (the quoted datagram's extension headers skipped, a Fragment header among them, as
        # Linux's icmpv6_notify does: only a first fragment names the socket)
        next_header, at = _upper_layer(quoted)
        l4 = quoted[at : at + 8]
        if len(l4) < 8:
            iface.drop("icmpv6-error-short-quote", len(quoted))
            return
        if next_header == _TCP:
            # the path MTU is lowered there, once the segment is known to be in flight (tcp_v6_err)
            if mtu:
                host.tcp.icmp_error(original_src, original_dst, l4, 0, mtu)
            elif not isinstance(message, ICMPv6PacketTooBig):
                host.tcp.icmp_error(original_src, original_dst, l4, code, None)
            return
        sock: Socket | None = None
        port = 0
        if next_header == _UDP:
            sport, port = (l4[0] << 8) | l4[1], (l4[2] << 8) | l4[3]
            sock = host._udp_lookup(original_src, sport, original_dst, port)
            if sock is not None and mtu:
                host.pmtu.update(original_dst, mtu, now)  # (ip6_sk_update_pmtu: for a socket of ours)
                hard = True  # __udp6_lib_err: a hard EMSGSIZE (the socket does PMTU discovery)
        elif next_header == _ICMPV6:
            if mtu:
                host.pmtu.update(original_dst, mtu, now)  # icmpv6_err: whatever socket sent it
            if l4[0] == ICMPv6Echo.REQUEST:
                candidates = host.icmp_ids.get((l4[4] << 8) | l4[5], [])
                sock = next((c for c in candidates if getattr(c, "family", 4) == 6), None)
        if sock is None:
            return
        report = ICMPErrorReport(offender=str(packet.src), type=message.type, code=message.code,
                                 original_dst=str(original_dst), original_dst_port=port, next_hop_mtu=mtu,
                                 errno=code)
        host.report_icmp_error(sock, report, code, hard=hard)

    # --- ICMPv6 errors we send ----------------------------------------------------------------

    def icmp_error(self, offending: bytes, message: ICMPv6Error, iface: Interface) -> None:
        """Send an ICMPv6 error about ``offending`` (an IPv6 datagram, header first) that came in
        on (or was to leave by) ``iface``, within RFC 4443 §2.4's rules and Linux's rate limit
        (``icmp6_send``): never about an error message, a multicast destination (except Packet
        Too Big and Parameter Problem code 2), or a source that names no single node; from the
        address the datagram was sent to when that is ours, else from the address we would use
        towards its source; quoting as much as keeps the error within 1280 bytes."""
        if len(offending) < 40 or offending[0] >> 4 != 6:
            return
        host = self.host
        src, dst = IPv6Address(offending[8:24]), IPv6Address(offending[24:40])
        if src.is_unspecified or src.is_multicast:
            return
        if dst.is_multicast and not (message.type == 2 or (message.type == 4 and message.code == 2)):
            return
        if _is_icmpv6_error(offending):
            return  # (e.1): no error about an error
        if dst in self.local:
            source: IPv6Address | None = dst
        elif src in LINK_LOCAL_SCOPE:
            source = self.scope_address(iface)
        else:
            source = self.source_for(src)
        if source is None:
            return  # (no way back: Linux's icmp6_send gives up before the rate limit)
        now = host.network.now
        route = host.routes.lookup(src)
        if not host.icmp_limiter.allow(src, message.type, message.code, now, loopback=src in self.local,
                                       route_prefix_len=route.prefix.prefixlen if route is not None else 128):
            host.counters["icmp-ratelimited"] = host.counters.get("icmp-ratelimited", 0) + 1
            return
        self.send(source, src, _ICMPV6, attrs.evolve(message, original=quote_ipv6_packet(offending)))

    # --- forwarding ---------------------------------------------------------------------------

    def forward(self, packet: IPv6Packet, data: bytes, iface: Interface) -> None:
        """Forward a datagram for someone else, in the order of Linux's ``ip6_route_input`` and
        ``ip6_forward``: the route (none: Destination Unreachable, no route), the hop limit
        (RFC 8200 §3: Time Exceeded at 1 or 0), the source scope (RFC 4291 §2.5.6: a link-local
        source is never forwarded to another link; Destination Unreachable, beyond scope), the
        next link's MTU (RFC 8200 §5: routers never fragment; Packet Too Big), then out with the
        hop limit one less.  A link-local destination that is not ours is dropped.  No
        redirects are sent."""
        end = 54 + ((data[18] << 8) | data[19])  # Ethernet, the fixed header, its Payload Length
        size = end - 14
        dst, src = packet.dst, packet.src
        if dst in LINK_LOCAL_SCOPE or src.is_unspecified or src.is_multicast or src.is_loopback:
            iface.drop("ipv6-not-forwardable", size)
            return
        route = self.host.routes.lookup(dst)
        if route is None:
            iface.drop("no-route", size)
            self.icmp_error(data[14:end], ICMPv6DestUnreachable(ICMPv6UnreachableCode.NO_ROUTE), iface)
            return
        if route.kind == "blackhole":
            iface.drop("blackhole", size)
            return
        if packet.hop_limit <= 1:
            iface.drop("hop-limit-exceeded", size)
            self.icmp_error(data[14:end], ICMPv6TimeExceeded(ICMPv6TimeExceededCode.HOP_LIMIT), iface)
            return
        out = self.host.interfaces[route.interface]
        if src in LINK_LOCAL_SCOPE and out is not iface:
            iface.drop("ipv6-beyond-scope", size)
            self.icmp_error(data[14:end], ICMPv6DestUnreachable(ICMPv6UnreachableCode.BEYOND_SCOPE), iface)
            return
        mtu = max(out.mtu, MIN_MTU)  # (ip6_forward: never below the IPv6 minimum link MTU)
        if size > mtu:
            iface.drop("packet-too-big", size)
            self.icmp_error(data[14:end], ICMPv6PacketTooBig(mtu), iface)
            return
        counters = self.host.counters
        counters["forwarded"] = counters.get("forwarded", 0) + 1
        hop = route.gateway if route.gateway is not None else dst
        self._to_neighbor(out, hop, b"".join((data[14:21], bytes((packet.hop_limit - 1,)), data[22:end])))  # type: ignore[arg-type]
