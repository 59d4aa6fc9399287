"""Observer views: the 5-tuple of one connection as each observer along its path sees it.

The lecture's point (§2.4): a connection has no single 5-tuple.  The client's socket, each
interface the packets cross, each NAT's inside and outside side, and the server's socket each
see their own, and only the NAT tables link them.  :func:`connection_view` walks the path of a
socket's connection the way its packets go — routing table by routing table, through each
NAT's translation entry — and lists, in order, what every observer sees of the client-to-server
direction, with the NAT entries that link one tuple to the next.

Switches are left out: they do not look at (or change) addresses.  The walk reads the state of
the network at the moment it is called (routes, NAT entries), so call it while the NAT entries
exist — they outlive the connection by the conntrack timeouts (TIME_WAIT: 120 s).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs

from netsim.proto.nat.flow import ICMP, PROTOCOL_NAMES, TCP, UDP, FlowTuple


@attrs.frozen
class Observation:
    """One observer's 5-tuple, written in the client-to-server direction."""

    observer: str
    node: str
    src: IPv4Address
    sport: int
    dst: IPv4Address
    dport: int
    protocol: int

    @property
    def five_tuple(self) -> tuple[str, int, str, int, str]:
        """(src, sport, dst, dport, protocol) as the lecture writes it."""
        return (str(self.src), self.sport, str(self.dst), self.dport, PROTOCOL_NAMES.get(self.protocol, "?").upper())

    def as_dict(self) -> dict[str, Any]:
        return {"observer": self.observer, "node": self.node, "src": str(self.src), "sport": self.sport,
                "dst": str(self.dst), "dport": self.dport, "protocol": PROTOCOL_NAMES.get(self.protocol, "?")}


@attrs.frozen
class NatLink:
    """The NAT entry that turns the tuple before it into the one after it."""

    node: str
    before: FlowTuple
    after: FlowTuple
    conntrack: str


@attrs.frozen
class ConnectionView:
    observations: tuple[Observation, ...]
    nat_links: tuple[NatLink, ...]
    complete: bool  # the walk reached the server's socket
    note: str = ""

    def observer(self, name: str) -> Observation:
        for observation in self.observations:
            if observation.observer == name:
                return observation
        raise KeyError(f"no observer {name!r}; observers: {', '.join(o.observer for o in self.observations)}")

    @property
    def client(self) -> Observation:
        return self.observations[0]

    @property
    def server(self) -> Observation:
        if not self.complete:
            raise LookupError(f"the view does not reach the server: {self.note}")
        return self.observations[-1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "observations": [o.as_dict() for o in self.observations],
            "nat": [{"node": link.node, "before": str(link.before), "after": str(link.after),
                     "conntrack": link.conntrack} for link in self.nat_links],
            "complete": self.complete, "note": self.note,
        }

    def table(self) -> str:
        """The view as a text table, observers in path order, then the NAT entries."""
        header = ("observer", "src", "sport", "dst", "dport", "proto")
        rows = [header] + [(o.observer, str(o.src), str(o.sport), str(o.dst), str(o.dport),
                            PROTOCOL_NAMES.get(o.protocol, "?").upper()) for o in self.observations]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        for link in self.nat_links:
            lines.append(f"NAT {link.node}: {link.before}  =>  {link.after}")
            lines.append(f"    {link.conntrack}")
        if not self.complete:
            lines.append(f"(incomplete: {self.note})")
        return "\n".join(lines)


def _neighbour(out: Any, address: IPv4Address | IPv6Address) -> tuple[Any, Any] | None:
    """The node and interface that have ``address`` on ``out``'s link, looking through switches
    (a broadcast domain), as ARP (or NDP) would find it.  Searching the whole network instead would pick
    the wrong node when two private networks use the same addresses (two home NATs both on
    192.168.1.0/24)."""
    from netsim.sim.switch import Switch

    visited: set[str] = set()
    pending = [out]
    while pending:
        channel = pending.pop(0).channel
        if channel is None:
            continue
        peer = channel.dst
        if peer.full_name in visited:
            continue
        visited.add(peer.full_name)
        node = peer.node
        if isinstance(node, Switch):
            ports = node.interfaces
            pending.extend(ports[name] for name in sorted(ports) if ports[name] is not peer)
        elif any(a.ip == address for a in peer.addresses):
            return node, peer
    return None


def _socket_flow(sock: Any) -> FlowTuple:
    """The socket's connection as the wire carries it (an AF_INET6 socket's IPv4-mapped peers
    are IPv4 on the wire)."""
    protocol = {"tcp": TCP, "udp": UDP, "icmp": ICMP}[sock.protocol]
    local_ip = sock.local_ip if sock.local_ip is not None else getattr(sock, "connected_source", None)
    if sock.remote is None or local_ip is None:
        raise OSError(107, "Transport endpoint is not connected")
    remote_ip, remote_port = sock.remote
    return FlowTuple(protocol, local_ip, sock.local_port or 0, remote_ip, remote_port)


def connection_view(network: Any, sock: Any) -> ConnectionView:
    """The view of ``sock``'s connection (a connected TCP or UDP socket on the client side)."""
    flow = _socket_flow(sock)
    return flow_view(network, sock.host, flow, first=f"{sock.host.name} socket")


def flow_view(network: Any, start: Any, flow: FlowTuple, *, first: str | None = None) -> ConnectionView:
    """The view of ``flow`` (as ``start`` sends it) along its path."""
    from netsim.sim.nat import NatRouter

    observations = [Observation(first or f"{start.name} (sender)", start.name, flow.src, flow.sport, flow.dst,
                                flow.dport, flow.protocol)]
    links: list[NatLink] = []
    node = start
    current = flow
    for _hop in range(64):
        route = node.route_to(current.dst)
        if route is None:
            return ConnectionView(tuple(observations), tuple(links), False,
                                  f"{node.name} has no route to {current.dst}")
        if route.kind == "local":
            return _arrive(network, node, current, observations, links)
        if route.kind == "blackhole":
            return ConnectionView(tuple(observations), tuple(links), False, f"{node.name} blackholes {current.dst}")
        out = node.interfaces[route.interface]
        observations.append(_seen(f"{node.name}:{out.name} out", node.name, current))
        hop = route.gateway or current.dst
        owner = _neighbour(out, hop)
        if owner is None:
            return ConnectionView(tuple(observations), tuple(links), False,
                                  f"nobody on {out.full_name}'s link has {hop}")
        node, iface = owner
        observations.append(_seen(f"{node.name}:{iface.name} in", node.name, current))
        if isinstance(node, NatRouter) and node.nat is not None and current.dst.version == 4:  # (no NAT66)
            entry = node.nat.find(current)
            if entry is not None:
                if entry.original == current:
                    translated = entry.reply.reply()
                elif entry.reply == current:
                    translated = entry.original.reply()
                else:
                    translated = current
                if translated != current:
                    links.append(NatLink(node.name, current, translated, entry.conntrack_line(network.now)))
                    side = "inside" if iface.name in node.inside else "outside"
                    observations[-1] = _seen(f"{node.name}:{iface.name} in ({side})", node.name, current)
                    current = translated
            elif _would_translate(node, iface, current):
                return ConnectionView(tuple(observations), tuple(links), False,
                                      f"{node.name} has no NAT entry for {current} (yet, or any more)")
    return ConnectionView(tuple(observations), tuple(links), False, "the path is longer than 64 hops")


def _would_translate(node: Any, iface: Any, flow: FlowTuple) -> bool:
    """Whether a packet of ``flow`` arriving on ``iface`` would go through the NAT table (so,
    with no entry, the walk cannot know the tuple beyond it)."""
    nat = node.nat
    if nat._is_exempt(flow.src) or nat._is_exempt(flow.dst):
        return False
    if iface.name == node.outside:
        return flow.dst in nat._outside_set
    if iface.name in node.inside:
        route = node.routes.lookup(flow.dst)
        return flow.dst in nat._outside_set or (route is not None and route.interface == node.outside)
    return False


def _seen(observer: str, node: str, flow: FlowTuple) -> Observation:
    return Observation(observer, node, flow.src, flow.sport, flow.dst, flow.dport, flow.protocol)


def _arrive(network: Any, node: Any, flow: FlowTuple, observations: list[Observation],
            links: list[NatLink]) -> ConnectionView:
    """The packet is for ``node``: the socket that receives it is the last observer.  When it is
    the connecting host itself (a connection to one of its own addresses), the two sockets are
    told apart as the connecting one and the accepted one."""
    name = f"{node.name} socket"
    if observations and observations[0].observer == name:
        observations[0] = attrs.evolve(observations[0], observer=f"{node.name} socket (connect)")
        name = f"{node.name} socket (accept)"
    if flow.protocol == TCP:
        sock = node.tcp.connections.get((flow.dst, flow.dport, flow.src, flow.sport))
        if sock is not None:
            peer_ip, peer_port = sock.remote
            observations.append(Observation(name, node.name, peer_ip, peer_port, sock.local_ip, sock.local_port,
                                            TCP))
            return ConnectionView(tuple(observations), tuple(links), True)
        return ConnectionView(tuple(observations), tuple(links), False,
                              f"{node.name} has no TCP connection for {flow}")
    if flow.protocol == UDP:
        sock = node._udp_lookup(flow.dst, flow.dport, flow.src, flow.sport)
        if sock is not None:
            observations.append(_seen(name, node.name, flow))
            return ConnectionView(tuple(observations), tuple(links), True)
    observations.append(_seen(f"{node.name} (receiver)", node.name, flow))
    return ConnectionView(tuple(observations), tuple(links), True)
