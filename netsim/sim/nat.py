"""A router that translates: NAPT/masquerade, port forwards, hairpinning (RFC 4787, 5382, 5508).

:class:`NatRouter` is a :class:`~netsim.sim.host.Router` whose forwarding path asks a
:class:`~netsim.proto.nat.table.NatTable` (the sans-I/O engine) what each packet becomes:

- from an inside interface towards the outside (or towards one of our outside addresses: a
  hairpin), the source is rewritten to the outside endpoint;
- arriving at an outside address, the destination is rewritten to the inside endpoint, or the
  packet is refused ("filtered": dropped, or answered by the router's own stack as Linux's
  masquerade does, per ``NatBehaviour.unsolicited``) or, when no mapping or forward knows it,
  handed to the router's own stack (which answers as Linux does: RST, port unreachable, echo
  reply);
- ICMP errors about a translated flow are translated too, the datagram they quote included
  (RFC 5508 §4.2); ICMP echo identifiers are translated like ports (RFC 5508 §3.1).

Addresses and ports are rewritten in the bytes with RFC 1624 incremental checksum updates, so a
corrupted segment stays exactly as wrong as it was; fragments are reassembled first (Linux's
``nf_defrag``), since a NAT needs the ports.  Drops are counted on the receiving interface as
``nat-<reason>``.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING

from netsim.proto.nat.behaviour import NatBehaviour
from netsim.proto.nat.flow import ICMP, TCP, UDP, Direction, Drop, FlowTuple, PortForward, make_flow
from netsim.proto.nat.table import NatEntry, NatTable
from netsim.proto.routing import Route
from netsim.sim.host import Router
from netsim.wire.checksum import checksum_update_bytes, internet_checksum
from netsim.wire.icmpv4 import ICMPv4DestUnreachable, ICMPv4TimeExceeded
from netsim.wire.ipv4 import IPv4Packet, _make_packet

if TYPE_CHECKING:
    from netsim.sim.interface import Interface

_PORTS_AT = {TCP: 16, UDP: 6}  # the L4 checksum's offset


def _flow_of(packet: IPv4Packet, payload: bytes) -> FlowTuple | None:
    """The NAT's 5-tuple of a datagram (None: nothing a NAT can translate)."""
    protocol = packet.protocol
    if protocol in (UDP, TCP):
        if len(payload) < (8 if protocol == UDP else 20):
            return None
        return make_flow(protocol, packet.src, (payload[0] << 8) | payload[1], packet.dst,
                         (payload[2] << 8) | payload[3])
    if protocol == ICMP and len(payload) >= 8 and payload[0] in (0, 8):
        identifier = (payload[4] << 8) | payload[5]
        return make_flow(ICMP, packet.src, identifier, packet.dst, identifier)
    return None


def _tcp_flags(packet: IPv4Packet, payload: bytes) -> int:
    return ((payload[12] & 1) << 8) | payload[13] if packet.protocol == TCP and len(payload) >= 14 else 0


def rewrite(packet: IPv4Packet, payload: bytes, new: FlowTuple, ttl: int | None = None) -> IPv4Packet:
    """``packet`` with its addresses and ports (or echo identifier) made ``new``'s, checksums
    updated incrementally (RFC 1624 eqn. 3; RFC 3022 §4.2), and its TTL ``ttl`` (default: as
    it was)."""
    protocol = packet.protocol
    if protocol in (TCP, UDP):
        return rewrite_ports(packet, payload, new.src, new.dst, new.sport, new.dport,
                             packet.ttl if ttl is None else ttl)
    body = bytearray(payload)
    if protocol == ICMP:
        old_id = payload[4:6]
        new_id = new.sport.to_bytes(2, "big")
        body[4:6] = new_id
        checksum = checksum_update_bytes((payload[2] << 8) | payload[3], old_id, new_id)
        body[2:4] = checksum.to_bytes(2, "big")
    return _make_packet(new.src, new.dst, protocol, bytes(body), packet.ttl if ttl is None else ttl,
                        packet.identification, packet.flags, packet.fragment_offset, packet.dscp, packet.ecn,
                        packet.options, None)


def rewrite_ports(packet: IPv4Packet, payload: bytes, src: IPv4Address, dst: IPv4Address, sport: int, dport: int,
                  ttl: int) -> IPv4Packet:
    """A TCP or UDP ``packet`` (``payload`` its bytes, at least the ports) with addresses
    ``src``/``dst``, ports ``sport``/``dport`` and TTL ``ttl``; see :func:`_rewrite_l4`."""
    return _make_packet(src, dst, packet.protocol, _rewrite_l4(packet, payload, src, dst, sport, dport), ttl,
                        packet.identification, packet.flags, packet.fragment_offset, packet.dscp, packet.ecn,
                        packet.options, None)


def rewrite_datagram(packet: IPv4Packet, payload: bytes, src: IPv4Address, dst: IPv4Address, sport: int,
                     dport: int) -> bytes:
    """The bytes :func:`rewrite_ports` gives with the TTL one less, as a router sends them on
    (RFC 1812 §5.3.1), encoded here without building the packet: what a NAT does to each
    packet of a known flow.  The header checksum is computed from the header's words."""
    body = _rewrite_l4(packet, payload, src, dst, sport, dport)
    options = packet.options
    hlen = 20 + len(options)
    vihl_tos = ((0x40 | (hlen >> 2)) << 8) | (packet.dscp << 2) | packet.ecn
    total = hlen + len(body)
    fragment = (packet.flags << 13) | packet.fragment_offset
    ttl_protocol = ((packet.ttl - 1) << 8) | packet.protocol
    s, d = src._ip, dst._ip  # type: ignore[attr-defined]
    # RFC 1071: the words of the header (an address's two words sum to it modulo 0xFFFF); never
    # all zeros (the version is 4), so a zero remainder is 0xFFFF
    words = vihl_tos + total + packet.identification + fragment + ttl_protocol + s + d
    if options:
        words += int.from_bytes(options, "big")
    checksum = ~((words % 0xFFFF) or 0xFFFF) & 0xFFFF
    return b"".join((_HEADER.pack(vihl_tos, total, packet.identification, fragment, ttl_protocol, checksum, s, d),
                     options, body))


_HEADER = struct.Struct("!HHHHHHII")  # an IPv4 header as words: version/IHL/TOS ... addresses


def _rewrite_l4(packet: IPv4Packet, payload: bytes, src: IPv4Address, dst: IPv4Address, sport: int,
                dport: int) -> bytes:
    """The TCP or UDP bytes with ports ``sport``/``dport``, the checksum updated for them and
    for the pseudo-header's new addresses ``src``/``dst``.

    RFC 1624 eqn. 3, ``HC' = ~(~HC + ~m + m')``, in the modulo-0xFFFF form of
    netsim.wire.checksum (a field's words sum to its value modulo 0xFFFF, and ``~m`` is
    ``-m``): the value :func:`~netsim.wire.checksum.checksum_update_bytes` gives, without
    building the fields' bytes.  A UDP checksum of zero (none sent, RFC 768) stays zero, and a
    computed zero is sent as 0xFFFF.  A wrong checksum stays exactly as wrong.
    """
    protocol = packet.protocol
    offset = 16 if protocol == TCP else 6  # the L4 checksum's offset
    ports = ((sport << 16) | dport).to_bytes(4, "big")
    if len(payload) < offset + 2:
        return ports + payload[4:]
    checksum = (payload[offset] << 8) | payload[offset + 1]
    if protocol == UDP and checksum == 0:
        return ports + payload[4:]
    # ``_ip``: the address as an int, which ipaddress keeps (int() would be a Python call)
    old = (packet.src._ip + packet.dst._ip  # type: ignore[attr-defined]
           + ((payload[0] << 8) | payload[1]) + ((payload[2] << 8) | payload[3]))
    folded = ((~checksum & 0xFFFF) - old + src._ip + dst._ip + sport + dport) % 0xFFFF  # type: ignore[attr-defined]
    checksum = 0xFFFF - folded if folded else 0
    if protocol == UDP and checksum == 0:
        checksum = 0xFFFF
    return b"".join((ports, payload[4:offset], checksum.to_bytes(2, "big"), payload[offset + 2:]))


class NatRouter(Router):
    """A router with NAT between its inside interfaces and one outside interface."""

    kind = "nat-router"

    def _init_node(self) -> None:
        """No translation until enable_nat."""
        self.nat: NatTable | None = None
        self.inside: frozenset[str] = frozenset()
        self.outside: str | None = None
        self.nat_counters: dict[str, int] = {}

    def enable_nat(self, *, inside: list[str] | str, outside: str, behaviour: NatBehaviour | str = "linux-masquerade",
                   addresses: list[str] | None = None, forwards: list[PortForward] | None = None,
                   exempt: list[str | IPv4Network] | None = None) -> NatTable:
        """Translate between ``inside`` interfaces and the ``outside`` one, to ``addresses``
        (default: the outside interface's own addresses), with the RFC 4787 ``behaviour``
        (a preset name or a :class:`NatBehaviour`)."""
        inside_names = [inside] if isinstance(inside, str) else list(inside)
        for iface in [*inside_names, outside]:
            self.iface(iface)
        if outside in inside_names:
            raise ValueError(f"{self.name}: {outside} cannot be both inside and outside")
        outside_addresses = [IPv4Address(a) for a in addresses] if addresses else [
            a.ip for a in self.interfaces[outside].ipv4]
        if not outside_addresses:
            raise ValueError(f"{self.name}: the outside interface {outside} has no address to translate to")
        self.inside, self.outside = frozenset(inside_names), outside
        self.nat = NatTable(outside_addresses, behaviour, forwards=forwards or (), exempt=exempt or (),
                            rng=self.network.stream(f"nat/{self.name}"))
        for extra in outside_addresses:
            if extra not in self.local:
                self.add_address(outside, f"{extra}/32")  # a pool address: ours, answering ARP
        return self.nat

    # --- the packet path -------------------------------------------------------------------------

    def ip_input(self, packet: IPv4Packet, iface: Interface, link_broadcast: bool = False) -> None:
        nat = self.nat
        dst = packet.dst
        if nat is None or link_broadcast or dst._ip >> 28 == 14:  # type: ignore[attr-defined]  # 224/4: multicast
            super().ip_input(packet, iface, link_broadcast)
            return
        name = iface.name
        if name == self.outside and dst in nat._outside_set:
            self._inbound(packet, iface)
            return
        if name in self.inside and dst not in self.local:
            self._outbound(packet, iface)
            return
        if name in self.inside and dst in nat._outside_set and dst not in (
                a.ip for a in iface.ipv4):
            self._outbound(packet, iface)  # a hairpin: an inside host to our outside address
            return
        super().ip_input(packet, iface, link_broadcast)

    def _whole(self, packet: IPv4Packet) -> IPv4Packet | None:
        """The datagram ``packet``, a fragment, completes (Linux's nf_defrag), or None yet."""
        whole = self.reassembler.on_fragment(packet, self.network.now)
        self._arm(self.reassembler.next_deadline())
        return whole

    def _refused(self, drop: Drop, whole: IPv4Packet, iface: Interface, payload_size: int) -> None:
        """The table refused ``whole``: counted (unless nothing knew it: "no mapping"), then
        either handed untranslated to the router's own stack, or dropped."""
        if drop.to_host:
            if drop.reason != "no mapping":
                self.nat_counters[drop.reason] = self.nat_counters.get(drop.reason, 0) + 1
            super().ip_input(whole, iface)
        else:
            self._count(iface, drop.reason, payload_size + whole.header_len)

    def _count(self, iface: Interface, reason: str, size: int) -> None:
        iface.drop(f"nat-{reason.replace(' ', '-')}", size)
        self.nat_counters[reason] = self.nat_counters.get(reason, 0) + 1

    def _outbound(self, packet: IPv4Packet, iface: Interface) -> None:
        nat = self.nat
        assert nat is not None
        route = self.routes.lookup(packet.dst)
        hairpin = packet.dst in nat._outside_set
        if not hairpin and (route is None or route.interface != self.outside):
            self.forward(packet, iface)  # between inside networks: plain routing
            return
        whole = self._whole(packet) if packet.flags & 1 or packet.fragment_offset else packet
        if whole is None:
            return
        payload = whole.payload_bytes()
        if whole.protocol == ICMP and len(payload) >= 8 and payload[0] in (3, 11, 12):
            self._icmp_error(whole, payload, iface, Direction.OUTBOUND)
            return
        flow = _flow_of(whole, payload)
        if flow is None:
            self.forward(whole, iface)  # another protocol: routed untranslated (Linux: no NAT for it)
            return
        if hairpin and flow.protocol == ICMP:
            super().ip_input(whole, iface)  # a ping of our outside address from inside
            return
        if whole.ttl <= 1:
            self._ttl_exceeded(whole, iface)
            return
        found = nat.outbound_entry(flow, self.network.now, tcp_flags=_tcp_flags(whole, payload))
        if isinstance(found, NatEntry):
            if flow.protocol != ICMP:  # the common case: the source becomes the entry's outside endpoint
                reply = found.reply
                self._send_datagram(whole, rewrite_datagram(whole, payload, reply.dst, flow.dst, reply.dport,
                                                            flow.dport), flow.dst, iface, route)
                return
            found = found.translated
        if isinstance(found, Drop):
            self._refused(found, whole, iface, len(payload))  # (to_host: a service of the router itself)
            return
        translated = rewrite(whole, payload, found, whole.ttl - 1) if found != flow else whole.forwarded()
        # the route looked up above still holds unless a hairpin rewrote the destination
        self._send_translated(whole, translated, iface, None if hairpin else route)

    def _inbound(self, packet: IPv4Packet, iface: Interface) -> None:
        nat = self.nat
        assert nat is not None
        whole = self._whole(packet) if packet.flags & 1 or packet.fragment_offset else packet
        if whole is None:
            return
        payload = whole.payload_bytes()
        if whole.protocol == ICMP and len(payload) >= 8 and payload[0] in (3, 11, 12):
            self._icmp_error(whole, payload, iface, Direction.INBOUND)
            return
        flow = _flow_of(whole, payload)
        if flow is None or (whole.protocol == ICMP and payload[0] == 8):
            super().ip_input(whole, iface)  # for the router itself (an echo request to its address)
            return
        found = nat.inbound_entry(flow, self.network.now, tcp_flags=_tcp_flags(whole, payload))
        if isinstance(found, Drop):
            self._refused(found, whole, iface, len(payload))  # (to_host: its RST, port unreachable)
            return
        if whole.ttl <= 1:
            self._ttl_exceeded(whole, iface)
            return
        if isinstance(found, NatEntry):
            original = found.original
            if flow.protocol != ICMP:  # the destination becomes the entry's inside endpoint
                self._send_datagram(whole, rewrite_datagram(whole, payload, flow.src, original.src, flow.sport,
                                                            original.sport), original.src, iface)
                return
            found = original.reply()
        self._send_translated(whole, rewrite(whole, payload, found, whole.ttl - 1), iface)

    def _ttl_exceeded(self, original: IPv4Packet, iface: Interface) -> None:
        """RFC 1812 §5.2's TTL check fails on the datagram as it arrived (Linux checks before
        POSTROUTING's SNAT, so the error goes back to the real sender, quoting what it sent)."""
        iface.drop("ttl-exceeded", original.header_len + len(original.payload_bytes()))
        self.icmp_error(original, ICMPv4TimeExceeded(0))

    def _send_translated(self, original: IPv4Packet, translated: IPv4Packet, iface: Interface,
                         route: Route | None = None) -> None:
        """Route and send ``translated``, the packet as it leaves (TTL one less, RFC 1812
        §5.3.1); errors quote ``original``, the packet as it arrived."""
        self._send_datagram(original, translated.to_bytes(), translated.dst, iface, route)

    def _send_datagram(self, original: IPv4Packet, data: bytes, dst: IPv4Address, iface: Interface,
                       route: Route | None = None) -> None:
        """:meth:`_send_translated` for a datagram already encoded (destination ``dst``; DF as
        ``original``'s, which a NAT keeps)."""
        if route is None:
            route = self.routes.lookup(dst)
        if route is None or route.kind == "blackhole":
            iface.drop("no-route" if route is None else "blackhole", len(data))
            if route is None:
                self.icmp_error(original, ICMPv4DestUnreachable(0))
            return
        out = self.interfaces[route.interface]
        dont_fragment = original.flags & 2
        if len(data) > out.mtu and dont_fragment:
            iface.drop("fragmentation-needed", len(data))
            self.icmp_error(original, ICMPv4DestUnreachable(4, next_hop_mtu=out.mtu))
            return
        counters = self.counters
        counters["forwarded"] = counters.get("forwarded", 0) + 1
        self._output_datagram(data, bool(dont_fragment), dst, route, out)

    def _icmp_error(self, packet: IPv4Packet, payload: bytes, iface: Interface, direction: Direction) -> None:
        """RFC 5508 §4.2: translate the quoted datagram and the error's own address."""
        nat = self.nat
        assert nat is not None
        quoted = payload[8:]
        if len(quoted) < 28 or quoted[0] >> 4 != 4:
            self._count(iface, "icmp-error-unusable", len(payload))
            return
        hlen = (quoted[0] & 15) * 4
        inner_ip = quoted[:hlen]
        inner_l4 = quoted[hlen:]
        inner_packet = _make_packet(IPv4Address(inner_ip[12:16]), IPv4Address(inner_ip[16:20]), inner_ip[9],
                                    b"", 64, 0, 0, 0, 0, 0, b"", None)
        inner = _flow_of(inner_packet, inner_l4 if len(inner_l4) >= 20 or inner_ip[9] != TCP
                         else inner_l4 + bytes(20 - len(inner_l4)))
        if inner is None:
            if direction is Direction.INBOUND:
                super().ip_input(packet, iface)
            else:
                self.forward(packet, iface)
            return
        now = self.network.now
        mapped = nat.translate_embedded(inner, direction, now)
        if mapped is None:
            if direction is Direction.INBOUND:
                super().ip_input(packet, iface)  # about something the router sent itself
            else:
                self.forward(packet, iface)
            return
        # rewrite the quoted header (addresses, its checksum) and the quoted ports
        new_ip = bytearray(inner_ip)
        new_ip[12:16], new_ip[16:20] = mapped.src.packed, mapped.dst.packed
        new_ip[10:12] = b"\x00\x00"
        new_ip[10:12] = internet_checksum(bytes(new_ip)).to_bytes(2, "big")
        new_l4 = bytearray(inner_l4)
        if inner.protocol in (TCP, UDP) and len(new_l4) >= 4:
            new_l4[0:2], new_l4[2:4] = mapped.sport.to_bytes(2, "big"), mapped.dport.to_bytes(2, "big")
            offset = _PORTS_AT[inner.protocol]
            if len(new_l4) >= offset + 2:
                old_fields = inner.src.packed + inner.dst.packed + inner_l4[0:4]
                new_fields = mapped.src.packed + mapped.dst.packed + bytes(new_l4[0:4])
                checksum = (inner_l4[offset] << 8) | inner_l4[offset + 1]
                if not (inner.protocol == UDP and checksum == 0):
                    updated = checksum_update_bytes(checksum, old_fields, new_fields)
                    new_l4[offset:offset + 2] = updated.to_bytes(2, "big")
        elif inner.protocol == ICMP and len(new_l4) >= 8:
            new_l4[4:6] = mapped.sport.to_bytes(2, "big")
            new_l4[2:4] = checksum_update_bytes((inner_l4[2] << 8) | inner_l4[3], inner_l4[4:6],
                                                bytes(new_l4[4:6])).to_bytes(2, "big")
        body = bytearray(payload[:8]) + new_ip + new_l4
        body[2:4] = b"\x00\x00"
        body[2:4] = internet_checksum(bytes(body)).to_bytes(2, "big")
        if direction is Direction.INBOUND:
            # the error goes to the inside host that sent the quoted datagram
            src, dst = packet.src, mapped.src
        else:
            # an inside host's error about a packet it received: from our outside address
            src, dst = mapped.dst, packet.dst
        translated = _make_packet(src, dst, ICMP, bytes(body), packet.ttl - 1, packet.identification, packet.flags, 0,
                                  packet.dscp, packet.ecn, packet.options, None)
        if packet.ttl <= 1:
            self._ttl_exceeded(packet, iface)
        else:
            self._send_translated(packet, translated, iface)

    # --- operations ------------------------------------------------------------------------------

    def flush_nat(self) -> int:
        """A NAT reboot: every translation forgotten (established flows then fail as in reality)."""
        if self.nat is None:
            return 0
        count = len(self.nat.entries())
        self.nat.flush()
        self.network.trace.event(self.network.now, "nat-flush", self.name, entries=count)
        return count

    def conntrack(self) -> list[str]:
        """``conntrack -L`` now."""
        return [] if self.nat is None else self.nat.conntrack_lines(self.network.now)
